"""A ticket's subject when the citizen gave none (calls, chats, direct messages): the first
sentence of the complaint, not the greeting around it.

For a call transcript only the caller's turns count (the agent's "Selamat datang di layanan
..." is never the subject).  Sentences made only of greeting and courtesy words ("Halo, selamat
siang.", "Permisi kak") are skipped, and a greeting that opens the complaint's sentence
("Selamat pagi admin, NIK saya ...") is cut off.  Pure: text in, text out."""

from __future__ import annotations

import re

from ticketing.domain.text import Role, transcript_turns

MAX_LENGTH = 120
GREETING_WORDS = frozenset("""
halo hallo hai hi helo assalamualaikum assalamu alaikum wr wb salam selamat pagi siang sore
malam permisi admin min mimin kak kakak ka gan bapak ibu pak bu bapak/ibu tim prakerja cs
mohon maaf ya terima kasih makasih trims tolong bantu bantuannya dibantu hormat dengan
""".split())
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[\w/]+", re.UNICODE)
_LEADING = re.compile(r"^\s*((?:[\w/]+\s*){1,5}),\s*", re.UNICODE)


def _only_greeting(text: str) -> bool:
    words = [w.lower() for w in _WORD.findall(text)]
    return bool(words) and all(w in GREETING_WORDS for w in words)


def _strip_greeting(sentence: str) -> str:
    lead = _LEADING.match(sentence)
    if lead and _only_greeting(lead.group(1)):
        return sentence[lead.end():]
    return sentence


def _clip(text: str) -> str:
    text = " ".join(text.split()).strip(" .,;:-")
    if len(text) <= MAX_LENGTH:
        return text
    cut = text[:MAX_LENGTH].rsplit(" ", 1)[0]
    return cut + "…"


def complaint_subject(body: str) -> str | None:
    """The first sentence that says something, its opening greeting removed."""
    turns = transcript_turns(body)
    if turns:
        body = "\n".join(t.text for t in turns if t.role == Role.CALLER)
    for sentence in _SENTENCE.split(body):
        if not sentence.strip() or _only_greeting(sentence):
            continue
        kept = _strip_greeting(sentence.strip())
        if kept and not _only_greeting(kept):
            return _clip(kept[0].upper() + kept[1:])
    return _clip(body) or None
