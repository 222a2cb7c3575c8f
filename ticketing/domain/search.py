"""Reading a staff search: what was typed → what the full-text index and the identifiers are
asked, and how a hit is shown.

Owns the query side of search, so that both databases answer the same question:

* an identifier typed any common way ("0812-3456-7890", "+62 812 3456 7890", "NIK 3224.2819...",
  "Budi@Example.ID") is recognised through ``domain.identity``'s normalisation and looked up
  exactly, never as words;
* otherwise the words are folded as the index folds them (NFKC, case, letters and digits only),
  Indonesian stop words are dropped, and each word becomes a group of alternatives: the word,
  its standard form from the slang tables (``text.SLANG`` and ``config/topics.toml``'s
  ``[slang]``) or the vocabulary's typo correction, and every other spelling those tables know
  for that form.  The index stores the words as written, so "gmn" in a message is found by
  "bagaimana" and the reverse; a word of four letters or more also matches as a prefix, which
  covers Indonesian suffixes and clitics ("insentif" finds "insentifnya", "dicairkan" too when
  typed "dicair").  Every group must match (AND), any alternative of a group (OR).

Pure: no files, clock, environment or database.  The index's query syntax (FTS5, tsquery) is
``store.search``'s; this module only says which words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from ticketing.domain.identity import (IdentityKind, normalize_email, normalize_nik,
                                       normalize_phone)
from ticketing.domain.text import SLANG

MAX_QUERY_CHARS: Final = 200
MAX_GROUPS: Final = 8
MAX_ALTERNATIVES: Final = 24
PREFIX_MIN: Final = 4
_TOKEN_RE: Final = re.compile(r"[^\W_]+")
_CLITICS: Final = ("nya", "lah", "kah", "ku", "mu")
# Words too common in complaints to narrow anything: function words, greetings, address
# forms.  "belum", "tidak", "sudah" stay: "belum cair" is a complaint, not noise.
STOP_WORDS: Final = frozenset("""
yang dan di ke dari ini itu untuk dengan pada adalah atau juga akan agar oleh dalam karena
saya kami kita anda aku kamu dia mereka beliau ya yah kak kakak min mimin mas mbak pak bapak bu
ibu admin mohon tolong dong deh sih nih kok apa apakah halo hai hallo selamat pagi siang sore
malam terima kasih makasih salam hormat the a an of to is and my please are be for in on with
""".split())
# A label typed before an identifier ("NIK 3224...", "hp 0812...", "email: x@y").
_LABELS: Final = frozenset({"nik", "ktp", "hp", "wa", "whatsapp", "telp", "telepon", "tlp",
                            "phone", "ponsel", "no", "nomor", "nomer", "email", "e-mail",
                            "surel", "mail"})


@dataclass(frozen=True, slots=True)
class Phrase:
    """One alternative: consecutive words; ``prefix``: the last word may be longer."""
    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchQuery:
    typed: str
    # Every group must match; any phrase of a group may.  Empty with an identifier.
    groups: tuple[tuple[Phrase, ...], ...]
    identifier: tuple[IdentityKind, str] | None
    # With an identifier: how it may stand written in messages (its digits as one word, or as
    # typed), searched when no citizen has it yet.
    written: tuple[Phrase, ...] = ()
    # Words to mark in snippets (each also as a word start).
    highlight: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.groups and self.identifier is None


def fold(text: str) -> str:
    """As the index folds text: compatibility forms, case, and no diacritics."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(fold(text))


def identifier_in(typed: str) -> tuple[IdentityKind, str] | None:
    """The NIK, phone or e-mail the whole query is (a label word before it allowed)."""
    text = typed.strip()
    first, _, rest = text.partition(" ")
    if first.rstrip(":").lower() in _LABELS and rest.strip():
        text = rest.strip().lstrip(":").strip()
    for kind, normalize in ((IdentityKind.EMAIL, normalize_email),
                            (IdentityKind.NIK, normalize_nik),
                            (IdentityKind.PHONE, normalize_phone)):
        value = normalize(text)
        if value is not None:
            return kind, value
    return None


def _written(found: tuple[IdentityKind, str], typed: str) -> tuple[Phrase, ...]:
    kind, value = found
    forms: list[tuple[str, ...]] = [tuple(tokens(value))]
    if kind is IdentityKind.PHONE:
        digits = value.lstrip("+")
        forms = [(digits,)]
        if digits.startswith("62"):
            forms.append(("0" + digits[2:],))
    typed_words = [w for w in tokens(typed) if w not in _LABELS]
    forms.append(tuple(typed_words))
    return tuple(Phrase(f) for f in dict.fromkeys(f for f in forms if f))


