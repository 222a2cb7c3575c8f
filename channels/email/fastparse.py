"""Raw mail bytes → the stdlib's compat32 ``Message`` tree, without reading every body line in
Python.

``email.message_from_bytes(raw, policy=compat32)`` (the stdlib's ``FeedParser``) takes each line of
the mail through a generator, a line buffer and every enclosing boundary's regular expression: for
a typical 20 KB reply with a photo that was half of ``parse_email``'s time, almost all of it on
the photo's base64 lines, which the walk then decodes in one call anyway.

``parse_message`` builds the very same tree (same ``Message`` class, headers, payload strings,
preambles, epilogues and defects) for the mail that is well formed, splitting each multipart at
its delimiter lines with string searches and leaving body text as one slice; header lines are
read by the stdlib's rules (``header_source_parse``, the same defects).  ``message/rfc822``
parts carry the message read from their body, ``message/delivery-status`` parts their field
blocks, and the line break before a delimiter is dropped from the last message created, as the
stdlib does.  Whatever it is not sure to read exactly as the stdlib would — a lone CR line end,
a header block without its blank line or with a ``From `` line, a ``multipart/digest``, a
multipart without a boundary, without its first or closing delimiter line, with two delimiter
lines in a row or reusing an enclosing boundary — is left to the stdlib parser for the whole
mail.  ``tests/channels/email/test_fastparse.py`` holds the two readings equal over the corpus,
crafted edge cases and generated mail.  Pure; raises only what the stdlib parser raises.
"""

from __future__ import annotations

import email
import re
from email import errors
from email.message import Message
from email.policy import compat32
from email.utils import collapse_rfc2231_value
from typing import Final

from channels.email.parts import ctype_of, param_of

_HEADER_LINE_RE: Final = re.compile(r"From |[\041-\071\073-\176]*:|[\t ]")  # feedparser's headerRE
# The rest of a delimiter line after ``--boundary`` (feedparser's ``boundaryre``; no lone CR here).
_DELIMITER_TAIL_RE: Final = re.compile(r"(--)?[ \t]*\r?(?=\n|\Z)")
_LONE_CR_RE: Final = re.compile(r"\r(?!\n)")  # a line end for the stdlib, not for this reader
_MAX_DEPTH: Final = 30
_MISSING: Final = object()


class _NotPlain(Exception):
    """The mail needs the stdlib parser's full treatment."""


def parse_message(raw: bytes) -> Message:
    """``email.message_from_bytes(raw, policy=compat32)``, faster on well-formed mail."""
    text = raw.decode("ascii", "surrogateescape")
    if "\r" not in text or _LONE_CR_RE.search(text) is None:
        try:
            return _part(text, 0, len(text), (), 0)[0]
        except _NotPlain:
            pass
    return email.message_from_string(text, policy=compat32)


def _headers(text: str, start: int, end: int, block: bool = False) -> tuple[Message, int]:
    """The part's header block at ``text[start:end]`` read as the stdlib's ``FeedParser`` reads it
    (same ``set_raw`` values, same defects), and where its body starts (after the blank line).
    ``block``: a delivery-status field block, which may also end at the end of its region."""
    msg = Message(policy=compat32)
    name = ""
    value: list[str] = []
    pos = start
    while True:
        if pos >= end:
            if block:
                break
            raise _NotPlain  # no blank line: the stdlib has special cases for that
        nl = text.find("\n", pos, end)
        if nl < 0:
            raise _NotPlain
        if pos == nl or (pos + 1 == nl and text[pos] == "\r"):  # the blank line
            pos = nl + 1
            break
        if text.startswith("From ", pos) or not _HEADER_LINE_RE.match(text, pos):
            raise _NotPlain  # unixfrom, misplaced envelope, or a missing blank line
        line = text[pos:nl + 1]
        pos = nl + 1
        if line[0] in " \t":  # a continuation line
            if name:
                value.append(line)
            else:
                compat32.handle_defect(msg, errors.FirstHeaderLineIsContinuationDefect(line))
            continue
        if name:
            msg.set_raw(*compat32.header_source_parse(value))
            name, value = "", []
        colon = line.find(":")
        if colon == 0:
            msg.defects.append(errors.InvalidHeaderDefect("Missing header name."))
            continue
        name, value = line[:colon], [line]
    if name:
        msg.set_raw(*compat32.header_source_parse(value))
    return msg, pos


