"""The phone channel's own vocabulary: a call as turns plus metadata, and the small pure rules
shared by every transcript format (text decoding, speaker labels, clock stamps).

It must not touch the database, the clock, the network or the filesystem; the only exception it
raises is ``MalformedPayload``, which quarantines the raw file with its message as the reason.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from ticketing.domain.errors import MalformedPayload
from ticketing.domain.text import Role

if TYPE_CHECKING:
    from channels.phone.roles import RoleReport

__all__ = ["CallMeta", "CallTurn", "Role", "Transcript", "decode_text", "role_of", "stamp_ms"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallTurn:
    role: Role
    start_ms: int | None
    end_ms: int | None
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallMeta:
    """What a format says about the call itself (never the caller's number: no format has it)."""

    call_id: str | None = None
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    agent: str | None = None
    queue: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Transcript:
    format: str  # text / webvtt / srt / aws-transcribe / call-analytics / contact-lens
    turns: tuple[CallTurn, ...]
    meta: CallMeta = field(default_factory=CallMeta)
    roles: RoleReport | None = None  # how each speaker's role was decided (``roles.resolve``)
    skipped_cues: int = 0  # cues dropped for an unreadable timing line (WebVTT/SRT)


# --- text decoding ---------------------------------------------------------------------------

def decode_text(raw: bytes) -> str:
    """UTF-8 (with or without a BOM), or UTF-16 when a BOM says so; anything else is refused
    rather than guessed (a mis-decoded NIK would link the wrong citizen)."""
    if not raw.strip():
        raise MalformedPayload("empty file")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise MalformedPayload(f"broken UTF-16 text at byte {exc.start}") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedPayload(f"not UTF-8 (nor UTF-16 with a BOM) text: invalid byte at "
                               f"{exc.start}") from exc


# --- speakers --------------------------------------------------------------------------------

# First word of a speaker label, lower-cased.  The Indonesian labels are what our own desk
# exports; the English ones come from vendor tools (Contact Lens uses AGENT / CUSTOMER).
# Contact Lens also names SUPERVISOR, SYSTEM and CUSTOM_BOT participants: the desk's side.
AGENT_WORDS: Final = frozenset({"petugas", "agen", "agent", "cs", "operator", "officer", "admin",
                                "supervisor", "system", "custom", "bot", "ivr"})
CALLER_WORDS: Final = frozenset({"pelapor", "penelepon", "penelpon", "caller", "customer",
                                 "pelanggan", "warga", "peserta", "nasabah"})
LABEL_PATTERN: Final = "|".join(sorted(AGENT_WORDS | CALLER_WORDS, key=len, reverse=True))


def role_of(label: str) -> Role | None:
    words = re.findall(r"[a-z]+", label.lower())
    if not words:
        return None
    if words[0] in AGENT_WORDS:
        return Role.AGENT
    if words[0] in CALLER_WORDS:
        return Role.CALLER
    return None


# --- clock stamps ----------------------------------------------------------------------------

# Every form seen in the wild: WebVTT ``00:00:01.000`` and ``00:01.000``, SRT ``00:00:01,000``,
# Teams' unpadded ``0:0:1.5``, Google Meet / YouTube SBV ``0:00:01.000``, fractions of 1-6
# digits (kept to the millisecond), and hours past 99 on long recordings.
_STAMP_RE: Final = re.compile(r"^(?:(\d{1,4}):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,9}))?$")


def stamp_ms(text: str) -> int:
    """``h:m:s.f`` in any of the forms above (or ``[00:00:04]``'s inside) → milliseconds."""
    found = _STAMP_RE.match(text.strip())
    if found is None:
        raise MalformedPayload(f"not a time stamp: {text.strip()[:30]!r}")
    hours, minutes, seconds, frac = found.groups()
    if int(minutes) > 59 or int(seconds) > 59:
        raise MalformedPayload(f"not a time stamp: {text.strip()[:30]!r}")
    millis = int((frac or "0")[:3].ljust(3, "0"))
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + millis


def merge_turns(turns: list[CallTurn]) -> tuple[CallTurn, ...]:
    """Consecutive pieces of one speaker become one turn (cues split speech at pauses); empty
    pieces are dropped."""
    out: list[CallTurn] = []
    for turn in turns:
        text = " ".join(turn.text.split())
        if not text:
            continue
        if out and out[-1].role is turn.role:
            last = out[-1]
            out[-1] = CallTurn(role=last.role, start_ms=last.start_ms,
                               end_ms=turn.end_ms if turn.end_ms is not None else last.end_ms,
                               text=f"{last.text} {text}")
        else:
            out.append(CallTurn(role=turn.role, start_ms=turn.start_ms, end_ms=turn.end_ms,
                                text=text))
    return tuple(out)
