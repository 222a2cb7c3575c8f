"""Raw RFC 5322 bytes → ``InboundMessage``: the email channel's pure parser.

Owns ``parse_email``: headers (RFC 2047 encoded words in any charset, raw UTF-8 of SMTPUTF8 mail),
the MIME walk (multipart/alternative prefers text/plain unless it is empty, HTML-only mail becomes
text, attachments and inline images are described by name, type and decoded size), charsets
decoded here rather than by the stdlib (which raises ``LookupError`` on unknown ones), broken
base64/quoted-printable decoded as far as possible, reply/quote/signature separation
(``reply.py``) and automated-mail recognition (``automated.py``).

It must not touch the database, the clock, the network or the filesystem: the raw bytes stay in
the inbox, so a parser fix can be replayed.  The only exception it raises is ``MalformedPayload``
(not an email at all, empty input, no From address and no envelope sender, no usable date).  It
never returns ``Ignored`` today: even a read receipt or a bounce carries something to keep
(``automation`` says why it must never be answered; ``report`` which of our messages a bounce or
receipt is about).
"""

from __future__ import annotations

import datetime as dt
import email
import email.utils
import hashlib
import mimetypes
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from email.policy import compat32
from typing import Any, Final

from channels.email.automated import (auto_reason, automation_of, delivery_report, message_ids,
                                      receipt_of)
from channels.email.charset import (decode_base64, decode_text, decode_words, header_text,
                                    raw_bytes)
from channels.email.html import html_to_text
from channels.email.reply import is_client_boilerplate, parse_reply
from ticketing.domain.errors import MalformedPayload
from ticketing.domain.message import (MAX_BODY_CHARS, Attachment, Channel, DeliveryReport, Ignored,
                                      InboundMessage, Sender, ThreadRef)
from ticketing.domain.threading import find_ticket_token

_ADDR_RE: Final = re.compile(r"[^\s<>\"(),;:\[\]]+@[^\s<>\"(),;:\[\]]+")
_FORWARD_SUBJECT_RE: Final = re.compile(r"^\s*(?:fwd?|tr|trs|teruskan|wg|rv|fw)\s*:", re.IGNORECASE)
_REPORT_PARTS: Final = frozenset({"message/delivery-status", "message/global-delivery-status",
                                  "message/disposition-notification", "text/rfc822-headers",
                                  "message/global-headers",
                                  "message/global-disposition-notification"})
_MAIL_HEADERS: Final = frozenset({"to", "cc", "subject", "date", "message-id", "received",
                                  "mime-version", "content-type"})
_MAX_DEPTH: Final = 40
_MAX_IDS: Final = 50
_MAX_ID_CHARS: Final = 490


def _clean(text: str, limit: int | None = None) -> str:
    text = text.replace("\x00", "\ufffd")
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates → "?"
    return text if limit is None else text[:limit]


# --- headers -------------------------------------------------------------------------------------

def _headers(msg: Message) -> dict[str, list[str]]:
    """Lower-case header names → unfolded, charset-decoded (not yet RFC 2047) values."""
    found: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        found.setdefault(str(name).strip().lower(), []).append(header_text(str(value)).strip())
    return found


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for value in values:
        try:
            parsed = email.utils.getaddresses([value])
        except (ValueError, TypeError, IndexError):
            parsed = []
        good = [(name, addr) for name, addr in parsed if "@" in addr]
        if not good:
            good = [("", addr) for addr in _ADDR_RE.findall(value)]
        pairs.extend((_clean(decode_words(name)).strip(), addr.strip().lower()) for name, addr in good)
    return pairs


def _parse_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": RFC 5322 says UTC with no information about the local zone
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)


def _received_at(meta: Mapping[str, Any]) -> dt.datetime | None:
    value = meta.get("received_at")
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _sent_at(headers: dict[str, list[str]], meta: Mapping[str, Any]) -> tuple[dt.datetime, str]:
    """Date header; else (missing, garbage, before 1980 or over a day after receipt) the
    listener's ``received_at``; else the newest ``Received:`` stamp."""
    received = _received_at(meta)
    stated = _parse_date(next(iter(headers.get("date", [])), None))
    if stated is not None and stated.year >= 1980 and (
            received is None or stated <= received + dt.timedelta(days=1)):
        return stated, "date"
    if received is not None:
        return received, "received_at"
    for stamp in headers.get("received", []):
        when = _parse_date(stamp.rpartition(";")[2].strip())
        if when is not None:
            return when, "received-header"
    raise MalformedPayload("no usable date: Date header missing or invalid and no received_at")


