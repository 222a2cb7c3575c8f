"""Who a mail is from: RFC 5322 address lists read the way the mailbox, not the display name,
decides.

Owns ``mailboxes`` (an address-list header value → ``(display name, address)`` pairs) and
``pick_sender`` (the one mailbox the message is from, with the signals staff should see).  The
stdlib's ``getaddresses`` is not used: it reads ``alice@example.com <bob@example.com>`` as two
mailboxes and ``<@example.com>`` as an empty address.  Here:

* the address in angle brackets is the mailbox; everything before it is the display name (quotes
  and comments removed, RFC 2047 words decoded by the caller);
* a display name that is itself a *different* address is kept as the name and reported as a
  spoofing signal (``display-name-address``): mail clients show the name, so it is how a
  sender pretends to be someone else;
* several mailboxes (``From: a@x, b@y``, allowed by RFC 5322 with a ``Sender:``) — the
  ``Sender:`` mailbox when it is one of them, else the first; all are reported;
* an address without a local part or without a domain (``@example.com``, ``budi@``) is never a
  mailbox, so it can never become anyone's identity.

Pure; never raises.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

_ADDR_IN_TEXT_RE: Final = re.compile(r"[^\s<>\"(),;:\[\]@]+@[^\s<>\"(),;:\[\]@]+\.[^\s<>\"(),;:\[\]@]+")
_VALID_RE: Final = re.compile(r"^[^\s@<>(),;:\"\[\]\\]+@(?:[^\s@<>(),;:\"\[\]\\]+|\[[0-9A-Fa-f:.]+\])$")
_ROUTE_RE: Final = re.compile(r"^(?:@[^:,]*,?)+:")
_MAX_MAILBOXES: Final = 100
_PLAIN_ITEM_RE: Final = re.compile(r"(?:<[^<>]*>?|[^,;<])+")


@dataclass(frozen=True, slots=True)
class SenderChoice:
    name: str
    address: str
    warnings: tuple[str, ...] = ()
    # The address a display name claims (``display-name-address``) and every From mailbox.
    claimed: str | None = None
    all_from: tuple[str, ...] = field(default_factory=tuple)


def _split_list(value: str) -> list[str]:
    """Split an address list on commas outside quotes, comments and angle brackets."""
    if '"' not in value and "(" not in value and "\\" not in value:
        return _PLAIN_ITEM_RE.findall(value) or [""]  # the usual case: no character walk
    items: list[str] = []
    buf: list[str] = []
    quoted = escaped = False
    depth = angle = 0
    for ch in value:
        if escaped:
            buf.append(ch)
            escaped = False
            continue
        if ch == "\\" and (quoted or depth):
            escaped = True
            buf.append(ch)
            continue
        if ch == '"' and not depth:
            quoted = not quoted
        elif not quoted:
            if ch == "(":
                depth += 1
            elif ch == ")" and depth:
                depth -= 1
            elif ch == "<" and not depth:
                angle += 1
            elif ch == ">" and not depth and angle:
                angle -= 1
            elif ch in ",;" and not depth and not angle:
                items.append("".join(buf))
                buf = []
                continue
        buf.append(ch)
    items.append("".join(buf))
    return items


def _strip_comments(text: str) -> tuple[str, str]:
    """(text without (comments) outside quotes, the comments' text)."""
    if "(" not in text:
        return text, ""
    out: list[str] = []
    comments: list[str] = []
    quoted = escaped = False
    depth = 0
    for ch in text:
        if escaped:
            (comments if depth else out).append(ch)
            escaped = False
        elif ch == "\\" and (quoted or depth):
            escaped = True
        elif ch == '"' and not depth:
            quoted = not quoted
            out.append(ch)
        elif ch == "(" and not quoted:
            depth += 1
            if depth > 1:
                comments.append(ch)
        elif ch == ")" and depth and not quoted:
            depth -= 1
            if depth:
                comments.append(ch)
        else:
            (comments if depth else out).append(ch)
    return "".join(out), " ".join("".join(comments).split())


def _mask_quotes(text: str) -> str:
    """``text`` with the characters inside quotes replaced (same length), so that brackets in a
    quoted display name are not taken for an address."""
    if '"' not in text:
        return text
    out: list[str] = []
    quoted = escaped = False
    for ch in text:
        if escaped:
            out.append("x")
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
            out.append("x")
        elif ch == '"':
            quoted = not quoted
            out.append(ch)
        else:
            out.append("x" if quoted else ch)
    return "".join(out)


def _unquote(name: str) -> str:
    name = name.strip()
    if len(name) >= 2 and name[0] == '"' and name[-1] == '"':
        name = name[1:-1]
    return " ".join(name.replace('\\"', '"').replace("\\\\", "\\").replace('"', "").split())


def _normal(address: str) -> str | None:
    address = _ROUTE_RE.sub("", address.strip().strip("<>").strip())
    address = address.strip().strip(".").lower()
    if '"' in address:  # a quoted local part: "john doe"@x — keep it only when simple
        address = address.replace('"', "")
    return address if _VALID_RE.match(address) and len(address) <= 320 else None


def mailbox(item: str) -> tuple[str, str | None, bool]:
    """One mailbox: (display name, address or None, ambiguous).  ``ambiguous``: more than one
    angle-bracket address in one mailbox (``"A" <a@x> <b@y>``)."""
    text, comment = _strip_comments(item)
    if ":" in text and "<" not in text.split(":", 1)[0] and '"' not in text.split(":", 1)[0]:
        text = text.split(":", 1)[1]  # a group's label ("Warga: a@x, b@y;")
    masked = _mask_quotes(text)
    spans = [m.span(1) for m in re.finditer(r"<([^<>]*)>", masked)]
    angles = [text[a:b] for a, b in spans]
    if angles:
        name = text[:spans[0][0] - 1]
        address = _normal(angles[-1])
        if address is None:  # "<@x.id>", "<>": maybe an earlier bracket holds a real one
            address = next((a for a in map(_normal, reversed(angles)) if a), None)
        return _unquote(name) or comment, address, len(angles) > 1
    address = _normal(text)
    if address is None:  # bare text: the addresses inside it ("a@x b@y", no comma)
        found = [a for a in map(_normal, _ADDR_IN_TEXT_RE.findall(text)) if a]
        return comment, (found[0] if found else None), len(found) > 1
    return comment, address, False


def mailboxes(values: list[str]) -> list[tuple[str, str]]:
    """(display name, address) of every valid mailbox in these header values; the name is still
    RFC 2047-encoded (the caller decodes it)."""
    found: list[tuple[str, str]] = []
    for value in values:
        for item in _split_list(value)[:_MAX_MAILBOXES]:
            name, address, _amb = mailbox(item)
            if address:
                found.append((name, address))
    return found


def pick_sender(from_values: list[str], sender_values: list[str],
                decode: Callable[[str], str] | None = None) -> SenderChoice | None:
    """The mailbox a message is from (None when the From header has no valid one)."""
    warnings: list[str] = []
    pairs: list[tuple[str, str]] = []
    for value in from_values:
        for item in _split_list(value)[:_MAX_MAILBOXES]:
            name, address, ambiguous = mailbox(item)
            if address:
                pairs.append((name, address))
                if ambiguous:
                    warnings.append("several-addresses-in-one-mailbox")
            elif "@" in item:
                warnings.append("invalid-address")
    if not pairs:
        return None
    chosen = pairs[0]
    if len(pairs) > 1:
        warnings.append("several-from-mailboxes")
        declared = mailboxes(sender_values)
        if declared:
            chosen = next((p for p in pairs if p[1] == declared[0][1]), chosen)
    name, address = chosen
    decoded = decode(name) if decode is not None else name
    claimed = None
    in_name = [a.lower().strip(".") for a in _ADDR_IN_TEXT_RE.findall(decoded)]
    if any(a != address for a in in_name):
        claimed = next(a for a in in_name if a != address)
        warnings.insert(0, "display-name-address")
    return SenderChoice(name=decoded, address=address,
                        warnings=tuple(dict.fromkeys(warnings)), claimed=claimed,
                        all_from=tuple(dict.fromkeys(a for _n, a in pairs)))
