"""AWS Transcribe JSON (``results.items[]``): the untrusted JSON is checked here, once.

Quirks: times and confidences are *strings* of seconds; punctuation items carry no time and
belong to the word before them; speakers are ``spk_0``, ``spk_1`` ... (on the item, or only in
``speaker_labels.segments``; with channel identification ``ch_0`` ... in ``channel_labels``) with
no names and no roles.  Which one is the agent is ``roles.resolve``'s business: the
``agent_speaker`` the upload named, the configured channel → role mapping, else the content
(never the order: on real recordings the caller is often heard first).

Contact Lens and Call Analytics (turns with roles) are ``analytics``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from channels.phone.call import CallMeta, Transcript
from channels.phone.roles import NO_HINTS, Piece, RoleHints, resolve
from ticketing.domain.errors import MalformedPayload

_SECONDS_RE: Final = re.compile(r"^(\d{1,9})(?:\.(\d{1,9}))?$")


def is_aws(doc: dict[str, Any]) -> bool:
    results = doc.get("results")
    return isinstance(results, dict) and "items" in results


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise MalformedPayload(f"{what} must be a string")
    return value


def _seconds_ms(value: Any, what: str) -> int:
    text = _str(value, what)
    plain = _SECONDS_RE.match(text)
    if plain is not None:  # the common "12.345" without Decimal's cost (a 1-hour call: 20k)
        whole, frac = plain.groups()
        frac = (frac or "").ljust(4, "0")
        return int(whole) * 1000 + int(frac[:3]) + (1 if frac[3] >= "5" else 0)
    try:
        seconds = Decimal(text)
    except InvalidOperation as exc:
        raise MalformedPayload(f"{what} is not a number of seconds: {text[:20]!r}") from exc
    if not seconds.is_finite() or seconds < 0 or seconds > 10**9:
        raise MalformedPayload(f"{what} is not a time: {text[:20]!r}")
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
    speakers, channel_labels = results.get("speaker_labels"), results.get("channel_labels")
    segments = (speakers.get("segments") if isinstance(speakers, dict) else None) or []
    channels = (channel_labels.get("channels") if isinstance(channel_labels, dict) else None) or []
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


def parse_aws(doc: dict[str, Any], hints: RoleHints = NO_HINTS) -> Transcript:
    results = doc["results"]
    items = results.get("items")
    if not isinstance(items, list):
        raise MalformedPayload("results.items must be a list")
    by_start = _speaker_by_start(results)
    runs: list[tuple[str, int, int, list[str]]] = []  # one speaker's consecutive words
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise MalformedPayload(f"results.items[{number}] must be an object")
        alts = item.get("alternatives")
        if not isinstance(alts, list) or not alts or not isinstance(alts[0], dict):
            raise MalformedPayload(f"results.items[{number}] has no alternatives")
        content = _str(alts[0].get("content"), f"results.items[{number}] content")
        if item.get("type") == "punctuation":
            if runs:  # punctuation has no time: it closes the word before it
                runs[-1][3][-1] += content
            continue
        start = _seconds_ms(item.get("start_time"), f"results.items[{number}].start_time")
        end = _seconds_ms(item.get("end_time"), f"results.items[{number}].end_time")
        label: Any = item.get("speaker_label") or item.get("channel_label") \
            or by_start.get(str(item.get("start_time")))
        if not isinstance(label, str):
            raise MalformedPayload(f"results.items[{number}] has no speaker label (the job ran "
                                   "without speaker or channel identification)")
        if runs and runs[-1][0] == label:
            last = runs[-1]
            runs[-1] = (label, last[1], end, last[3])
            last[3].append(content)
        else:
            runs.append((label, start, end, [content]))
    if not runs:
        raise MalformedPayload("AWS Transcribe result has no words")
    pieces = [Piece(label[:200], start, end, " ".join(words)) for label, start, end, words in runs]
    turns, report = resolve(pieces, hints)
    language = results.get("language_code") or doc.get("languageCode")
    return Transcript(format="aws-transcribe", turns=turns, roles=report,
                      meta=CallMeta(call_id=_opt_text(doc.get("jobName")),
                                    language=_opt_text(language)))
