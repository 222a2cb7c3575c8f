"""Plain-text transcripts: one speaker label per turn (``[00:00:04] Pelapor: ...``, ``Agent:``,
``Rina Wulandari: ...`` as Zoom, Google Meet and Otter write them), unlabelled lines continuing
the turn, and bare time-stamp lines (Google Meet writes one every few minutes) giving the start
of the turn after them.

Pure: text in, ``Transcript`` out, ``MalformedPayload`` for anything unusable.
"""

from __future__ import annotations

from channels.phone.call import Transcript, stamp_ms
from channels.phone.roles import NO_HINTS, Piece, RoleHints, resolve
from channels.phone.speakers import BARE_STAMP_RE, speaker_lines


def looks_like_text(text: str) -> bool:
    """Two lines in the first 200 open with a speaker label."""
    head = text.splitlines()[:200]
    return sum(1 for found in speaker_lines(head) if found is not None) >= 2


def parse_text(text: str, hints: RoleHints = NO_HINTS) -> Transcript:
    lines = text.splitlines()
    pieces: list[tuple[str, int | None, list[str]]] = []
    pending: int | None = None  # a bare time stamp waiting for the next turn
    for line, found in zip(lines, speaker_lines(lines), strict=True):
        if found is not None:
            start = found.start_ms if found.start_ms is not None else pending
            pieces.append((found.label, start, [found.rest] if found.rest else []))
            pending = None
            continue
        stripped = line.strip()
        if not stripped:
            continue
        stamp = BARE_STAMP_RE.match(stripped)
        if stamp is not None:
            pending = stamp_ms(stamp["time"])
        elif pieces:  # wrapped speech continues the turn
            pieces[-1][2].append(stripped)
    # A plain transcript stamps only where a turn starts: it ends where the next one starts.
    timed = [Piece(label, start, pieces[i + 1][1] if i + 1 < len(pieces) else None,
                   " ".join(said))
             for i, (label, start, said) in enumerate(pieces)]
    turns, report = resolve(timed, hints)
    return Transcript(format="text", turns=turns, roles=report)


__all__ = ["looks_like_text", "parse_text"]
