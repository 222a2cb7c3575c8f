"""Raw RFC 5322 bytes → ``InboundMessage``: the email channel's pure parser.

Owns ``parse_email``: headers (RFC 2047 encoded words in any charset, raw UTF-8 of SMTPUTF8 mail),
the sender, date and ids; the MIME walk is ``mime.py`` (multipart/alternative prefers text/plain
unless it is empty, HTML-only mail becomes text, attachments described by name and size), charsets
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
import email.utils
import hashlib
import re
from collections.abc import Mapping
from email.message import Message
from typing import Any, Final

from channels.email.automated import (auto_reason, automation_of, delivery_report, message_ids,
                                      receipt_of)
from channels.email.charset import declared_charsets, decode_words
from channels.email.fastparse import parse_message
from channels.email.mime import Walk, clean, header_map, walk_part
from channels.email.parts import ctype_of, param_of
from channels.email.reply import ReplyParts, is_client_boilerplate, parse_reply
from channels.email.sender import SenderChoice, mailboxes, pick_sender
from ticketing.domain.errors import MalformedPayload
from ticketing.domain.message import (MAX_BODY_CHARS, Attachment, Channel, DeliveryReport, Ignored,
                                      InboundMessage, Sender, ThreadRef)
from ticketing.domain.threading import find_ticket_token

_FORWARD_SUBJECT_RE: Final = re.compile(r"^\s*(?:fwd?|tr|trs|teruskan|wg|rv|fw)\s*:", re.IGNORECASE)
_MAIL_HEADERS: Final = frozenset({"to", "cc", "subject", "date", "message-id", "received",
                                  "mime-version", "content-type"})
_MAX_IDS: Final = 50
_REPORTS: Final = frozenset({"bounce", "returned-copy", "feedback-report", "read-receipt"})
_MAX_ID_CHARS: Final = 490


# --- headers -------------------------------------------------------------------------------------

def _addresses(values: list[str]) -> list[tuple[str, str]]:
    return [(clean(decode_words(name)).strip(), addr) for name, addr in mailboxes(values)]


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
    msg = parse_message(data)
    hints = declared_charsets(msg) if not data.isascii() else ()  # only raw 8-bit needs them
    headers = header_map(msg, hints)
    if not headers:
        raise MalformedPayload("not an email: no header block")
    envelope_from = meta.get("mail_from")
    envelope = envelope_from.strip().strip("<>") if isinstance(envelope_from, str) else None
    name, address, sender_source, choice = _sender(headers, envelope)
    if len(address) > 320:
        raise MalformedPayload("From address is longer than 320 characters")
    sent_at, date_source = _sent_at(headers, meta)
    header_notes: list[str] = []
    subject = clean(decode_words((headers.get("subject") or [""])[0], header_notes)).strip() or None

    walk = Walk(hints=hints)
    walk_part(msg, walk, 0, False)
    full_text = clean("\n\n".join(t.strip("\n") for t in walk.texts if t.strip()))
    truncated = len(full_text) > MAX_BODY_CHARS
    full_text = full_text[:MAX_BODY_CHARS]

    in_reply_all = message_ids((headers.get("in-reply-to") or [""])[0])[:_MAX_IDS]
    references = list(reversed(message_ids(" ".join(headers.get("references", [])))))[:_MAX_IDS]
    report_type = _report_type(msg, walk)
    auto = auto_reason({k: [decode_words(v) if "=?" in v else v for v in vs]
                        for k, vs in headers.items()},
                       sender=address, envelope_from=envelope, report_type=report_type,
                       subject=subject or "", returned_ids=walk.original_ids)

    if auto in _REPORTS:  # a server's report quotes headers and text: all of it is the report
        # (but not the copy of our message it returns, which stays an attachment)
        own = clean("\n\n".join(t.strip("\n") for n, t in enumerate(walk.texts)
                                 if t.strip() and n not in walk.carried))[:MAX_BODY_CHARS]
        parts = ReplyParts(new_text=own.strip("\n"), signature="", quoted="", forwarded=False)
    else:
        parts = parse_reply(full_text,
                            forward_hint=bool(subject and _FORWARD_SUBJECT_RE.match(subject)))
    if auto in _REPORTS and not parts.new_text.strip():  # the server wrote only the report
        parts = ReplyParts(new_text=clean("\n\n".join(walk.status_text).strip())[:MAX_BODY_CHARS],
                           signature="", quoted="", forwarded=False)
    kept_signature = "\n".join(line for line in parts.signature.split("\n")
                               if not is_client_boilerplate(line)).strip()
    body = "\n\n".join(p for p in (parts.new_text, kept_signature) if p)
    extra: dict[str, Any] = {
        "full_text": full_text,
        "quoted": parts.quoted,
        "signature": parts.signature,
        "footer": parts.footer,
        "html": walk.html,
        "forwarded": parts.forwarded or walk.forwarded,
        "in_reply_to_all": in_reply_all,
        "to": [a for _n, a in _addresses(headers.get("to", []))],
        "cc": [a for _n, a in _addresses(headers.get("cc", []))],
        "reply_to": next((a for _n, a in _addresses(headers.get("reply-to", []))), None),
        "envelope_from": envelope,
        "envelope_to": _envelope_to(meta),
        "date_source": date_source,
        "defects": sorted(set(walk.defects + header_notes)),
    }
    if truncated:
        extra["truncated"] = True
    if sender_source != "from":
        extra["sender_source"] = sender_source  # the view notes it: not the citizen's own From
    if choice is not None and choice.warnings:
        # Spoofing signals for staff: a display name that is another address, several From
        # mailboxes.  The identity is still the mailbox; the view shows the warning.
        extra["sender_warnings"] = list(choice.warnings)
        if choice.claimed:
            extra["sender_claimed"] = choice.claimed
        if len(choice.all_from) > 1:
            extra["from_all"] = list(choice.all_from[:20])
    in_reply_to = in_reply_all[0] if in_reply_all else None
    report: DeliveryReport | None = None
    if auto in _REPORTS and auto != "read-receipt":
        report = delivery_report("\n".join(walk.status_text), walk.original_ids, in_reply_to,
                                 full_text)
    elif auto == "read-receipt":
        report = receipt_of("\n".join(walk.status_text), in_reply_to)
    return InboundMessage(
        channel=Channel.EMAIL,
        external_id=clean(_external_id(headers, data)),
        sent_at=sent_at,
        sender=Sender(name=clean(name, 320) or None, email=clean(address)),
        body=clean(body),
        subject=subject[:998] if subject else None,
        thread=ThreadRef(in_reply_to=clean(in_reply_to) if in_reply_to else None,
                         references=tuple(clean(r) for r in references),
                         ticket=find_ticket_token(subject)),
        automation=automation_of(auto, report_type=report_type,
                                 action=report.action if report else None,
                                 status=report.status if report else None,
                                 subject=subject or ""),
        automation_reason=auto,
        report=report,
        attachments=tuple(walk.attachments),
        extra={key: _clean_json(value) for key, value in extra.items()},
    )


def _sender(headers: dict[str, list[str]], envelope: str | None
            ) -> tuple[str, str, str, SenderChoice | None]:
    """(name, address, source, choice) of the sender: the From header's mailbox
    (``sender.pick_sender``); without one, the SMTP envelope sender (MAIL FROM, from the
    transport's meta), source "envelope".  A null reverse-path (``<>``, a bounce's) names
    nobody."""
    choice = pick_sender(headers.get("from", []), headers.get("sender", []),
                         lambda name: clean(decode_words(name)).strip())
    if choice is not None:
        return choice.name, choice.address, "from", choice
    # Only for something that is mail at all (bytes whose "headers" are none of these are not).
    fallback = _addresses([envelope]) if envelope and _MAIL_HEADERS & headers.keys() else []
    if fallback:
        return "", fallback[0][1], "envelope", None
    raise MalformedPayload("From header has no email address" if "from" in headers
                           else "no From header")


_REPORT_OF_PART: Final = {"message/delivery-status": "delivery-status",
                          "message/global-delivery-status": "delivery-status",
                          "message/feedback-report": "feedback-report",
                          "message/disposition-notification": "disposition-notification",
                          "message/global-disposition-notification": "disposition-notification"}


def _report_type(msg: Message, walk: Walk) -> str | None:
    """The report a mail is: a top-level ``multipart/report``'s ``report-type``, else the kind of
    report part found inside another multipart (OpenSMTPD sends DSNs as multipart/mixed)."""
    if ctype_of(msg) == "multipart/report":
        declared = str(param_of(msg, "report-type", "") or "").strip().lower()
        if declared:
            return declared
    for ctype in walk.report_parts:
        if ctype in _REPORT_OF_PART:
            return _REPORT_OF_PART[ctype]
    return "delivery-status" if ctype_of(msg) == "multipart/report" else None


def attachment_blobs(raw: bytes) -> list[tuple[Attachment, bytes]]:
    """Each attachment (as ``parse_email`` describes it) with its decoded bytes, for the
    attachment store.  Never raises: an unreadable message simply has none."""
    try:
        msg = parse_message(bytes(raw))
        walk = Walk(hints=declared_charsets(msg))
        walk_part(msg, walk, 0, False)
    except Exception:
        return []
    return list(zip(walk.attachments, walk.blobs, strict=True))


def _clean_json(value: Any) -> Any:
    # Header-derived strings may carry NUL, which PostgreSQL JSON cannot store.
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [_clean_json(v) for v in value]
    return value


def _envelope_to(meta: Mapping[str, Any]) -> list[str]:
    rcpts = meta.get("rcpt_tos")
    if not isinstance(rcpts, (list, tuple)):
        return []
    return [r.strip().lower() for r in rcpts if isinstance(r, str)]
