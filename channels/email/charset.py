"""Bytes and header words to text: charsets (with the fallbacks real mail needs), damaged
base64, RFC 2047 encoded words.  Pure; never raises on bad input."""

from __future__ import annotations

import binascii
import codecs
import functools
import re
from email.message import Message
from typing import Final

_EW_RE: Final = re.compile(r"=\?([^?\s]{1,60})\?([bBqQ])\?([^?\s]*)\?=")
_FOLD_RE: Final = re.compile(r"\r?\n(?=[ \t])")
_B64_JUNK_RE: Final = re.compile(rb"[^A-Za-z0-9+/=]")
_LATIN: Final = frozenset({"iso-8859-1", "iso8859-1", "iso_8859-1", "latin-1", "latin1", "l1",
                           "iso-ir-100", "cp819", "ibm819", "windows-1252", "cp1252"})
_ASCII: Final = frozenset({"us-ascii", "ascii", "ansi_x3.4-1968", "us", "iso646-us"})


def decode_base64(data: bytes) -> tuple[bytes, bool]:
    """Decode what can be decoded; the flag says the input was damaged."""
    compact = data.translate(None, b" \t\r\n")
    if len(compact) % 4 == 0:  # the usual case: well-formed, decoded in one call
        try:
            return binascii.a2b_base64(compact, strict_mode=True), False
        except (binascii.Error, ValueError):
            pass
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


# Names real mail uses that Python does not know.
_ALIASES: Final = {"x-sjis": "cp932", "windows-31j": "cp932", "sjis-open": "cp932",
                   "sjis-win": "cp932", "x-ms-cp932": "cp932", "cp51932": "euc_jp",
                   "x-euc-jp": "euc_jp", "ks_c_5601": "cp949", "ks_c_5601-1989": "cp949",
                   "x-gbk": "gbk", "x-windows-949": "cp949", "windows-874": "cp874",
                   "x-mac-roman": "mac_roman", "unicode-1-1-utf-7": "utf-7", "utf8mb4": "utf-8",
                   "x-unicode20utf8": "utf-8", "x-user-defined": "cp1252", "cp-850": "cp850"}
# Declared (canonical codec name) → what the clients that write it really use: a superset.
_SUPERSETS: Final[dict[str, tuple[str, ...]]] = {
    "gb2312": ("gb18030",), "gbk": ("gb18030",), "hz": ("gb18030",),
    "shift_jis": ("cp932",), "shift_jis_2004": ("cp932",), "shift_jisx0213": ("cp932",),
    "euc_jp": ("euc_jis_2004", "cp932"),
    "iso2022_jp": ("iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_2004", "iso2022_jp_3"),
    "iso2022_jp_1": ("iso2022_jp_ext", "iso2022_jp_2"), "iso2022_jp_2": ("iso2022_jp_2004",),
    "euc_kr": ("cp949",), "iso2022_kr": ("cp949",), "big5": ("big5hkscs", "cp950"),
    "cp950": ("big5hkscs",), "tis-620": ("cp874",), "iso8859-11": ("cp874",),
    # Single-byte: only true supersets (cp1250 is not one of iso-8859-2, nor cp1251 of -5).
    "iso8859-9": ("cp1254",), "ascii": ("cp1252",), "latin-1": ("cp1252",),
    "cp1252": ("latin-1",),
}
# Not text: a "charset" naming one of these is unknown (never run escape decoders on mail).
_NOT_TEXT: Final = frozenset({"idna", "punycode", "undefined", "unicode_escape",
                              "raw_unicode_escape", "rot-13", "base64", "hex", "quopri",
                              "uu", "zlib", "bz2", "mbcs", "oem"})
_UTF8: Final = frozenset({"utf-8"})
_SEVEN_BIT: Final = ("iso2022", "utf-7", "utf-16", "utf-32", "hz")


@functools.lru_cache(maxsize=256)
def codec_name(charset: str | None) -> str | None:
    """The canonical Python codec of a declared MIME charset, or None when unknown."""
    name = (charset or "").strip().strip("\"'").strip().lower()
    if not name:
        return None
    name = _ALIASES.get(name, name)
    if name in _LATIN:
        name = "latin-1"
    elif name in _ASCII:
        name = "ascii"
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if info.name in _NOT_TEXT or not getattr(info, "_is_text_encoding", True):
        return None
    return "latin-1" if info.name == "iso8859-1" else info.name


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeError, ValueError, TypeError, LookupError):
        return None