def _external_id(headers: dict[str, list[str]], raw: bytes) -> str:
    value = (headers.get("message-id") or [""])[0]
    ids = message_ids(value)
    if ids:
        return ids[0]
    bare = value.strip().strip("<>").strip()
    if bare and " " not in bare and len(bare) <= _MAX_ID_CHARS:
        return f"<{bare}>"
    return f"<{hashlib.sha256(raw).hexdigest()}@missing-message-id>"


# --- MIME walk -------------------------------------------------------------------------------------

@dataclass
class _Walk:
    texts: list[str] = field(default_factory=list)
    html: bool = False
    attachments: list[Attachment] = field(default_factory=list)
    blobs: list[bytes] = field(default_factory=list)  # the decoded bytes of each attachment
    defects: list[str] = field(default_factory=list)
    forwarded: bool = False
    status_text: list[str] = field(default_factory=list)
    original_ids: list[str] = field(default_factory=list)


def _payload_bytes(part: Message, walk: _Walk) -> bytes:
    if not isinstance(part.get_payload(), str):
        return b""
    cte = str(part.get("content-transfer-encoding", "")).strip().lower()
    if cte == "base64":  # the stdlib's decoder gives up on damage; ours keeps what it can
        decoded, damaged = decode_base64(raw_bytes(str(part.get_payload())))
        if damaged:
            walk.defects.append("broken-base64")
        return decoded
    # decode=True gives the original octets (8-bit kept, quoted-printable decoded tolerantly);
    # decode=False would already have decoded the charset, with replacement.
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _param(part: Message, name: str, header: str = "content-type") -> str | None:
    value = part.get_param(name, None, header=header)
    if value is None:
        return None
    if isinstance(value, tuple):  # RFC 2231: (charset, language, percent-decoded text)
        charset, _lang, text = value
        try:  # the stdlib percent-decodes RFC 2231 values into latin-1 code points
            octets = str(text).encode("latin-1", "surrogateescape")
        except UnicodeEncodeError:
            octets = raw_bytes(str(text))
        return decode_text(octets, charset or "utf-8")[0]
    return decode_words(decode_text(raw_bytes(str(value)), None)[0])


def _filename(part: Message) -> str | None:
    name = _param(part, "filename", "content-disposition") or _param(part, "name")
    if not name:
        return None
    # Never trust a path from the sender (the attachment store uses the name).
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().strip(".") or "attachment"
    return _clean(name, 255)


def _describe(part: Message, data: bytes, fallback: str = "attachment") -> Attachment:
    ctype = part.get_content_type()
    name = _filename(part)
    if name is None:
        ext = ".eml" if ctype.startswith("message/") else (mimetypes.guess_extension(ctype) or ".bin")
        name = f"{fallback}{ext}"
    return Attachment(filename=name, content_type=_clean(ctype, 255), size=len(data),
                      sha256=hashlib.sha256(data).hexdigest())


def _add_attachment(walk: _Walk, part: Message, data: bytes, fallback: str) -> None:
    walk.attachments.append(_describe(part, data, fallback))
    walk.blobs.append(data)


def _inner_bytes(inner: Message) -> bytes:
    try:
        return inner.as_bytes(policy=compat32)
    except Exception:  # a damaged sub-message cannot be serialised again: keep nothing of it
        return b""


def _forward_preamble(inner: Message) -> str:
    headers = _headers(inner)
    lines = ["---------- Forwarded message ---------"]
    for name in ("from", "date", "subject", "to"):
        if headers.get(name):
            lines.append(f"{name.capitalize()}: {decode_words(headers[name][0])}")
    return "\n".join(lines) + "\n"