class SearchVocabulary:
    """The spellings search knows: standard form by variant, variants by standard form."""

    def __init__(self, *, slang: Mapping[str, str], correct: Callable[[str], str] | None = None,
                 stop_words: Iterable[str] = STOP_WORDS) -> None:
        self._slang = {fold(k): fold(v) for k, v in slang.items() if k.strip() and v.strip()}
        self._correct = correct
        self._stop = frozenset(stop_words)
        variants: dict[str, set[str]] = {}
        for variant, standard in self._slang.items():
            # One-letter spellings ("g" for "tidak") would match every stray letter.
            if len(variant) >= 2 and variant != standard:
                variants.setdefault(standard, set()).add(variant)
        self._variants = {k: tuple(sorted(v)) for k, v in variants.items()}

    @classmethod
    def with_topics_slang(cls, topics_slang: Mapping[str, str],
                          correct: Callable[[str], str] | None = None) -> SearchVocabulary:
        """General slang (``text.SLANG``) plus the topics' own spellings and typos."""
        return cls(slang={**SLANG, **topics_slang}, correct=correct)

    def standard(self, word: str) -> str | None:
        """The standard form of a variant or typo (possibly several words), or None."""
        found = self._slang.get(word)
        if found is None and self._correct is not None and word.isalpha() and len(word) >= 5:
            fixed = self._correct(word)
            if fixed != word:
                found = fold(fixed)
        if found is None:
            for clitic in _CLITICS:
                base = word[:-len(clitic)]
                if word.endswith(clitic) and len(base) >= PREFIX_MIN:
                    return self._slang.get(base, base)
        return found

    def _phrase(self, text: str) -> Phrase:
        words = tuple(text.split())
        last = words[-1]
        return Phrase(words, prefix=last.isalpha() and len(last) >= PREFIX_MIN)

    def group(self, word: str) -> tuple[tuple[Phrase, ...], bool]:
        """The alternatives of one typed word, and whether it is a stop word."""
        standard = self.standard(word)
        forms = [word]
        if standard is not None:
            forms.append(standard)
        for form in list(forms):
            forms.extend(self._variants.get(form, ()))
        seen: dict[str, Phrase] = {}
        for form in forms:
            if form and form not in seen:
                seen[form] = self._phrase(form)
        stop = word in self._stop or (standard is not None and standard in self._stop)
        return tuple(seen.values())[:MAX_ALTERNATIVES], stop

    def read(self, typed: str) -> SearchQuery:
        """What to look for; an empty query (no letters or digits) finds nothing."""
        typed = typed.strip()[:MAX_QUERY_CHARS]
        found = identifier_in(typed)
        if found is not None:
            written = _written(found, typed)
            return SearchQuery(typed=typed, groups=(), identifier=found, written=written,
                               highlight=tuple(dict.fromkeys(w for p in written
                                                             for w in p.words)))
        groups: list[tuple[Phrase, ...]] = []
        stops: list[tuple[Phrase, ...]] = []
        for word in dict.fromkeys(tokens(typed)):  # each word once, in order
            alternatives, stop = self.group(word)
            (stops if stop else groups).append(alternatives)
        kept = (groups or stops)[:MAX_GROUPS]
        words = dict.fromkeys(w for g in kept for p in g for w in p.words)
        return SearchQuery(typed=typed, groups=tuple(kept), identifier=None,
                           highlight=tuple(words))


# ------------------------------------------------------------------ showing a hit

def _marker(words: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted({w for w in words if w}, key=len, reverse=True)
    if not ordered:
        return None
    # Word starts only ("cair" marks "cairkan", not "pencairan"'s middle).
    return re.compile(r"(?<![^\W_])(?:" + "|".join(re.escape(w) for w in ordered) + r")[^\W_]*",
                      re.IGNORECASE)


def snippet(text: str, words: Iterable[str], *, width: int = 220) -> str:
    """A window of ``text`` around the first marked word (or its start), whitespace folded.
    Give it text already masked for the viewer: a window never cuts a mask open."""
    flat = " ".join(text.split())
    pattern = _marker(words)
    hit = pattern.search(fold(flat)) if pattern else None
    # ``fold`` keeps one character per character for the texts citizens write (it only drops
    # combining marks); where it did not, start at the beginning rather than misplace.
    start = 0
    if hit is not None and len(fold(flat)) == len(flat):
        start = max(0, hit.start() - width // 3)
        while start > 0 and not flat[start - 1].isspace():
            start -= 1
    end = min(len(flat), start + width)
    while end < len(flat) and not flat[end].isspace() and end - start < width + 30:
        end += 1
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")


def marks(text: str, words: Iterable[str]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, marked) for a page to escape and mark piece by piece."""
    pattern = _marker(words)
    if pattern is None or len(fold(text)) != len(text):
        return [(text, False)] if text else []
    out: list[tuple[str, bool]] = []
    at = 0
    for m in pattern.finditer(fold(text)):
        if m.start() > at:
            out.append((text[at:m.start()], False))
        out.append((text[m.start():m.end()], True))
        at = m.end()
    if at < len(text):
        out.append((text[at:], False))
    return out
