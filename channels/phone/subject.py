"""A call's subject: the first sentence of the caller's complaint, never the agent's greeting.

The caller's opening words are often only a greeting, a filler or a check ("Halo?", "Pagi Bu.",
"Ini pengaduan Prakerja?"): the subject is the caller's first sentence that states something
going wrong (``voices.is_complaint``), else the first that is not only greeting words, else the
caller's first words; cut at a word boundary.

Pure: turns in, text out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from channels.phone.call import CallTurn, Role
from channels.phone.voices import is_complaint

MAX_SUBJECT: Final = 150
# A sentence ends at . ! ? … followed by a space or the end ("Rp 1.000.000" is one word).
_SENTENCE_RE: Final = re.compile(r"(?:[^.!?…]|[.!?…]+(?=\S))+[.!?…]*")
_FILLER: Final = frozenset("""
    halo hallo helo hello hi hai alo assalamualaikum assalamu alaikum salam selamat pagi siang sore
    malam good morning afternoon evening iya ya yah ok oke okay baik betul benar sip nggih inggih
    bu ibu pak bapak mbak mas kak kakak mba bang dik min admin sir madam maam yes yeah right sure
    thanks thank you terima kasih makasih hmm eh em uh um nah lho loh wah ini saya sama dengan
""".split())


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.casefold())


def _is_filler(sentence: str) -> bool:
    words = _words(sentence)
    return not words or all(w in _FILLER for w in words)


def _cut(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= MAX_SUBJECT:
        return text
    head = text[:MAX_SUBJECT - 1]
    space = head.rfind(" ")
    return (head[:space] if space > MAX_SUBJECT // 2 else head).rstrip(" ,;:") + "…"


def call_subject(turns: Iterable[CallTurn], *, max_sentences: int = 200) -> str | None:
    first: str | None = None
    substance: str | None = None
    seen = 0
    for turn in turns:
        if turn.role is not Role.CALLER:
            continue
        for found in _SENTENCE_RE.finditer(turn.text):
            sentence = found.group().strip()
            if not sentence:
                continue
            if is_complaint(sentence):
                return _cut(sentence)
            first = first or sentence
            if substance is None and not _is_filler(sentence):
                substance = sentence
            seen += 1
            if seen >= max_sentences:  # a long call: the complaint is near its start
                return _cut(substance or first)
    chosen = substance or first
    return _cut(chosen) if chosen else None


__all__ = ["MAX_SUBJECT", "call_subject"]
