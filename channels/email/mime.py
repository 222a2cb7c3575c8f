"""The MIME walk of the e-mail parser: which parts are the citizen's text (multipart/alternative
prefers text/plain unless it is empty, HTML-only mail becomes text), which are attachments and
inline images (described by name, type and decoded size), forwarded mail and delivery reports,
with charsets and broken transfer encodings decoded as far as possible.  Pure, like
``parse.py`` which calls it."""

from __future__ import annotations

import hashlib
import io
import mimetypes
import re
from dataclasses import dataclass, field
from email.generator import BytesGenerator
from email.message import Message
from email.policy import compat32
from typing import Final

from channels.email.report import message_ids
from channels.email.charset import (decode_base64, decode_text, decode_words, header_text,
                                    raw_bytes)
from channels.email.html import html_to_text
from channels.email.mime_repair import boundary_of, guess_boundary, payload_of, regroup_reused
from channels.email.parts import ctype_of, header_of, param_of
from ticketing.domain.message import Attachment

_REPORT_PARTS: Final = frozenset({"message/delivery-status", "message/global-delivery-status",
                                  "message/disposition-notification", "text/rfc822-headers",
                                  "message/global-headers",
                                  "message/global-disposition-notification",
                                  "message/feedback-report"})
_MAX_DEPTH: Final = 40


def clean(text: str, limit: int | None = None) -> str:
    text = text.replace("\x00", "\ufffd")
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates → "?"
    return text if limit is None else text[:limit]