def decode_text(data: bytes, charset: str | None,
                hints: tuple[str, ...] = ()) -> tuple[str, str | None]:
    """Bytes in a declared charset → text; never raises.  Returns the text and a defect note
    (or None).

    The chain: strict with the declared charset; then strict UTF-8 (mislabelled mail); then the
    superset the sending client really used (gb2312 → gb18030, shift_jis → cp932, iso-2022-jp →
    its extended forms, ks_c_5601/euc-kr → cp949, iso-8859-1/us-ascii → cp1252, ...); only then
    replacement characters, with a defect.  A single-byte charset decodes any bytes, so for those
    the declared step is the superset (cp1252 for iso-8859-1), and text that is valid UTF-8 (which
    legacy single-byte text practically never is) is read as UTF-8.  Without a declared charset
    (raw 8-bit headers, parameters): UTF-8, then the ``hints`` (charsets declared elsewhere in the
    message), then cp1252.  An unknown charset is noted and read as if undeclared.
    """
    declared = (charset or "").strip().strip("\"'").strip().lower()
    codec = codec_name(declared)
    note = f"unknown-charset:{declared[:40]}" if codec is None and declared else None
    if data.isascii() and (codec is None or not codec.startswith(_SEVEN_BIT)):
        return data.decode("ascii"), note
    if codec is None:
        chain = ("utf-8", *(c for c in map(codec_name, hints) if c), "cp1252")
        last = "cp1252"
    elif codec in _UTF8:
        chain = ("utf-8",)
        last = "utf-8"
    else:
        supersets = _SUPERSETS.get(codec, ())
        single = codec in ("latin-1", "ascii", "cp1252") or codec.startswith(("iso8859", "cp12"))
        if data.isascii():  # a 7-bit form (iso-2022-*, utf-7): UTF-8 says nothing about it
            chain = (codec, *supersets)
        else:
            chain = ("utf-8", *supersets, codec) if single else (codec, "utf-8", *supersets)
        last = supersets[0] if supersets else codec
    for step in chain:
        text = _strict(data, step)
        if text is not None:
            if codec is not None and step == "utf-8" and codec not in _UTF8 and \
                    codec not in ("ascii", "latin-1", "cp1252"):
                note = f"charset-was-utf-8:{declared[:40]}"
            return text, note
    try:
        text = data.decode(last, "replace")
    except (LookupError, ValueError, TypeError, UnicodeError):
        text = data.decode("utf-8", "replace")
    if codec in _UTF8:
        return text, "invalid-utf-8"
    return text, note or f"invalid-{(declared or last)[:40]}"


def raw_bytes(value: str) -> bytes:
    # compat32 keeps undecodable bytes as surrogate escapes: this recovers the original octets.
    return value.encode("utf-8", "surrogateescape")


def header_text(value: str, hints: tuple[str, ...] = ()) -> str:
    """An unfolded header value as text: raw 8-bit is UTF-8 (SMTPUTF8 mail), else one of the
    charsets the message declares elsewhere (``hints``), else cp1252."""
    if value.isascii():  # the usual header: nothing to decode (decode_text would return it)
        if "\n" in value or "\r" in value:
            value = _FOLD_RE.sub("", value).replace("\r", "").replace("\n", "")
        return value
    text = decode_text(raw_bytes(_FOLD_RE.sub("", value)), None, hints)[0]
    return text.replace("\r", "").replace("\n", "")


def decode_words(value: str, notes: list[str] | None = None) -> str:
    """Decode RFC 2047 encoded words (any charset, adjacent words joined before decoding so that a
    character split across two words survives), through ``decode_text``'s chain; a defect of
    each word is appended to ``notes`` when given."""
    if "=?" not in value:
        return value
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
        for cs, chunk in joined:
            text, note = decode_text(chunk, cs)
            out.append(text)
            if note and notes is not None:
                notes.append(note)
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


def declared_charsets(msg: Message) -> tuple[str, ...]:
    """Charsets a message declares anywhere (parts' ``charset`` parameters, encoded words of its
    top headers), in order, each once: the best guesses for its raw 8-bit header text."""
    found: list[str] = []
    try:
        for part in msg.walk():
            value = part.get_param("charset")
            if isinstance(value, str) and value:
                found.append(value.strip().lower())
            if len(found) > 20:
                break
    except Exception:  # a damaged tree: what was found so far
        pass
    for _name, value in msg.raw_items():
        found.extend(m.group(1).lower() for m in _EW_RE.finditer(str(value)))
    return tuple(c for c in dict.fromkeys(found) if c not in ("utf-8", "us-ascii"))[:5]
