"""The ticket token, ``[#T-000123]``, both ways: writing it into what we send (subjects, the
acknowledgement) and finding it in what a citizen sends back; and the reply subject, cleaned of
the prefixes mail clients stack up (``Re:``, ``Fwd:``, ``AW:``, ``Balas:``, ``Teruskan:``,
``BLS:``, ``TRS:``) and of earlier tokens.

Pure.  A token found in a message is only a hint: the core trusts it from the ticket's own
citizen alone (``services.ingest.tickets``).
"""

from __future__ import annotations

import re
from typing import Final

TOKEN: Final = re.compile(r"\[#T-(\d{1,12})\]")
_PREFIX: Final = re.compile(r"^\s*((re|fwd?|aw|balas|teruskan|bls|trs)\s*:\s*|\[#T-\d+\]\s*)+",
                            re.I)
DEFAULT_SUBJECT: Final = "Pengaduan Anda"
MAX_SUBJECT: Final = 300


def ticket_tag(ticket_id: int) -> str:
    """The token we write: ``[#T-000123]`` (at least six digits)."""
    return f"[#T-{ticket_id:06d}]"


def find_ticket_token(text: str | None) -> int | None:
    """The ticket number of the first token in ``text``, or None."""
    found = TOKEN.search(text or "")
    return int(found.group(1)) if found else None


def strip_reply_prefixes(subject: str | None) -> str:
    """A subject without leading reply/forward prefixes and tokens."""
    return _PREFIX.sub("", subject or "").strip()


def reply_subject(ticket_id: int, subject: str | None) -> str:
    """Our reply's subject: the token, ``Re:`` and the original subject, cleaned."""
    base = strip_reply_prefixes(subject) or DEFAULT_SUBJECT
    return f"{ticket_tag(ticket_id)} Re: {base}"[:MAX_SUBJECT]
