"""Timed-text transcripts: WebVTT (``<v Name>`` voice spans, what Teams exports; ``Name: ...`` in
the cue text, what Zoom exports) and SRT (the speaker written inside the cue text).  Parsed by
hand, line by line as the WebVTT parsing algorithm does: the libraries either truncate times or
do not know voice spans.

* A line holding ``-->`` is a cue timing line wherever it stands, even right after another cue's
  text without a blank line (it ends that cue); a cue whose timing line cannot be read is skipped
  and counted (``Transcript.skipped_cues``); only a file with no readable cue is refused.
* Time stamps in every form producers write (``call.stamp_ms``); cue settings after the end time
  (``align:start position:10%``) are ignored.
* ``NOTE``, ``STYLE`` and ``REGION`` blocks, the header's metadata lines, cue identifiers (and
  SRT's cue numbers), tags (``<i>``, ``<c.colour>``, YouTube's inline ``<00:00:01.200>``) and
  entities are not speech.  A byte order mark is dropped before this module sees the text.

Speakers are handed to ``roles.resolve`` as written; which one is the agent is decided there.
Pure: text in, ``Transcript`` out, ``MalformedPayload`` for anything unusable.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Final

from channels.phone.call import Transcript, stamp_ms
from channels.phone.roles import NO_HINTS, Piece, RoleHints, resolve
from channels.phone.speakers import TIME, backed_names, labelled
from ticketing.domain.errors import MalformedPayload

# WebVTT's whitespace is space, tab and form feed; its line ends CR, LF and CRLF only (Python's
# splitlines() would also split at a vertical tab or U+2028 inside a cue).
TIMING_RE: Final = re.compile(rf"^[ \t\f]*({TIME})[ \t\f]*-->[ \t\f]*({TIME})(?:[ \t\f]+.*)?$")
_LINES_RE: Final = re.compile(r"\r\n|\r|\n")
_VOICE_RE: Final = re.compile(r"<v(?:\.[^\s>]*)?(?:[ \t]+([^>]*))?>", re.IGNORECASE)
_TAG_RE: Final = re.compile(r"</?[a-z][^>]*>|<\d[^>]*>", re.IGNORECASE)
_SKIPPED_BLOCKS: Final = ("NOTE", "STYLE", "REGION")


@dataclass
class _Cue:
    start_ms: int
    end_ms: int
    lines: list[str] = field(default_factory=list)


@dataclass
class _Reading:
    cues: list[_Cue] = field(default_factory=list)
    skipped: int = 0
    first_error: str | None = None


def _timing(line: str) -> tuple[int, int] | None:
    found = TIMING_RE.match(line)
    if found is None:
        return None
    try:
        return stamp_ms(found[1]), stamp_ms(found[2])
    except MalformedPayload:
        return None


def _read_cues(lines: list[str], kind: str) -> _Reading:
    out = _Reading()
    cue: _Cue | None = None
    skipping = False  # inside a NOTE/STYLE/REGION block or a block without a timing line
    after_id = False  # the line before was a cue identifier (or an SRT number)
    for line in lines:
        if not line.strip():
            cue, skipping, after_id = None, False, False
            continue
        if "-->" in line:
            times = _timing(line)
            after_id = False
            if times is None:
                out.skipped += 1
                out.first_error = out.first_error or (
                    f"{kind} cue {len(out.cues) + out.skipped}: bad timing line "
                    f"{line.strip()[:60]!r}")
                cue, skipping = None, True
                continue
            cue, skipping = _Cue(times[0], times[1]), False
            out.cues.append(cue)
            continue
        if skipping:
            continue
        if cue is not None:
            cue.lines.append(line)
        elif after_id:  # an identifier not followed by a timing line: the block is not a cue
            skipping, after_id = True, False
        elif kind == "webvtt" and line.split(None, 1)[0] in _SKIPPED_BLOCKS:
            skipping = True
        else:
            after_id = True
    return out


def _text(line: str) -> str:
    return " ".join(html.unescape(_TAG_RE.sub("", line)).split())


def _pieces(cues: list[_Cue], kind: str) -> list[Piece]:
    found = [(cue, line, _VOICE_RE.search(line)) for cue in cues for line in cue.lines]
    named = [labelled(_text(line)) if voice is None else None for _, line, voice in found]
    backed = backed_names(named)
    out: list[Piece] = []
    for (cue, line, voice), said in zip(found, named, strict=True):
        speaker: str | None = None
        spoken = _text(line)
        if voice is not None:
            speaker = " ".join((voice[1] or "").split())[:200] or None
        elif said is not None and (said.is_role or said.label in backed):
            speaker, spoken = said.label, said.rest
        if speaker is None:
            if not out:
                raise MalformedPayload(f"{kind} cue {cues.index(cue) + 1} has no speaker "
                                       "(<v Name>, 'Name: ...')")
            speaker = out[-1].speaker  # an unlabelled line continues the previous speaker
        if spoken:
            out.append(Piece(speaker, cue.start_ms, cue.end_ms, spoken))
    return out


def _parse(lines: list[str], kind: str, hints: RoleHints) -> Transcript:
    reading = _read_cues(lines, kind)
    if not reading.cues:
        raise MalformedPayload(reading.first_error or f"{kind} file has no cues")
    pieces = _pieces(reading.cues, kind)
    if not pieces:
        raise MalformedPayload(f"{kind} file has no speech in its cues")
    turns, report = resolve(pieces, hints)
    return Transcript(format=kind, turns=turns, roles=report, skipped_cues=reading.skipped)


def lines_of(text: str) -> list[str]:
    return _LINES_RE.split(text)


def cue_timeline(text: str) -> list[tuple[int, int, str]]:
    """The readable cues of a WebVTT or SRT file as (start, end, text without tags): what a
    player would show, speakers aside."""
    lines = lines_of(text)
    kind = "webvtt" if lines and lines[0].startswith("WEBVTT") else "srt"
    body = _header_end(lines) if kind == "webvtt" else 0
    return [(c.start_ms, c.end_ms, " ".join(t for t in map(_text, c.lines) if t))
            for c in _read_cues(lines[body:], kind).cues]


def _header_end(lines: list[str]) -> int:
    body = 1
    while body < len(lines) and lines[body].strip() and "-->" not in lines[body]:
        body += 1
    return body


def parse_webvtt(text: str, hints: RoleHints = NO_HINTS) -> Transcript:
    lines = lines_of(text)
    if not lines or not lines[0].startswith("WEBVTT"):
        raise MalformedPayload("not WebVTT: the first line must be WEBVTT")
    # The header (the signature line and metadata such as "Kind:" / "Language:") runs to the
    # first blank line, unless a cue timing line comes first.
    return _parse(lines[_header_end(lines):], "webvtt", hints)


def parse_srt(text: str, hints: RoleHints = NO_HINTS) -> Transcript:
    return _parse(lines_of(text), "srt", hints)


def looks_like_cues(text: str) -> bool:
    """SRT (or a WebVTT without its signature): a timing line among the first lines."""
    return any("-->" in line for line in lines_of(text[:2000])[:5])


__all__ = ["cue_timeline", "lines_of", "looks_like_cues", "parse_srt", "parse_webvtt"]