def _strip_eol(value: str) -> str:
    if value.endswith("\r\n"):
        return value[:-2]
    return value[:-1] if value.endswith("\n") else value


def _strip_last(last: Message) -> None:
    """What the stdlib's multipart reader does after each part to the message it created last
    (the part itself, or the innermost message a ``message/*`` part carries): drop the line
    break before the delimiter."""
    if ctype_of(last).startswith("multipart/"):
        if last.epilogue == "":
            last.epilogue = None
        elif last.epilogue is not None:
            last.epilogue = _strip_eol(last.epilogue)
    elif isinstance(last._payload, str):  # type: ignore[attr-defined]
        last.set_payload(_strip_eol(last._payload))  # type: ignore[attr-defined]


def _part(text: str, start: int, end: int, outer: tuple[str, ...],
          depth: int) -> tuple[Message, Message]:
    """One part at ``text[start:end]`` (a region that holds no enclosing boundary line), and the
    last message its reading created."""
    if depth > _MAX_DEPTH:
        raise _NotPlain
    msg, body = _headers(text, start, end)
    ctype = ctype_of(msg)  # kept on the part for the walk
    maintype = ctype.split("/")[0]
    if ctype == "message/delivery-status":
        return _status_blocks(msg, text, body, end)
    if maintype == "message":  # one message inside, read to the end of the region
        inner, last = _part(text, body, end, outer, depth + 1)
        msg.set_payload([inner])
        return msg, last
    if ctype == "multipart/digest":
        raise _NotPlain  # its parts default to message/rfc822
    if maintype != "multipart":
        msg.set_payload(text[body:end])
        return msg, msg
    declared = param_of(msg, "boundary", _MISSING)  # msg.get_boundary(), its params kept
    if declared is _MISSING:
        raise _NotPlain
    boundary = collapse_rfc2231_value(declared).rstrip()
    if boundary in outer:
        raise _NotPlain
    if str(msg.get("content-transfer-encoding", "8bit")).lower() not in ("7bit", "8bit",
                                                                         "binary"):
        msg.policy.handle_defect(msg, errors.InvalidMultipartContentTransferEncodingDefect())
    delimiter = "--" + boundary
    lines: list[tuple[int, int, bool]] = []  # (start, end after its line break, closing)
    at = text.find(delimiter, body, end)
    while at >= 0:
        tail = _DELIMITER_TAIL_RE.match(text, at + len(delimiter), end) \
            if at == body or text[at - 1] == "\n" else None
        if tail is not None:
            after = tail.end() + 1 if tail.end() < end else tail.end()
            closing = tail.group(1) is not None
            if lines and lines[-1][1] == at:
                raise _NotPlain  # two delimiter lines in a row: the stdlib skips the second
            if not lines and closing:
                raise _NotPlain  # a closing line before any part
            lines.append((at, after, closing))
            if closing:
                break
        at = text.find(delimiter, at + 1, end)
    if not lines or not lines[-1][2]:
        raise _NotPlain
    if lines[0][0] > body:
        msg.preamble = _strip_eol(text[body:lines[0][0]])
    inner_outer = (*outer, boundary)
    parts: list[Message | str] = []
    for (_s, part_start, _c), (part_end, _e, _c2) in zip(lines, lines[1:]):
        part, last = _part(text, part_start, part_end, inner_outer, depth + 1)
        _strip_last(last)
        parts.append(part)
    msg.set_payload(parts)
    msg.epilogue = text[lines[-1][1]:end]
    return msg, msg


def _status_blocks(msg: Message, text: str, body: int, end: int) -> tuple[Message, Message]:
    """``message/delivery-status``: each blank-line-separated field block is a message of
    headers only (the stdlib reads it so; ``mime.py`` reads the blocks back as text)."""
    blocks: list[Message | str] = []
    pos = body
    while True:
        block, pos = _headers(text, pos, end, block=True)
        if ctype_of(block).split("/")[0] in ("message", "multipart"):
            raise _NotPlain
        block.set_payload("")
        blocks.append(block)
        if pos >= end:
            break
    msg.set_payload(blocks)
    return msg, block
