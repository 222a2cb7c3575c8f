"""Timed-text transcripts: plain text (``[00:00:04] Pelapor: ...``), WebVTT (``<v Petugas>``
voice spans) and SRT (the speaker written inside the cue text).  Parsed by hand: the formats are
small, and the libraries either truncate times or do not know voice spans.

Pure: text in, ``Transcript`` out, ``MalformedPayload`` for anything unusable.
"""

from __future__ import annotations

import html
import re
from typing import Final

from channels.phone.call import (LABEL_PATTERN, CallTurn, Role, Transcript, merge_turns, role_of,
                                 stamp_ms)
from ticketing.domain.errors import MalformedPayload

_TIME: Final = r"(?:\d{1,3}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
TIMING_RE: Final = re.compile(rf"^\s*({_TIME})\s*-->\s*({_TIME})(?:\s+.*)?$")
# "[00:00:04] Pelapor: ...", "(00:04) Petugas 1: ...", "Agent: ...", "- Caller: ..."
_LABELLED_RE: Final = re.compile(
    rf"^\s*(?:[\[(]\s*(?P<time>{_TIME})\s*[\])]\s*|(?P<bare>{_TIME})\s+)?[-–]?\s*"
    rf"(?P<label>(?:{LABEL_PATTERN})\b(?:\s*\d{{1,2}}|\s*\([^)\n]{{0,30}}\))?)\s*:\s?(?P<rest>.*)$",
    re.IGNORECASE)
_BRACKET_LABEL_RE: Final = re.compile(rf"^\s*\[(?P<label>(?:{LABEL_PATTERN})\b(?:\s*\d{{1,2}})?)\]\s*"
                                      rf"(?P<rest>.*)$", re.IGNORECASE)
_VOICE_RE: Final = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]*)>", re.IGNORECASE)
_TAG_RE: Final = re.compile(r"</?[a-z][^>]*>|<\d[^>]*>", re.IGNORECASE)


def _speaker_line(line: str) -> tuple[Role, str, int | None] | None:
    """A line that opens with a speaker label → (role, the rest, its time stamp if any)."""
    found = _LABELLED_RE.match(line) or _BRACKET_LABEL_RE.match(line)
    if found is None:
        return None
    role = role_of(found["label"])
    if role is None:
        return None
    groups = found.groupdict()
    stamp = groups.get("time") or groups.get("bare")
    return role, found["rest"].strip(), stamp_ms(stamp) if stamp else None


# --- plain text --------------------------------------------------------------------------------

def looks_like_text(text: str) -> bool:
    """Two lines in the first 200 open with a speaker label (the caller's turn is checked when
    parsing, to say so clearly)."""
    return sum(1 for line in text.splitlines()[:200] if _speaker_line(line)) >= 2


def parse_text(text: str) -> Transcript:
    pieces: list[CallTurn] = []
    preamble: list[str] = []
    for line in text.splitlines():
        found = _speaker_line(line)
        if found is not None:
            role, rest, start = found
            pieces.append(CallTurn(role=role, start_ms=start, end_ms=None, text=rest))
        elif line.strip() and pieces:  # wrapped speech continues the turn
            last = pieces[-1]
            pieces[-1] = CallTurn(role=last.role, start_ms=last.start_ms, end_ms=None,
                                  text=f"{last.text} {line.strip()}")
        elif line.strip():
            preamble.append(line.strip())
    if not any(p.role is Role.CALLER for p in pieces):
        raise MalformedPayload("no caller turn (Pelapor:/Penelepon:/Caller:) in the transcript")
    # A plain transcript stamps only where a turn starts: it ends where the next one starts.
    timed = [CallTurn(role=p.role, start_ms=p.start_ms,
                      end_ms=pieces[i + 1].start_ms if i + 1 < len(pieces) else None,
                      text=p.text) for i, p in enumerate(pieces)]
    return Transcript(format="text", turns=merge_turns(timed))


# --- WebVTT and SRT ----------------------------------------------------------------------------

def _blocks(text: str) -> list[list[str]]:
    blocks: list[list[str]] = [[]]
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _cue_text(line: str) -> str:
    return " ".join(html.unescape(_TAG_RE.sub("", line)).split())


def _cues(blocks: list[list[str]], kind: str) -> list[tuple[int, int, list[str]]]:
    cues: list[tuple[int, int, list[str]]] = []
    for number, block in enumerate(blocks, 1):
        timing = next((i for i, line in enumerate(block[:2]) if "-->" in line), None)
        if timing is None:
            if kind == "webvtt" and block[0].split(" ", 1)[0] in ("NOTE", "STYLE", "REGION",
                                                                   "WEBVTT"):
                continue
            raise MalformedPayload(f"{kind} block {number} has no timing line "
                                   f"(hh:mm:ss.mmm --> hh:mm:ss.mmm)")
        found = TIMING_RE.match(block[timing])
        if found is None:
            raise MalformedPayload(f"{kind} block {number}: bad timing line "
                                   f"{block[timing].strip()[:60]!r}")
        cues.append((stamp_ms(found[1]), stamp_ms(found[2]), block[timing + 1:]))
    return cues


def _turns(cues: list[tuple[int, int, list[str]]], kind: str) -> list[CallTurn]:
    out: list[CallTurn] = []
    for number, (start, end, lines) in enumerate(cues, 1):
        for line in lines:
            role: Role | None = None
            voice = _VOICE_RE.search(line)
            if voice is not None:
                role = role_of(voice[1])
                if role is None:
                    raise MalformedPayload(f"{kind} cue {number}: unknown speaker "
                                           f"{voice[1].strip()[:40]!r}")
                spoken = _cue_text(line)
            else:
                spoken = _cue_text(line)
                labelled = _speaker_line(spoken)
                if labelled is not None:
                    role, spoken = labelled[0], labelled[1]
            if role is None:
                if not out:
                    raise MalformedPayload(f"{kind} cue {number} has no speaker "
                                           "(<v Petugas>, 'Pelapor: ...')")
                role = out[-1].role  # an unlabelled line continues the previous speaker
            out.append(CallTurn(role=role, start_ms=start, end_ms=end, text=spoken))
    return out


def parse_webvtt(text: str) -> Transcript:
    blocks = _blocks(text)
    if not blocks or not blocks[0][0].startswith("WEBVTT"):
        raise MalformedPayload("not WebVTT: the first line must be WEBVTT")
    cues = _cues(blocks, "webvtt")
    if not cues:
        raise MalformedPayload("WebVTT file has no cues")
    return Transcript(format="webvtt", turns=merge_turns(_turns(cues, "webvtt")))


def parse_srt(text: str) -> Transcript:
    cues = _cues(_blocks(text), "srt")
    if not cues:
        raise MalformedPayload("SRT file has no cues")
    return Transcript(format="srt", turns=merge_turns(_turns(cues, "srt")))
