"""Canned replies: texts with ``{variables}`` in Indonesian and English, suggested by topic,
filled from what the ticket knows; a variable the ticket does not know is reported missing so
the page asks the agent for it (never sent as a literal ``{...}``).  Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_VARIABLE = re.compile(r"\{([a-z_][a-z0-9_]{0,40})\}")
MAX_VALUE = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class CannedReply:
    id: str
    title: str
    texts: Mapping[str, str]  # language → text
    topics: tuple[str, ...] = ()
    status: str | None = None  # a macro also sets these
    topic: str | None = None

    def text(self, lang: str) -> str:
        return self.texts.get(lang) or self.texts["id"]

    def variables(self, lang: str) -> list[str]:
        return list(dict.fromkeys(_VARIABLE.findall(self.text(lang))))


def parse(doc: Mapping[str, Any]) -> tuple[CannedReply, ...]:
    """The ``[[replies]]`` of ``config/canned_replies.toml``; ValueError names the bad entry."""
    out = []
    seen: set[str] = set()
    for n, entry in enumerate(doc.get("replies") or []):
        where = f"replies[{n}]"
        ident = str(entry.get("id") or "")
        if not re.fullmatch(r"[a-z0-9_-]{1,40}", ident) or ident in seen:
            raise ValueError(f"{where}.id: missing, malformed or repeated")
        if not entry.get("id_text"):
            raise ValueError(f"{where}.id_text: the Indonesian text is required")
        seen.add(ident)
        texts = {"id": str(entry["id_text"])}
        if entry.get("en_text"):
            texts["en"] = str(entry["en_text"])
        out.append(CannedReply(id=ident, title=str(entry.get("title") or ident), texts=texts,
                               topics=tuple(str(t) for t in entry.get("topics") or ()),
                               status=entry.get("status") or None,
                               topic=entry.get("topic") or None))
    return tuple(out)


def suggested(replies: Sequence[CannedReply], topic: str | None) -> list[CannedReply]:
    """Those made for this topic first, then the general ones; others are left out."""
    own = [r for r in replies if topic and topic in r.topics]
    general = [r for r in replies if not r.topics]
    return own + general


def fill(reply: CannedReply, lang: str, values: Mapping[str, str]) -> tuple[str, list[str]]:
    """The text with every known variable filled, and the variables still missing (left in
    braces in the text, which the page refuses to send as is)."""
    missing: list[str] = []

    def one(match: re.Match[str]) -> str:
        value = (values.get(match.group(1)) or "").strip()[:MAX_VALUE]
        if not value:
            if match.group(1) not in missing:
                missing.append(match.group(1))
            return match.group(0)
        return value
    return _VARIABLE.sub(one, reply.text(lang)), missing


def unfilled(text: str) -> list[str]:
    return list(dict.fromkeys(_VARIABLE.findall(text)))