def _walk(part: Message, walk: _Walk, depth: int, in_report: bool) -> None:
    if depth > _MAX_DEPTH:
        walk.defects.append("mime-too-deep")
        return
    ctype = part.get_content_type()
    maintype = part.get_content_maintype()
    payload = part.get_payload()
    if maintype == "multipart" and isinstance(payload, list):
        subparts = [p for p in payload if isinstance(p, Message)]
        if part.get_content_subtype() == "alternative":
            _alternative(subparts, walk, depth)
            return
        report = in_report or part.get_content_subtype() == "report"
        for sub in subparts:
            _walk(sub, walk, depth + 1, report)
        return
    if ctype in _REPORT_PARTS:
        text = _report_text(part, walk)
        walk.status_text.append(text)
        if "headers" in ctype:
            walk.original_ids.extend(message_ids(_first_line_value(text, "message-id")))
        return
    if maintype == "message" and isinstance(payload, list) and payload \
            and isinstance(payload[0], Message):
        inner: Message = payload[0]
        _add_attachment(walk, part, _inner_bytes(inner), "original" if in_report else "forwarded")
        # A returned original, or (in a bounce that is not a proper DSN) the forwarded copy.
        walk.original_ids.extend(message_ids((_headers(inner).get("message-id") or [""])[0]))
        if in_report:
            return
        nested = _Walk()
        _walk(inner, nested, depth + 1, False)
        walk.texts.append(_forward_preamble(inner) + "\n" + "\n\n".join(nested.texts))
        walk.html = walk.html or nested.html
        walk.attachments.extend(nested.attachments)
        walk.blobs.extend(nested.blobs)
        walk.defects.extend(nested.defects)
        walk.forwarded = True
        return
    data = _payload_bytes(part, walk)
    disposition = str(part.get("content-disposition", "")).split(";")[0].strip().lower()
    is_body = (ctype in ("text/plain", "text/html") or maintype == "multipart") and \
        disposition != "attachment" and _filename(part) is None
    if not is_body:
        _add_attachment(walk, part, data, "image" if maintype == "image" else "attachment")
        return
    text, note = decode_text(data, _param(part, "charset"))
    if note:
        walk.defects.append(note)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if ctype == "text/html":
        text = html_to_text(text)
        walk.html = True
    walk.texts.append(text)


def _alternative(subparts: list[Message], walk: _Walk, depth: int) -> None:
    """RFC 2046 §5.1.4: same content, several forms; take text/plain unless it is empty."""
    tried: list[_Walk] = []
    for sub in subparts:
        one = _Walk()
        _walk(sub, one, depth + 1, False)
        tried.append(one)
    with_text = [w for w in tried if "".join(w.texts).strip()]
    plain = [w for w in with_text if not w.html]
    chosen = (plain or with_text or tried or [_Walk()])[0]
    walk.texts.extend(chosen.texts)
    walk.html = walk.html or chosen.html
    walk.forwarded = walk.forwarded or chosen.forwarded
    for one in tried:
        walk.attachments.extend(one.attachments)
        walk.blobs.extend(one.blobs)
        walk.defects.extend(one.defects)
        walk.status_text.extend(one.status_text)
        walk.original_ids.extend(one.original_ids)


def _report_text(part: Message, walk: _Walk) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):  # compat32 parses delivery-status into header blocks
        blocks = ["\n".join(f"{k}: {header_text(str(v))}" for k, v in block.raw_items())
                  for block in payload if isinstance(block, Message)]
        return "\n\n".join(blocks)
    return decode_text(_payload_bytes(part, walk), _param(part, "charset"))[0]


def _first_line_value(text: str, name: str) -> str:
    found = re.search(rf"^{name}\s*:\s*(.*)$", text, re.IGNORECASE | re.MULTILINE)
    return found.group(1) if found else ""


# --- the parser ----------------------------------------------------------------------------------

def parse_email(raw: bytes, meta: Mapping[str, Any]) -> InboundMessage | Ignored:
    """Parse one raw email (``meta``: ``received_at`` ISO string, ``mail_from``, ``rcpt_tos``).

    Raises ``MalformedPayload`` (and nothing else) when the bytes are not a usable email.
    """
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise MalformedPayload("an email must be bytes")
    data = bytes(raw)
    if not data.strip():
        raise MalformedPayload("empty message")
    try:
        return _parse(data, meta)
    except MalformedPayload:
        raise
    except Exception as exc:  # a parser bug must quarantine one message, not stop the worker
        raise MalformedPayload(f"unparseable email ({type(exc).__name__}: {str(exc)[:120]})") from exc


