"""Raw transcript file bytes (+ what the transport knows) → ``InboundMessage``: the phone
channel's pure parser.

Owns ``read_transcript`` (format detection by content, never by extension alone: plain text,
WebVTT, SRT, AWS Transcribe JSON, Call Analytics JSON, Contact Lens JSON → turns and call
metadata) and ``parse_transcript`` (turns and metadata → the normalized message).  Which speaker
is the agent is ``roles``' business; the desk's configuration arrives as ``RoleHints`` (the
composition root builds them), the upload's ``meta["agent_speaker"]`` joins them.

Where each field comes from (the transport's ``meta`` is what the CLI or upload recorded):

* ``external_id``: ``meta["call_id"]``, else the call id inside the file (AWS ``jobName``,
  Contact Lens ``CustomerMetadata.ContactId``), else ``sha256:<hex of the file bytes>`` — the same
  file ingested twice is the same call.
* ``sender.phone``: ``meta["caller"]``, else the file name ``<digits>_<YYYYmmddTHHMMSS>.<ext>``
  (what our recorder writes); no format carries the caller's number.  None at all is refused.
* ``sent_at`` (the call's start): ``meta["started_at"]`` (ISO 8601; no offset means WIB), else the
  file name's stamp (WIB, or UTC with a trailing ``Z``), else ``meta["received_at"]`` (when the
  transport took the file; ``extra["sent_at_source"]`` says which).
* ``body``: one line per turn, ``Agen: ...`` / ``Penelepon: ...``, the form the identity rules
  read (agent turns are never the citizen's claim; a number read out after the agent asks is).
* ``subject``: the first sentence of the caller's complaint (``subject``), not the greeting.
* ``extra["speaker_roles"]``: how each speaker's role was decided, and ``inferred`` when it was
  guessed from the content (shown to staff on the message).
* ``sender.name``: the caller's display name when the file names one caller (Teams, Zoom).

It must not touch the database, the clock, the network or the filesystem.  The only exception it
raises is ``MalformedPayload``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any, Final

import orjson

from channels.phone.analytics import (CALL_ANALYTICS, kind_of, parse_call_analytics,
                                      parse_contact_lens)
from channels.phone.call import CallMeta, Transcript, decode_text, role_of
from channels.phone.cues import looks_like_cues, parse_srt, parse_webvtt
from channels.phone.plain import looks_like_text, parse_text
from channels.phone.roles import MACHINE_LABEL_RE, NO_HINTS, RoleHints
from channels.phone.subject import call_subject
from channels.phone.vendor import is_aws, parse_aws
from ticketing.domain.errors import MalformedPayload
from ticketing.domain.message import MAX_BODY_CHARS, Channel, InboundMessage, Sender
from ticketing.domain.text import Role
from ticketing.domain.zones import WIB

CONTENT_TYPE: Final = "application/vnd.ticketing.call-transcript"
BODY_LABELS: Final = {Role.AGENT: "Agen", Role.CALLER: "Penelepon"}
_FILENAME_RE: Final = re.compile(r"^\+?(?P<phone>\d{8,15})_(?P<stamp>\d{8}T\d{6})(?P<z>Z)?(?:\.|$)")


def read_transcript(raw: bytes, hints: RoleHints | str | None = None) -> Transcript:
    """Detect the format from the content and parse it; ``MalformedPayload`` when unusable.
    ``hints``: the desk's ``RoleHints`` (a bare string is an AWS agent speaker label)."""
    if not isinstance(hints, RoleHints):
        hints = NO_HINTS.with_agent_speaker(hints)
    text = decode_text(raw).lstrip("\ufeff")
    head = text.lstrip()
    if head.startswith("{") or re.match(r"\[\s*[{\]]", head):
        # orjson reads UTF-8 bytes as they are (a one-hour AWS file is 2 MB: the stdlib's
        # json alone would take most of the 50 ms a call may cost); UTF-16 goes as text.
        utf16 = raw.startswith((b"\xff\xfe", b"\xfe\xff"))
        try:
            doc = orjson.loads(head if utf16 else raw.removeprefix(b"\xef\xbb\xbf"))
        except orjson.JSONDecodeError as exc:
            raise MalformedPayload(f"invalid or truncated JSON: {exc.msg} at line {exc.lineno} "
                                   f"column {exc.colno}") from exc
        if isinstance(doc, dict) and is_aws(doc):
            return parse_aws(doc, hints)
        kind = kind_of(doc) if isinstance(doc, dict) else None
        if isinstance(doc, dict) and kind == CALL_ANALYTICS:
            return parse_call_analytics(doc)
        if isinstance(doc, dict) and kind is not None:
            return parse_contact_lens(doc)
        raise MalformedPayload("JSON that is neither an AWS Transcribe result (results.items), "
                               "a Call Analytics transcript (Transcript[] with ParticipantRole) "
                               "nor a Contact Lens transcript (Transcript[] with ParticipantId)")
    if head.startswith("WEBVTT"):
        return parse_webvtt(head, hints)
    if looks_like_cues(head):
        return parse_srt(head, hints)
    if looks_like_text(head):
        return parse_text(head, hints)
    raise MalformedPayload("unknown transcript format (expected plain text with speaker labels, "
                           "WebVTT, SRT, AWS Transcribe, Call Analytics or Contact Lens JSON)")


