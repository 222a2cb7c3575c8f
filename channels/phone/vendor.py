"""Vendor JSON transcripts: AWS Transcribe (``results.items[]``) and Amazon Connect Contact Lens
(``Transcript[]``).  The untrusted JSON is checked here, once.

AWS Transcribe quirks: times and confidences are *strings* of seconds; punctuation items carry no
time and belong to the word before them; speakers are ``spk_0``, ``spk_1`` ... (on the item, or
only in ``speaker_labels.segments``; with channel identification ``ch_0`` ... in
``channel_labels``) with no names.  Which one is the agent: the ``agent_speaker`` the transport
recorded, else the first speaker heard (our desk always answers first with a greeting); every
other speaker is the caller.

Contact Lens: ``ParticipantId`` (resolved through ``Participants[].ParticipantRole``) is AGENT or
CUSTOMER; ``BeginOffsetMillis`` / ``EndOffsetMillis`` are integers of milliseconds; the contact id
in ``CustomerMetadata.ContactId`` is the call id.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from channels.phone.call import CallMeta, CallTurn, Role, Transcript, merge_turns, role_of
from ticketing.domain.errors import MalformedPayload


def is_aws(doc: dict[str, Any]) -> bool:
    results = doc.get("results")
    return isinstance(results, dict) and "items" in results


def is_contact_lens(doc: dict[str, Any]) -> bool:
    return isinstance(doc.get("Transcript"), list) and (
        "Participants" in doc or "CustomerMetadata" in doc or "Channel" in doc)


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise MalformedPayload(f"{what} must be a string")
    return value


def _seconds_ms(value: Any, what: str) -> int:
    try:
        seconds = Decimal(_str(value, what))
    except InvalidOperation as exc:
        raise MalformedPayload(f"{what} is not a number of seconds: {str(value)[:20]!r}") from exc
    if not seconds.is_finite() or seconds < 0:
        raise MalformedPayload(f"{what} is not a time: {str(value)[:20]!r}")
    return int((seconds * 1000).to_integral_value())


def _opt_text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip()[:200] or None


# --- AWS Transcribe --------------------------------------------------------------------------

def _speaker_by_start(results: dict[str, Any]) -> dict[str, str]:
    """start_time → speaker/channel label, from the segment lists (older output has no label on
    the items themselves)."""
    found: dict[str, str] = {}
    segments = (results.get("speaker_labels") or {}).get("segments") or []
    channels = (results.get("channel_labels") or {}).get("channels") or []
    for group, key in ((segments, "speaker_label"), (channels, "channel_label")):
        if not isinstance(group, list):
            raise MalformedPayload("speaker_labels/channel_labels must hold lists")
        for seg in group:
            if not isinstance(seg, dict) or not isinstance(seg.get("items"), list):
                continue
            label = seg.get(key)
            for item in seg["items"]:
                if isinstance(item, dict) and isinstance(item.get("start_time"), str) \
                        and isinstance(label, str):
                    found.setdefault(item["start_time"], label)
    return found


def parse_aws(doc: dict[str, Any], agent_speaker: str | None = None) -> Transcript:
    results = doc["results"]
    items = results.get("items")
    if not isinstance(items, list):
        raise MalformedPayload("results.items must be a list")
    by_start = _speaker_by_start(results)
    words: list[tuple[str, int, int, str]] = []  # speaker, start, end, text
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise MalformedPayload(f"results.items[{number}] must be an object")
        alts = item.get("alternatives")
        if not isinstance(alts, list) or not alts or not isinstance(alts[0], dict):
            raise MalformedPayload(f"results.items[{number}] has no alternatives")
        content = _str(alts[0].get("content"), f"results.items[{number}] content")
        if item.get("type") == "punctuation":
            if words:  # punctuation has no time: it closes the word before it
                speaker, start, end, text = words[-1]
                words[-1] = (speaker, start, end, text + content)
            continue
        start = _seconds_ms(item.get("start_time"), f"results.items[{number}].start_time")
        end = _seconds_ms(item.get("end_time"), f"results.items[{number}].end_time")
        label: Any = item.get("speaker_label") or item.get("channel_label") \
            or by_start.get(str(item.get("start_time")))
        if not isinstance(label, str):
            raise MalformedPayload(f"results.items[{number}] has no speaker label (the job ran "
                                   "without speaker or channel identification)")
        words.append((label, start, end, content))
    if not words:
        raise MalformedPayload("AWS Transcribe result has no words")
    agent = agent_speaker or words[0][0]
    turns = [CallTurn(role=Role.AGENT if speaker == agent else Role.CALLER, start_ms=start,
                      end_ms=end, text=text) for speaker, start, end, text in words]
    language = results.get("language_code") or doc.get("languageCode")
    return Transcript(format="aws-transcribe", turns=merge_turns(turns),
                      meta=CallMeta(call_id=_opt_text(doc.get("jobName")),
                                    language=_opt_text(language)))


# --- Contact Lens ----------------------------------------------------------------------------

def _millis(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedPayload(f"{what} must be a whole number of milliseconds")
    return value


def parse_contact_lens(doc: dict[str, Any]) -> Transcript:
    roles: dict[str, str] = {}
    for person in doc.get("Participants") or []:
        if isinstance(person, dict) and isinstance(person.get("ParticipantId"), str):
            roles[person["ParticipantId"]] = str(person.get("ParticipantRole") or "")
    turns: list[CallTurn] = []
    for number, entry in enumerate(doc["Transcript"], 1):
        if not isinstance(entry, dict):
            raise MalformedPayload(f"Transcript[{number}] must be an object")
        who = _str(entry.get("ParticipantId"), f"Transcript[{number}].ParticipantId")
        role = role_of(roles.get(who) or who)
        if role is None:
            raise MalformedPayload(f"Transcript[{number}]: unknown participant {who[:40]!r} "
                                   "(expected AGENT or CUSTOMER)")
        turns.append(CallTurn(
            role=role,
            start_ms=_millis(entry.get("BeginOffsetMillis"), f"Transcript[{number}].BeginOffsetMillis"),
            end_ms=_millis(entry.get("EndOffsetMillis"), f"Transcript[{number}].EndOffsetMillis"),
            text=_str(entry.get("Content"), f"Transcript[{number}].Content")))
    if not turns:
        raise MalformedPayload("Contact Lens transcript has no turns")
    customer = doc.get("CustomerMetadata")
    contact = customer.get("ContactId") if isinstance(customer, dict) else None
    return Transcript(format="contact-lens", turns=merge_turns(turns),
                      meta=CallMeta(call_id=_opt_text(contact),
                                    language=_opt_text(doc.get("LanguageCode"))))
