"""Speaker labels written in a line of text: ``[00:00:04] Pelapor: ...``, ``Petugas 2: ...``,
``[Agen] ...``, and named speakers as Zoom, Google Meet and Otter write them
(``Rina Wulandari: ...``, ``Speaker 1: ...``).

A role word (Petugas, Pelapor, Agent, Caller ...) is always a speaker.  A name is one only when
it looks like one (every word capitalised, at most five words, not a form word such as "Nama"
or "Catatan") and the document backs it: at least two lines open with a name.  So "NIK saya:
3201..." or "Alamat: Jl. ..." read out in a call is never mistaken for a speaker, while a
one-word name ("Wati: ...", common in Indonesia) is one.

Pure: text in, labels out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from channels.phone.call import LABEL_PATTERN, role_of, stamp_ms

TIME: Final = r"(?:\d{1,4}:)?\d{1,2}:\d{1,2}(?:[.,]\d{1,9})?"
_LEAD: Final = (rf"^\s*(?:[\[(]\s*(?P<time>{TIME})\s*[\])]\s*[-–]?\s*|(?P<bare>{TIME})\s+[-–]?\s*)?"
                r"(?:[-–—]\s+|>>\s*)?")
_ROLE_RE: Final = re.compile(
    _LEAD + rf"(?P<label>(?:{LABEL_PATTERN})\b(?:\s*\d{{1,2}}|\s*\([^)\n]{{0,30}}\))?)"
    r"\s*:\s?(?P<rest>.*)$", re.IGNORECASE)
_BRACKET_ROLE_RE: Final = re.compile(
    rf"^\s*\[(?P<label>(?:{LABEL_PATTERN})\b(?:\s*\d{{1,2}})?)\]\s*(?P<rest>.*)$", re.IGNORECASE)
_WORD: Final = r"[^\W\d_][^\W_]*(?:[.'’-][^\W_]*)*\.?"
_NAME_RE: Final = re.compile(
    _LEAD + rf"(?P<label>{_WORD}(?:[ \t]+(?:{_WORD}|\d{{1,2}})){{0,4}})[ \t]*:[ \t]+(?P<rest>\S.*)$")
BARE_STAMP_RE: Final = re.compile(rf"^\s*[\[(]?\s*(?P<time>{TIME})\s*[\])]?\s*$")
_MAX_NAME: Final = 40
# Words that open a "Label: value" line in speech or notes, not a person's name.
_FORM_WORDS: Final = frozenset("""
    nama nik alamat email surel nomor no hp telepon tanggal tgl jam waktu catatan note notes
    keterangan ket info informasi contoh misalnya misal yaitu yakni intinya jadi pertanyaan
    jawaban keluhan masalah alasan status update subjek subject perihal re fwd ps total saldo
    kode otp password sandi rekening bank akun user username id tiket ticket link url
""".split())


@dataclass(frozen=True, slots=True)
class Labelled:
    label: str  # as written, spaces collapsed
    rest: str
    start_ms: int | None
    is_role: bool  # a role word, not a name


def _stamp(found: re.Match[str]) -> int | None:
    groups = found.groupdict()
    stamp = groups.get("time") or groups.get("bare")
    return stamp_ms(stamp) if stamp else None


def labelled(line: str) -> Labelled | None:
    """The speaker a line opens with, if any (names still to be backed by ``backed_names``)."""
    found = _ROLE_RE.match(line) or _BRACKET_ROLE_RE.match(line)
    if found is not None and role_of(found["label"]) is not None:
        return Labelled(" ".join(found["label"].split()), found["rest"].strip(), _stamp(found),
                        True)
    named = _NAME_RE.match(line)
    if named is None:
        return None
    label = " ".join(named["label"].split())
    words = [w for w in label.split() if not w.isdigit()]
    if len(label) > _MAX_NAME or not words or not all(w[0].isupper() for w in words) \
            or words[0].casefold().rstrip(".") in _FORM_WORDS:
        return None
    return Labelled(label, named["rest"].strip(), _stamp(named), False)


def backed_names(found: Iterable[Labelled | None]) -> frozenset[str]:
    """The named labels the document backs (module docstring)."""
    names = Counter(f.label for f in found if f is not None and not f.is_role)
    return frozenset(names) if sum(names.values()) >= 2 else frozenset()


def speaker_lines(lines: list[str]) -> list[Labelled | None]:
    """Each line's speaker, with names the document does not back dropped."""
    found = [labelled(line) if ":" in line or "[" in line else None for line in lines]
    backed = backed_names(found)
    return [f if f is None or f.is_role or f.label in backed else None for f in found]


__all__ = ["BARE_STAMP_RE", "TIME", "Labelled", "backed_names", "labelled", "speaker_lines"]
