"""A call's subject: the first sentence of the caller's complaint, never the agent's greeting.

The caller's opening words are often only a greeting or a filler ("Halo?", "Pagi Bu.", "Iya,
betul"): those sentences are passed over, and the first sentence with substance is the subject,
cut at a word boundary.  A call where the caller only greets has the caller's first words.

Pure: turns in, text out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from channels.phone.call import CallTurn, Role

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


def call_subject(turns: Iterable[CallTurn]) -> str | None:
    first: str | None = None
    for turn in turns:
        if turn.role is not Role.CALLER:
            continue
        for found in _SENTENCE_RE.finditer(turn.text):
            sentence = found.group().strip()
            if not sentence:
                continue
            first = first or sentence
            if not _is_filler(sentence):
                return _cut(sentence)
    return _cut(first) if first else None


__all__ = ["MAX_SUBJECT", "call_subject"]
