"""Outbound e-mail: builds the MIME message for an outbox delivery and hands it to the relay
(``TICKETING_OUTBOUND_SMTP_URL``).  Blocking (smtplib): the worker calls it from its thread,
never from an event loop.  Errors are translated: a 5xx for the recipient is permanent
(``RecipientRejected``), everything else temporary (``ChannelUnavailable``)."""

from __future__ import annotations

import html
import re
import smtplib
import ssl
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any, Protocol
from urllib.parse import urlsplit

from ticketing.domain.errors import ChannelUnavailable, RecipientRejected
from ticketing.services.ports import Delivery, Sender

# C0 and C1 controls (CR and LF above all), DEL and the Unicode line and paragraph separators:
# none may reach a header line.  A subject that decodes to "x\r\nBcc: ..." is the classic.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def header_text(value: object) -> str:
    """Free text from a citizen (a subject, a display name) as one clean header line: every
    control character and run of white space becomes one space."""
    return " ".join(_CONTROLS.sub(" ", str(value)).split())


def header_token(value: object) -> str:
    """An address or a Message-ID: no controls and no white space at all."""
    return "".join(_CONTROLS.sub("", str(value)).split())


def build_message(recipient: Mapping[str, Any], payload: Mapping[str, Any], *,
                  auto_submitted: str | None = None,
                  files: Callable[[str], bytes] | None = None) -> EmailMessage:
    """Every header value passes ``header_text`` or ``header_token``: subjects, names and
    Message-IDs come (or are copied) from citizens' mail, and an ``EmailMessage`` refuses a
    header with a line break, which would fail the delivery on every retry."""
    msg = EmailMessage()
    msg["From"] = header_token(payload["from"])
    msg["To"] = formataddr((header_text(recipient.get("name") or ""),
                            header_token(recipient["email"])))
    msg["Subject"] = header_text(payload.get("subject") or "")
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    if message_id := header_token(payload.get("message_id") or ""):
        msg["Message-ID"] = message_id
    if in_reply_to := header_token(payload.get("in_reply_to") or ""):
        msg["In-Reply-To"] = in_reply_to
    refs = [ref for r in payload.get("references") or [] if (ref := header_token(r or ""))]
    if refs:
        msg["References"] = " ".join(refs)
    if auto_submitted:
        msg["Auto-Submitted"] = auto_submitted  # RFC 3834: machines must not answer this
        msg["X-Auto-Response-Suppress"] = "All"
    body = str(payload.get("body") or "")
    msg.set_content(body)
    paragraphs = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>"
                         for p in body.split("\n\n"))
    msg.add_alternative(f"<!doctype html><html><body>{paragraphs}</body></html>",
                        subtype="html")
    for item in payload.get("attachments") or ():
        # A reply's files (``payload["attachments"]``: sha256, filename, content_type), read
        # from the attachment store: the message becomes multipart/mixed with one part each.
        if files is None:
            raise ChannelUnavailable("a reply with files but no attachment store to read them")
        maintype, _, subtype = str(item.get("content_type") or "").partition("/")
        try:
            data = files(str(item["sha256"]))
        except FileNotFoundError as exc:  # sending again cannot help
            raise RecipientRejected(f"attachment {item.get('filename')!r} is not in the "
                                    "attachment store") from exc
        msg.add_attachment(data, maintype=maintype or "application",
                           subtype=subtype or "octet-stream",
                           filename=header_text(item.get("filename") or "lampiran"))
    return msg


class SmtpRelay:
    """``smtp://host:port`` or ``smtps://user:password@host:465`` (``?starttls=1`` upgrades)."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"outbound SMTP URL must be smtp:// or smtps://, not {url!r}")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.tls = parts.scheme == "smtps"
        self.starttls = "starttls=1" in (parts.query or "")
        self.user, self.password = parts.username, parts.password
        self.timeout = timeout

    def send(self, message: EmailMessage) -> None:
        try:
            client: smtplib.SMTP = (
                smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                 context=ssl.create_default_context())
                if self.tls else smtplib.SMTP(self.host, self.port, timeout=self.timeout))
            with client:
                if self.starttls:
                    client.starttls(context=ssl.create_default_context())
                if self.user:
                    client.login(self.user, self.password or "")
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(500 <= c < 600 for c in codes):
                raise RecipientRejected(f"recipient refused: {codes}") from exc
            raise ChannelUnavailable(f"recipient deferred: {codes}") from exc
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise RecipientRejected(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            raise ChannelUnavailable(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelUnavailable(f"relay unreachable: {exc}") from exc


class _Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


def make_sender(url: str, *, timeout: float = 30.0, mailbox: _Transport | None = None,
                files: Callable[[str], bytes] | None = None) -> Sender:
    """The outbox worker's sender for the ``email`` channel: to the relay at ``url``, or, with
    ``url`` empty, into ``mailbox`` (the dev mailbox, ``channels.email.mailbox``).  ``files``
    reads a reply's attachments by their sha256 from the attachment store."""
    relay: _Transport
    if url:
        relay = SmtpRelay(url, timeout=timeout)
    elif mailbox is not None:
        relay = mailbox
    else:
        raise ValueError("no outbound SMTP URL and no dev mailbox")

    def send(delivery: Delivery) -> str | None:
        if not delivery.recipient.get("email"):
            raise RecipientRejected("the citizen has no e-mail address on this ticket")
        # RFC 3834: an acknowledgement answers the citizen; a staff notification (SLA
        # escalation) answers nobody.  Either way no machine should reply to it.
        auto = {"acknowledgement": "auto-replied",
                "notification": "auto-generated"}.get(delivery.kind)
        message = build_message(delivery.recipient, delivery.payload, auto_submitted=auto,
                                files=files)
        relay.send(message)
        return str(delivery.payload.get("message_id") or "") or None
    return send