def _when(value: Any, what: str) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedPayload(f"{what} must be an ISO 8601 string")
    try:
        when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedPayload(f"{what} is not ISO 8601: {value[:40]!r}") from exc
    return (when if when.tzinfo else when.replace(tzinfo=WIB)).astimezone(dt.UTC)


def _from_filename(name: Any) -> tuple[str | None, dt.datetime | None]:
    if not isinstance(name, str):
        return None, None
    found = _FILENAME_RE.match(PurePath(name.replace("\\", "/")).name)
    if found is None:
        return None, None
    try:
        local = dt.datetime.strptime(found["stamp"], "%Y%m%dT%H%M%S")
    except ValueError:
        return found["phone"], None
    return found["phone"], local.replace(tzinfo=dt.UTC if found["z"] else WIB).astimezone(dt.UTC)


def _opt(meta: Mapping[str, Any], key: str) -> str | None:
    value = meta.get(key)
    if not isinstance(value, str):
        return None
    return value.strip()[:200] or None


def parse_transcript(raw: bytes, meta: Mapping[str, Any],
                     hints: RoleHints = NO_HINTS) -> InboundMessage:
    """Parse one transcript file.  ``meta`` (all optional): ``filename``, ``caller``,
    ``started_at``, ``call_id``, ``agent``, ``queue``, ``language``, ``agent_speaker`` (the
    speaker label that is the agent), ``received_at``.  ``hints``: the desk's configuration.
    Raises ``MalformedPayload`` and nothing else."""
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise MalformedPayload("a transcript must be bytes")
    data = bytes(raw)
    try:
        return _parse(data, meta, hints)
    except MalformedPayload:
        raise
    except Exception as exc:  # a parser bug must quarantine one file, not stop the worker
        raise MalformedPayload(f"unparseable transcript ({type(exc).__name__}: "
                               f"{str(exc)[:120]})") from exc


def _caller_name(transcript: Transcript) -> str | None:
    """The caller's display name when the file names exactly one caller (Teams, Zoom)."""
    if transcript.roles is None:
        return None
    callers = [s.speaker for s in transcript.roles.speakers if s.role is Role.CALLER]
    if len(callers) != 1 or role_of(callers[0]) is not None \
            or MACHINE_LABEL_RE.match(callers[0]) or sum(c.isdigit() for c in callers[0]) >= 5:
        return None  # a dial-in's number shown as its name is not a name
    return callers[0][:200]


def _parse(data: bytes, meta: Mapping[str, Any], hints: RoleHints) -> InboundMessage:
    transcript = read_transcript(data, hints.with_agent_speaker(_opt(meta, "agent_speaker")))
    if not any(t.role is Role.CALLER for t in transcript.turns):
        raise MalformedPayload("the transcript has no caller speech")
    name_phone, name_start = _from_filename(meta.get("filename"))
    caller = _opt(meta, "caller") or name_phone
    if caller is None:
        raise MalformedPayload("no caller number: give it with the upload (--caller) or name "
                               "the file <digits>_<YYYYmmddTHHMMSS>.<ext>")
    sources = (("started_at", _when(meta.get("started_at"), "started_at")),
               ("metadata", transcript.meta.started_at), ("filename", name_start),
               ("received_at", _when(meta.get("received_at"), "received_at")))
    source, started = next(((s, w) for s, w in sources if w is not None), ("", None))
    if started is None:
        raise MalformedPayload("no call start time: give it with the upload (--started) or "
                               "name the file <digits>_<YYYYmmddTHHMMSS>.<ext>")
    call = transcript.meta
    call_id = _opt(meta, "call_id") or call.call_id or f"sha256:{hashlib.sha256(data).hexdigest()}"
    last_end = max((t.end_ms for t in transcript.turns if t.end_ms is not None), default=None)
    ended = call.ended_at
    if ended is None and last_end is not None:
        ended = started + dt.timedelta(milliseconds=last_end)
    body = "\n".join(f"{BODY_LABELS[t.role]}: {t.text}" for t in transcript.turns)
    extra: dict[str, Any] = {
        "transcript_format": transcript.format,
        "call": {"call_id": call_id, "caller": caller,
                 "started_at": started.isoformat(),
                 "ended_at": ended.isoformat() if ended else None,
                 "agent": _opt(meta, "agent") or call.agent,
                 "queue": _opt(meta, "queue") or call.queue,
                 "language": _opt(meta, "language") or call.language},
        "sent_at_source": source,
        "turns": [[t.role.value, t.start_ms, t.end_ms] for t in transcript.turns],
        "filename": _opt(meta, "filename"),
    }
    if transcript.roles is not None:
        extra["speaker_roles"] = transcript.roles.as_json()
    if transcript.skipped_cues:
        extra["skipped_cues"] = transcript.skipped_cues
    if len(body) > MAX_BODY_CHARS:
        body, extra["truncated"] = body[:MAX_BODY_CHARS], True
    subject = call_subject(transcript.turns)
    return InboundMessage(channel=Channel.PHONE, external_id=call_id[:500], sent_at=started,
                          sender=Sender(phone=caller[:320], name=_caller_name(transcript)),
                          subject=subject.replace("\x00", "\ufffd") if subject else None,
                          body=body.replace("\x00", "\ufffd"), extra=extra)


__all__ = ["CONTENT_TYPE", "CallMeta", "parse_transcript", "read_transcript"]