def header_map(msg: Message, hints: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Lower-case header names → unfolded, charset-decoded (not yet RFC 2047) values."""
    found: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        found.setdefault(str(name).strip().lower(), []).append(
            header_text(str(value), hints).strip())
    return found


@dataclass
class Walk:
    texts: list[str] = field(default_factory=list)
    html: bool = False
    attachments: list[Attachment] = field(default_factory=list)
    blobs: list[bytes] = field(default_factory=list)  # the decoded bytes of each attachment
    defects: list[str] = field(default_factory=list)
    forwarded: bool = False
    status_text: list[str] = field(default_factory=list)
    original_ids: list[str] = field(default_factory=list)
    hints: tuple[str, ...] = ()  # charsets the message declares, for raw 8-bit parameters
    report_parts: list[str] = field(default_factory=list)  # content types of report parts
    carried: list[int] = field(default_factory=list)  # indexes in texts of carried messages


def _payload_bytes(part: Message, walk: Walk) -> bytes:
    if not isinstance(payload_of(part), str):
        return b""
    cte = str(header_of(part, "content-transfer-encoding", "")).strip().lower()
    if cte == "base64":  # the stdlib's decoder gives up on damage; ours keeps what it can
        decoded, damaged = decode_base64(raw_bytes(str(payload_of(part))))
        if damaged:
            walk.defects.append("broken-base64")
        return decoded
    # decode=True gives the original octets (8-bit kept, quoted-printable decoded tolerantly);
    # decode=False would already have decoded the charset, with replacement.
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _param(part: Message, name: str, header: str = "content-type",
           hints: tuple[str, ...] = ()) -> str | None:
    value = param_of(part, name, None, header)
    if value is None:
        return None
    if isinstance(value, str) and "\ufffd" in value:
        # Raw 8-bit in the header: the stdlib has already replaced it; read the raw value with
        # the charset chain (UTF-8, the message's charsets, cp1252) and parse that instead.
        raw = next((str(v) for k, v in part.raw_items() if str(k).lower() == header), "")
        again = Message()
        again[header] = decode_text(raw_bytes(raw), None, hints)[0]
        value = again.get_param(name, None, header=header)
        if value is None:
            return None
    if isinstance(value, tuple):  # RFC 2231: (charset, language, percent-decoded text)
        charset, _lang, text = value
        try:  # the stdlib percent-decodes RFC 2231 values into latin-1 code points
            octets = str(text).encode("latin-1", "surrogateescape")
        except UnicodeEncodeError:
            octets = raw_bytes(str(text))
        return decode_text(octets, charset or "utf-8")[0]
    return decode_words(str(value))


def _filename(part: Message, hints: tuple[str, ...] = ()) -> str | None:
    declared = f"{header_of(part, 'content-disposition', '')}{header_of(part, 'content-type', '')}"
    if "name" not in declared.lower():
        return None  # the usual body part: no parameter to parse
    own = _param(part, "charset")
    hints = (own, *hints) if own else hints
    name = _param(part, "filename", "content-disposition", hints) or _param(part, "name",
                                                                          hints=hints)
    if not name:
        return None
    # Never trust a path from the sender (the attachment store uses the name).
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().strip(".") or "attachment"
    return clean(name, 255)


def _describe(part: Message, data: bytes, fallback: str = "attachment",
              hints: tuple[str, ...] = ()) -> Attachment:
    ctype = ctype_of(part)
    name = _filename(part, hints)
    if name is None:
        ext = ".eml" if ctype.startswith("message/") else (mimetypes.guess_extension(ctype) or ".bin")
        name = f"{fallback}{ext}"
    return Attachment(filename=name, content_type=clean(ctype, 255), size=len(data),
                      sha256=hashlib.sha256(data).hexdigest())


def _add_attachment(walk: Walk, part: Message, data: bytes, fallback: str) -> None:
    walk.attachments.append(_describe(part, data, fallback, walk.hints))
    walk.blobs.append(data)


class _RawHeaders(BytesGenerator):
    """Writes each header as received (the stdlib's generator refolds every header through
    ``email.header``: ~1 ms for a bounce's returned original, 30× this)."""

    def _write_headers(self, msg: Message) -> None:
        for name, value in msg.raw_items():
            self.write(f"{name}: {value.replace(chr(13), '')}\n")
        self.write("\n")


def _inner_bytes(inner: Message) -> bytes:
    out = io.BytesIO()
    try:
        _RawHeaders(out, mangle_from_=False, policy=compat32).flatten(inner)
        return out.getvalue()
    except Exception:
        pass
    try:
        return inner.as_bytes(policy=compat32)
    except Exception:  # a damaged sub-message cannot be serialised again: keep nothing of it
        return b""


def _forward_preamble(inner: Message) -> str:
    headers = header_map(inner)
    lines = ["---------- Forwarded message ---------"]
    for name in ("from", "date", "subject", "to"):
        if headers.get(name):
            lines.append(f"{name.capitalize()}: {decode_words(headers[name][0])}")
    return "\n".join(lines) + "\n"


def walk_part(part: Message, walk: Walk, depth: int, in_report: bool,
              boundaries: tuple[str, ...] = ()) -> None:
    if depth > _MAX_DEPTH:
        walk.defects.append("mime-too-deep")
        return
    ctype = ctype_of(part)
    maintype, _slash, subtype = ctype.partition("/")
    payload = payload_of(part)
    if maintype == "multipart" and not isinstance(payload, list):
        repaired, defect = guess_boundary(part)  # the declared boundary never occurs
        walk.defects.append(defect)
        if repaired is not None:
            walk_part(repaired, walk, depth + 1, in_report, boundaries)
            return
    if maintype == "multipart" and isinstance(payload, list):
        subparts = [p for p in payload if isinstance(p, Message)]
        boundary = boundary_of(part)
        regrouped = regroup_reused(part, subparts)
        if regrouped is not None:
            walk.defects.append("boundary-reused")
            subparts = regrouped
        inner = (*boundaries, boundary) if boundary else boundaries
        if subtype == "alternative":
            _alternative(subparts, walk, depth, inner)
            return
        if subtype == "related" and subparts:
            _related(part, subparts, walk, depth, inner)
            return
        report = in_report or subtype == "report"
        for sub in subparts:
            walk_part(sub, walk, depth + 1, report, inner)
        return
    if ctype in _REPORT_PARTS:
        text = _report_text(part, walk)
        walk.report_parts.append(ctype)
        if ctype != "message/feedback-report":
            walk.status_text.append(text)
        if "headers" in ctype:
            walk.original_ids.extend(message_ids(_first_line_value(text, "message-id")))
        return
    if maintype == "message" and isinstance(payload, list) and payload \
            and isinstance(payload[0], Message):
        _message_part(part, payload[0], walk, depth, in_report)
        return
    data = _payload_bytes(part, walk)
    disposition = str(header_of(part, "content-disposition", "")).split(";")[0].strip().lower()
    is_body = (ctype in ("text/plain", "text/html") or maintype == "multipart") and \
        disposition != "attachment" and _filename(part, walk.hints) is None
    if not is_body:
        _add_attachment(walk, part, data, "image" if maintype == "image" else "attachment")
        return
    text, note = decode_text(data, _param(part, "charset"), walk.hints)
    if note:
        walk.defects.append(note)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if ctype == "text/html":
        text = html_to_text(text)
        walk.html = True
    walk.texts.append(text)


def _message_part(part: Message, inner: Message, walk: Walk, depth: int,
                  in_report: bool) -> None:
    _add_attachment(walk, part, _inner_bytes(inner), "original" if in_report else "forwarded")
    # A returned original, or (in a bounce that is not a proper DSN) the forwarded copy.
    walk.original_ids.extend(message_ids((header_map(inner).get("message-id") or [""])[0]))
    if in_report:
        return
    nested = Walk(hints=walk.hints)
    walk_part(inner, nested, depth + 1, False)
    walk.carried.append(len(walk.texts))
    walk.texts.append(_forward_preamble(inner) + "\n" + "\n\n".join(nested.texts))
    walk.html = walk.html or nested.html
    walk.attachments.extend(nested.attachments)
    walk.blobs.extend(nested.blobs)
    walk.defects.extend(nested.defects)
    walk.forwarded = True


def _merge_aside(walk: Walk, one: Walk) -> None:
    """Keep everything of a walked part except its text."""
    walk.attachments.extend(one.attachments)
    walk.blobs.extend(one.blobs)
    walk.defects.extend(one.defects)
    walk.status_text.extend(one.status_text)
    walk.original_ids.extend(one.original_ids)
    walk.report_parts.extend(one.report_parts)


def _alternative(subparts: list[Message], walk: Walk, depth: int,
                 boundaries: tuple[str, ...]) -> None:
    """RFC 2046 §5.1.4: same content, several forms; take text/plain unless it is empty."""
    tried: list[Walk] = []
    # A plain HTML leaf is converted only when no other form has text (converting it is the
    # costliest step of a typical mail); it carries no attachments, so nothing is lost.
    html_leaves = [sub for sub in subparts if ctype_of(sub) == "text/html"
                   and not isinstance(payload_of(sub), list)]
    for sub in subparts:
        if sub in html_leaves:
            continue
        one = Walk(hints=walk.hints)
        walk_part(sub, one, depth + 1, False, boundaries)
        tried.append(one)
    if html_leaves and not any("".join(w.texts).strip() and not w.html for w in tried):
        for sub in html_leaves:
            one = Walk(hints=walk.hints)
            walk_part(sub, one, depth + 1, False, boundaries)
            tried.append(one)
    with_text = [w for w in tried if "".join(w.texts).strip()]
    plain = [w for w in with_text if not w.html]
    chosen = (plain or with_text or tried or [Walk()])[0]
    walk.texts.extend(chosen.texts)
    walk.html = walk.html or chosen.html
    walk.forwarded = walk.forwarded or chosen.forwarded
    for one in tried:
        _merge_aside(walk, one)


def _content_id(part: Message) -> str:
    return str(part.get("content-id", "")).strip().strip("<>").strip()


def _related(part: Message, subparts: list[Message], walk: Walk, depth: int,
             boundaries: tuple[str, ...]) -> None:
    """RFC 2387: the root (named by ``start``, else the first part) is the body; the other parts
    (inline images, style sheets) are what it refers to: attachments, never text."""
    start = str(param_of(part, "start", "") or "").strip().strip("<>").strip()
    root = subparts[0]
    if start:
        named = [sub for sub in subparts if _content_id(sub) == start]
        if named:
            root = named[0]
        else:
            walk.defects.append("related-start-not-found")
    walk_part(root, walk, depth + 1, False, boundaries)
    for sub in subparts:
        if sub is root:
            continue
        if ctype_of(sub).split("/")[0] in ("multipart", "message"):
            aside = Walk(hints=walk.hints)
            walk_part(sub, aside, depth + 1, False, boundaries)
            _merge_aside(walk, aside)
        else:
            maintype = ctype_of(sub).split("/")[0]
            _add_attachment(walk, sub, _payload_bytes(sub, walk),
                            "image" if maintype == "image" else "attachment")


def _report_text(part: Message, walk: Walk) -> str:
    payload = payload_of(part)
    if isinstance(payload, list):  # compat32 parses delivery-status into header blocks
        blocks = ["\n".join(f"{k}: {header_text(str(v))}" for k, v in block.raw_items())
                  for block in payload if isinstance(block, Message)]
        return "\n\n".join(blocks)
    return decode_text(_payload_bytes(part, walk), _param(part, "charset"))[0]


def _first_line_value(text: str, name: str) -> str:
    found = re.search(rf"^{name}\s*:\s*(.*)$", text, re.IGNORECASE | re.MULTILINE)
    return found.group(1) if found else ""

