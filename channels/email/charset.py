"""Bytes and header words to text: charsets (with the fallbacks real mail needs), damaged
base64, RFC 2047 encoded words.  Pure; never raises on bad input."""

from __future__ import annotations

import binascii
import re
from typing import Final

_EW_RE: Final = re.compile(r"=\?([^?\s]{1,60})\?([bBqQ])\?([^?\s]*)\?=")
_FOLD_RE: Final = re.compile(r"\r?\n(?=[ \t])")
_B64_JUNK_RE: Final = re.compile(rb"[^A-Za-z0-9+/=]")
_LATIN: Final = frozenset({"iso-8859-1", "iso8859-1", "iso_8859-1", "latin-1", "latin1", "l1",
                           "iso-ir-100", "cp819", "ibm819", "windows-1252", "cp1252"})
_ASCII: Final = frozenset({"us-ascii", "ascii", "ansi_x3.4-1968", "us", "iso646-us"})


def decode_base64(data: bytes) -> tuple[bytes, bool]:
    """Decode what can be decoded; the flag says the input was damaged."""
    cleaned = _B64_JUNK_RE.sub(b"", data)
    damaged = len(cleaned) != len(re.sub(rb"\s", b"", data))
    out = bytearray()
    segments = [s for s in cleaned.split(b"=") if s]
    damaged = damaged or len(segments) > 1
    for segment in segments:
        usable = len(segment) - len(segment) % 4
        tail = segment[usable:]
        if len(tail) == 1:
            damaged, tail = True, b""
        chunk = segment[:usable] + (tail + b"=" * (4 - len(tail)) if tail else b"")
        try:
            out += binascii.a2b_base64(chunk)
        except binascii.Error:
            damaged = True
    return bytes(out), damaged


def decode_text(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Bytes in a declared charset → text, with the documented fallbacks; never raises.

    ISO-8859-1 and friends are read as cp1252 (what Windows senders really mean); US-ASCII with
    8-bit bytes is really UTF-8 or cp1252; an unknown charset tries UTF-8, then cp1252.
    Returns the text and a defect note (or None).
    """
    name = (charset or "").strip().strip("\"'").lower()
    if name in _LATIN:
        return data.decode("cp1252", "replace"), None
    if not name or name in _ASCII or name in ("utf-8", "utf8"):
        if data.isascii():
            return data.decode("ascii"), None
        try:
            return data.decode("utf-8"), None
        except UnicodeDecodeError:
            if name in ("utf-8", "utf8"):
                return data.decode("utf-8", "replace"), "invalid-utf-8"
            return data.decode("cp1252", "replace"), None
    try:
        return data.decode(name), None
    except LookupError:
        note = f"unknown-charset:{name[:40]}"
    except (UnicodeError, ValueError, TypeError):
        try:
            return data.decode(name, "replace"), f"invalid-{name[:40]}"
        except Exception:  # a codec without "replace" support (idna, punycode, ...)
            note = f"invalid-{name[:40]}"
    try:
        return data.decode("utf-8"), note
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace"), note


def raw_bytes(value: str) -> bytes:
    # compat32 keeps undecodable bytes as surrogate escapes: this recovers the original octets.
    return value.encode("utf-8", "surrogateescape")


def header_text(value: str) -> str:
    """An unfolded header value as text (raw 8-bit UTF-8 of SMTPUTF8 mail, else cp1252)."""
    return decode_text(raw_bytes(_FOLD_RE.sub("", value)), None)[0].replace("\r", "").replace("\n", "")


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words (any charset, adjacent words joined before decoding so that a
    character split across two words survives)."""
    out: list[str] = []
    pending: list[tuple[str, bytes]] = []
    pos = 0

    def flush() -> None:
        joined: list[tuple[str, bytes]] = []
        for cs, chunk in pending:
            if joined and joined[-1][0] == cs:
                joined[-1] = (cs, joined[-1][1] + chunk)
            else:
                joined.append((cs, chunk))
        out.extend(decode_text(chunk, cs)[0] for cs, chunk in joined)
        pending.clear()

    for match in _EW_RE.finditer(value):
        between = value[pos:match.start()]
        if not (pending and not between.strip()):
            flush()
            out.append(between)
        charset = match.group(1).split("*")[0]
        payload = match.group(3)
        if match.group(2) in "bB":
            chunk = decode_base64(payload.encode("ascii", "replace"))[0]
        else:
            chunk = binascii.a2b_qp(payload.encode("utf-8"), header=True)
        pending.append((charset.lower(), chunk))
        pos = match.end()
    flush()
    out.append(value[pos:])
    return "".join(out)