def _parse(data: bytes, meta: Mapping[str, Any]) -> InboundMessage:
    msg = email.message_from_bytes(data, policy=compat32)
    headers = _headers(msg)
    if not headers:
        raise MalformedPayload("not an email: no header block")
    envelope_from = meta.get("mail_from")
    envelope = envelope_from.strip().strip("<>") if isinstance(envelope_from, str) else None
    name, address, sender_source = _sender(headers, envelope)
    if len(address) > 320:
        raise MalformedPayload("From address is longer than 320 characters")
    sent_at, date_source = _sent_at(headers, meta)
    subject = _clean(decode_words((headers.get("subject") or [""])[0])).strip() or None

    walk = _Walk()
    _walk(msg, walk, 0, False)
    full_text = _clean("\n\n".join(t.strip("\n") for t in walk.texts if t.strip()))
    truncated = len(full_text) > MAX_BODY_CHARS
    full_text = full_text[:MAX_BODY_CHARS]

    parts = parse_reply(full_text, forward_hint=bool(subject and _FORWARD_SUBJECT_RE.match(subject)))
    kept_signature = "\n".join(line for line in parts.signature.split("\n")
                               if not is_client_boilerplate(line)).strip()
    body = "\n\n".join(p for p in (parts.new_text, kept_signature) if p)

    in_reply_all = message_ids((headers.get("in-reply-to") or [""])[0])[:_MAX_IDS]
    references = list(reversed(message_ids(" ".join(headers.get("references", [])))))[:_MAX_IDS]
    report_type = None
    if msg.get_content_type() == "multipart/report":
        report_type = str(msg.get_param("report-type", "") or "").lower() or "delivery-status"
    auto = auto_reason({k: [decode_words(v) for v in vs] for k, vs in headers.items()},
                       sender=address, envelope_from=envelope, report_type=report_type,
                       subject=subject or "")
    extra: dict[str, Any] = {
        "full_text": full_text,
        "quoted": parts.quoted,
        "signature": parts.signature,
        "html": walk.html,
        "forwarded": parts.forwarded or walk.forwarded,
        "in_reply_to_all": in_reply_all,
        "to": [a for _n, a in _addresses(headers.get("to", []))],
        "cc": [a for _n, a in _addresses(headers.get("cc", []))],
        "reply_to": next((a for _n, a in _addresses(headers.get("reply-to", []))), None),
        "envelope_from": envelope,
        "envelope_to": _envelope_to(meta),
        "date_source": date_source,
        "defects": sorted(set(walk.defects)),
    }
    if truncated:
        extra["truncated"] = True
    if sender_source != "from":
        extra["sender_source"] = sender_source  # the view notes it: not the citizen's own From
    in_reply_to = in_reply_all[0] if in_reply_all else None
    report: DeliveryReport | None = None
    if auto == "bounce":
        report = delivery_report("\n".join(walk.status_text), walk.original_ids, in_reply_to,
                                 full_text)
    elif auto == "read-receipt":
        report = receipt_of("\n".join(walk.status_text), in_reply_to)
    return InboundMessage(
        channel=Channel.EMAIL,
        external_id=_clean(_external_id(headers, data)),
        sent_at=sent_at,
        sender=Sender(name=_clean(name, 320) or None, email=_clean(address)),
        body=_clean(body),
        subject=subject[:998] if subject else None,
        thread=ThreadRef(in_reply_to=_clean(in_reply_to) if in_reply_to else None,
                         references=tuple(_clean(r) for r in references),
                         ticket=find_ticket_token(subject)),
        automation=automation_of(auto, report_type=report_type,
                                 action=report.action if report else None),
        automation_reason=auto,
        report=report,
        attachments=tuple(walk.attachments),
        extra={key: _clean_json(value) for key, value in extra.items()},
    )


def _sender(headers: dict[str, list[str]], envelope: str | None) -> tuple[str, str, str]:
    """(name, address, source) of the sender: the From header's first address; without one, the
    SMTP envelope sender (MAIL FROM, from the transport's meta), source "envelope".  A null
    reverse-path (``<>``, a bounce's) names nobody."""
    senders = _addresses(headers.get("from", []))
    if senders:
        return senders[0][0], senders[0][1], "from"
    # Only for something that is mail at all (bytes whose "headers" are none of these are not).
    fallback = _addresses([envelope]) if envelope and _MAIL_HEADERS & headers.keys() else []
    if fallback:
        return "", fallback[0][1], "envelope"
    raise MalformedPayload("From header has no email address" if "from" in headers
                           else "no From header")


def attachment_blobs(raw: bytes) -> list[tuple[Attachment, bytes]]:
    """Each attachment (as ``parse_email`` describes it) with its decoded bytes, for the
    attachment store.  Never raises: an unreadable message simply has none."""
    try:
        walk = _Walk()
        _walk(email.message_from_bytes(bytes(raw), policy=compat32), walk, 0, False)
    except Exception:
        return []
    return list(zip(walk.attachments, walk.blobs, strict=True))


def _clean_json(value: Any) -> Any:
    # Header-derived strings may carry NUL, which PostgreSQL JSON cannot store.
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, list):
        return [_clean_json(v) for v in value]
    return value


def _envelope_to(meta: Mapping[str, Any]) -> list[str]:
    rcpts = meta.get("rcpt_tos")
    if not isinstance(rcpts, (list, tuple)):
        return []
    return [r.strip().lower() for r in rcpts if isinstance(r, str)]
