"""The adapters-to-core contract: the normalized inbound message.

Owns the frozen dataclasses every channel produces and the one checker that turns untrusted JSON
(a dict) into them.  It must not touch the database, the clock or the network: a channel's parser
calls ``parse_normalized`` (or builds ``InboundMessage`` itself) and the core only ever sees these
types.  What the core acts on is typed and channel-neutral (``automation``, ``thread``,
``report``); ``extra`` carries channel data the core never reads.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ticketing.domain.errors import MalformedPayload
from ticketing.domain.threading import find_ticket_token

MAX_BODY_CHARS = 1_000_000
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_FIELD_CHARS = 2_000


class Channel(StrEnum):
    EMAIL = "email"
    TELEGRAM = "telegram"
    INSTAGRAM = "instagram"
    PHONE = "phone"
    WEBCHAT = "webchat"
    API = "api"


@dataclass(frozen=True, slots=True, kw_only=True)
class Sender:
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    telegram_id: str | None = None
    instagram_id: str | None = None
    instagram_username: str | None = None
    webchat_id: str | None = None  # the web chat session's public id (set by that channel only)
    # Fields the citizen typed and the channel did not prove (the web chat's pre-chat e-mail and
    # phone): their identifiers are claims, like one written in the body, never the sender's.
    unverified: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    sha256: str | None = None  # of the decoded bytes, when the channel had them
    # The channel only referenced the bytes (a Telegram file id, a CDN address): the worker
    # fetches them after ingest (``services.fetching``) with the channel's ``Fetcher``.
    locator: str | None = None
    # The fetched bytes are the message's own text (UTF-8), which the provider gives only on
    # request (an Instagram mention): once fetched they become the message's body.
    as_body: bool = False


class Automation(StrEnum):
    """What kind of machine wrote a message.  Anything but ``NONE`` is stored and shown but never
    answered, never opens or reopens a ticket and never links an identity (mail loops)."""

    NONE = "none"
    AUTO_REPLY = "auto_reply"  # out-of-office, auto-responder, list or bulk mail, loop
    BOUNCE = "bounce"  # our message could not be delivered
    DELAY = "delay"  # our message is delayed; the provider keeps trying
    FEEDBACK_REPORT = "feedback_report"  # an abuse / spam complaint about our message
    RECEIPT = "receipt"  # a read or delivery receipt for our message


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadRef:
    """What a message says it answers: the provider ids of earlier messages (``in_reply_to``,
    then ``references`` newest first) and a ticket token (``[#T-000123]``) found in it."""

    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    ticket: int | None = None

    def answers(self) -> tuple[str, ...]:
        """The provider ids it answers, strongest first, each once."""
        head = (self.in_reply_to,) if self.in_reply_to else ()
        return tuple(dict.fromkeys((*head, *self.references)))


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryReport:
    """What a provider reports about one of our messages (a bounce, a delay, a receipt):
    which message (its provider id), which recipient, the provider's status code and action."""

    message_id: str | None
    recipient: str | None = None
    status: str | None = None  # e.g. "5.1.1"
    action: str | None = None  # e.g. "failed", "delayed", "delivered", "displayed"


class RevisionKind(StrEnum):
    EDIT = "edit"  # the citizen changed the text
    UNSEND = "unsend"  # the citizen took the message back


@dataclass(frozen=True, slots=True, kw_only=True)
class Revision:
    """This event changes an earlier message (``of``: its external id on the same channel)
    rather than adding one; the message's own ``external_id`` names the event (stored once)."""

    kind: RevisionKind
    of: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundMessage:
    channel: Channel
    external_id: str
    sent_at: dt.datetime
    sender: Sender
    body: str
    subject: str | None = None
    thread: ThreadRef = ThreadRef()
    automation: Automation = Automation.NONE
    automation_reason: str | None = None  # the channel's own words, for the view and the audit
    report: DeliveryReport | None = None
    instagram_kind: str | None = None
    attachments: tuple[Attachment, ...] = ()
    revision: Revision | None = None
    # Messages of different citizens with the same cluster key are one incident, whatever their
    # words (comments under one Instagram post); a channel's key, never shown.
    cluster: str | None = None
    # Written by our side outside the desk (a staff member answering in the provider's own app;
    # Meta echoes it): ``sender`` is the citizen it was sent to.  Stored as an outbound message
    # of the desk on that citizen's ticket, never as the citizen's (services.ingest.from_desk).
    from_desk: bool = False
    # Unknown top-level fields are kept, never fatal (the contract says so); channel data the
    # core never reads.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def automated(self) -> bool:
        return self.automation is not Automation.NONE

    def thread_keys(self) -> tuple[str, ...]:
        """Provider ids of earlier messages this one answers, strongest first: In-Reply-To, then
        References newest first, then the message a bounce or receipt reports about."""
        answers = self.thread.answers()
        about = self.report.message_id if self.report is not None else None
        return answers if not about or about in answers else (*answers, about)


@dataclass(frozen=True, slots=True, kw_only=True)
class Ignored:
    """Known input that is deliberately not a message (a read receipt, an echo of our own send)."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """A request to the bot rather than a message to the desk (``/start``, ``/status``,
    ``/bantuan``, a verification code typed back): answered by the desk's command handler on the
    same channel, never a ticket message.  ``argument``: what follows the command (a deep-link
    payload, the code); ``language``: the citizen's interface language (``id`` / ``en``)."""

    channel: Channel
    external_id: str
    sent_at: dt.datetime
    sender: Sender
    name: str
    argument: str = ""
    language: str = "id"


_KNOWN = {"channel", "external_id", "sent_at", "sender", "subject", "body", "in_reply_to",
          "references", "instagram_kind", "attachments"}
_SENDER_FIELDS = ("name", "email", "phone", "telegram_id", "instagram_id", "instagram_username")


def _opt_str(data: dict[str, Any], key: str, limit: int = MAX_FIELD_CHARS) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise MalformedPayload(f"{key} must be a string")
    text = str(value).strip()
    if len(text) > limit:
        raise MalformedPayload(f"{key} is longer than {limit} characters")
    return text or None


def _clean(text: str) -> str:
    # NUL cannot be stored in PostgreSQL text; lone surrogates (from a lossy upstream decode)
    # cannot be encoded as UTF-8 at all: both become U+FFFD rather than failing the message.
    text = text.replace("\x00", "\ufffd")
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def parse_sent_at(value: Any) -> dt.datetime:
    if not isinstance(value, str) or not value:
        raise MalformedPayload("sent_at must be an ISO 8601 string with an offset")
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedPayload(f"sent_at is not ISO 8601: {value[:40]!r}") from exc
    if when.tzinfo is None or when.utcoffset() is None:
        raise MalformedPayload("sent_at has no UTC offset")
    return when.astimezone(dt.UTC)


def parse_normalized(data: Any) -> InboundMessage:
    """Check an untrusted normalized message (already JSON-decoded) and build the dataclass."""
    if not isinstance(data, dict):
        raise MalformedPayload("a message must be a JSON object")
    try:
        channel = Channel(str(data.get("channel")))
    except ValueError as exc:
        raise MalformedPayload(f"unknown channel {str(data.get('channel'))[:30]!r}") from exc
    external_id = _opt_str(data, "external_id", 500)
    if external_id is None:
        raise MalformedPayload("external_id is required")
    raw_sender = data.get("sender")
    if not isinstance(raw_sender, dict):
        raise MalformedPayload("sender must be an object")
    got = {k: _clean(v) if (v := _opt_str(raw_sender, k, 320)) else None
           for k in _SENDER_FIELDS}
    sender = Sender(name=got["name"], email=got["email"], phone=got["phone"],
                    telegram_id=got["telegram_id"], instagram_id=got["instagram_id"],
                    instagram_username=got["instagram_username"])
    if not any(getattr(sender, k) for k in _SENDER_FIELDS if k != "name"):
        raise MalformedPayload("sender has no identity (email, phone, telegram_id or instagram_id)")
    body = data.get("body", "")
    if body is None:
        body = ""
    if not isinstance(body, str):
        raise MalformedPayload("body must be a string")
    if len(body) > MAX_BODY_CHARS:
        raise MalformedPayload(f"body is longer than {MAX_BODY_CHARS} characters")
    attachments: list[Attachment] = []
    raw_att = data.get("attachments") or []
    if not isinstance(raw_att, list):
        raise MalformedPayload("attachments must be a list")
    for item in raw_att:
        if not isinstance(item, dict):
            raise MalformedPayload("an attachment must be an object")
        size = item.get("size", 0)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise MalformedPayload("attachment size must be a non-negative integer")
        attachments.append(Attachment(filename=_opt_str(item, "filename", 255) or "attachment",
                                      content_type=_opt_str(item, "content_type", 255)
                                      or "application/octet-stream",
                                      size=size))
    refs = data.get("references")
    references = tuple(r for r in refs if isinstance(r, str) and 0 < len(r) <= 500)[:50] \
        if isinstance(refs, list) else ()
    kind = _opt_str(data, "instagram_kind", 20)
    if kind is not None and kind not in ("dm", "comment"):
        raise MalformedPayload("instagram_kind must be dm or comment")
    subject = _clean(s) if (s := _opt_str(data, "subject", 998)) else None
    return InboundMessage(
        channel=channel,
        external_id=external_id,
        sent_at=parse_sent_at(data.get("sent_at")),
        sender=sender,
        body=_clean(body),
        subject=subject,
        # ``references`` is not in the contract, but a client that sends it is understood.
        thread=ThreadRef(in_reply_to=_opt_str(data, "in_reply_to", 500), references=references,
                         ticket=find_ticket_token(subject)),
        instagram_kind=kind,
        attachments=tuple(attachments),
        extra={k: v for k, v in data.items() if k not in _KNOWN},
    )
