"""Repairing the MIME trees that broken mail generators write, so that the walk (``mime.py``)
still finds the text and every attachment, and says it had to guess.

* ``regroup_reused``: a nested multipart that declares its parent's boundary.  The stdlib then
  gives the nested multipart no parts, makes its parts siblings of it, ends the parent at the
  nested part's closing line and leaves the parent's remaining parts in the epilogue.  The parts
  after the empty nested multipart are put back into it and the epilogue is split into the
  parent's remaining parts (defect ``boundary-reused``).
* ``guess_boundary``: a multipart whose declared boundary never occurs (the stdlib keeps the
  whole body as one string): the delimiter lines that do occur are used (``boundary-guessed``);
  without any, a body that starts with part headers is read as one part, else as plain text
  (``boundary-missing``).

Pure; never raises (a repair that fails returns None and the walk keeps the stdlib's reading).
"""

from __future__ import annotations

import email
import re
from collections import Counter
from email.message import Message
from email.policy import compat32
from typing import Final

from channels.email.parts import ctype_of, param_of

_DELIM_RE: Final = re.compile(r"^--([^\s]{1,100}?)(--)?[ \t]*\r?$", re.MULTILINE)
_PART_HEADER_RE: Final = re.compile(r"\A\s*content-[a-z-]+\s*:", re.IGNORECASE)


def payload_of(part: Message) -> str | list[Message]:
    """A part's payload as parsed: its sub-parts, or its body text exactly as received (8-bit
    octets kept as surrogate escapes).  ``Message.get_payload()`` would decode an 8-bit body with
    the declared charset and raise for some (``idna``, a NUL in the name)."""
    raw = getattr(part, "_payload", None)
    if isinstance(raw, list):
        return [p for p in raw if isinstance(p, Message)]
    return raw if isinstance(raw, str) else ""


def boundary_of(part: Message) -> str | None:
    value = param_of(part, "boundary")
    return value if isinstance(value, str) and value else None


def _split_on(text: str, boundary: str) -> list[Message]:
    """The parts of ``text`` delimited by ``--boundary`` lines, up to a closing line."""
    parts: list[Message] = []
    marker = re.compile(rf"^--{re.escape(boundary)}(--)?[ \t]*\r?$", re.MULTILINE)
    pos: int | None = None
    for found in marker.finditer(text):
        if pos is not None:
            chunk = text[pos:found.start()].lstrip("\r\n")
            if chunk.strip():
                parts.append(email.message_from_string(chunk, policy=compat32))
        pos = None if found.group(1) else found.end()
        if found.group(1):
            break
    if pos is not None and text[pos:].strip():  # no closing line: the rest is the last part
        parts.append(email.message_from_string(text[pos:].lstrip("\r\n"), policy=compat32))
    return parts


def regroup_reused(part: Message, subparts: list[Message]) -> list[Message] | None:
    """The parent's real parts when a child multipart reused its boundary, else None."""
    if not any(not isinstance(payload_of(sub), list) and ctype_of(sub).startswith("multipart/")
               for sub in subparts):
        return None  # the usual case: no child multipart lost its parts
    boundary = boundary_of(part)
    if boundary is None:
        return None
    for i, sub in enumerate(subparts):
        if ctype_of(sub).startswith("multipart/") and boundary_of(sub) == boundary \
                and not isinstance(payload_of(sub), list):
            try:
                nested = Message()
                for name, value in sub.raw_items():
                    nested[name] = value
                del nested["content-type"]
                nested["Content-Type"] = f"{ctype_of(sub)}; boundary=\"{boundary}.1\""
                nested.set_payload(list(subparts[i + 1:]))
                rest = _split_on(str(part.epilogue or ""), boundary)
            except Exception:
                return None
            return [*subparts[:i], nested, *rest]
    return None


def guess_boundary(part: Message) -> tuple[Message | None, str]:
    """A multipart without its declared boundary, read again: (the repaired part or None for
    "treat as text", the defect)."""
    payload = payload_of(part)
    text = payload if isinstance(payload, str) else ""
    counts = Counter(m.group(1) for m in _DELIM_RE.finditer(text) if re.search(r"[A-Za-z0-9]", m.group(1)))
    try:
        if counts:
            token, _n = counts.most_common(1)[0]
            repaired = email.message_from_string(
                f"Content-Type: {ctype_of(part)}; boundary=\"{token}\"\n\n{text}",
                policy=compat32)
            if isinstance(payload_of(repaired), list) and payload_of(repaired):
                return repaired, "boundary-guessed"
        if _PART_HEADER_RE.match(text):
            return email.message_from_string(text.lstrip(), policy=compat32), "boundary-missing"
    except Exception:
        pass
    return None, "boundary-missing"
