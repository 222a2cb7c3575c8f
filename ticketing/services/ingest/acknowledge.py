"""Pipeline step: acknowledge a ticket opened by e-mail, in the citizen's language (the ticket's
detected language; templates ``acknowledgement.email.<id|en>.txt`` in ``config/templates``,
Indonesian the default), with the ticket number, the ticket's own first-response target and the
service hours of its calendar (the SLA policy chosen at ingest), through the outbox.  Never to
automated mail, never to our own domains, and at most ``max_per_hour`` per address (a loop guard
against auto-responders)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from ticketing.domain.language import INDONESIAN, detect_language
from ticketing.domain.message import Automation
from ticketing.domain.service_hours import business_duration, weekly_hours
from ticketing.domain.threading import ticket_tag
from ticketing.services.ingest.work import Work
from ticketing.services.replies import new_message_id
from ticketing.services.sla import SlaSetup
from ticketing.domain.events import AcknowledgementSuppressed
from ticketing.store import tables
from ticketing.store.audit import record
from ticketing.store.ids import IdAllocator
from ticketing.store.tickets import insert_rows


@dataclass(frozen=True, slots=True, kw_only=True)
class AckText:
    """One language's acknowledgement.  ``body`` is a str.format text with the fields {name},
    {ticket}, {first_response} (the ticket's target in words, e.g. "4 jam kerja"),
    {service_hours} (its calendar's week in words) and {first_response_hours}."""

    subject: str
    body: str

    @classmethod
    def from_template(cls, text: str) -> AckText:
        head, _, body = text.partition("\n")
        if not head.lower().startswith("subject:"):
            raise ValueError("an e-mail template starts with a 'Subject:' line")
        return cls(subject=head.partition(":")[2].strip(), body=body.lstrip("\n"))


# Without SLA clocks (no calendar known) the hours are named, not listed.
_NO_CALENDAR = {INDONESIAN: "pada jam kerja layanan", "en": "during the desk's business hours"}


@dataclass(frozen=True, slots=True, kw_only=True)
class AckPolicy:
    texts: Mapping[str, AckText]  # by language code; Indonesian is required and the default
    from_address: str
    own_domains: tuple[str, ...]
    first_response_hours: int = 4  # the promise when a ticket has no SLA clocks
    max_per_hour: int = 3
    # The channel these templates are written for (a subject line and an address): tickets
    # opened on it are acknowledged, on it.
    channel: str = "email"

    def __post_init__(self) -> None:
        if INDONESIAN not in self.texts:
            raise ValueError("the acknowledgement needs an Indonesian (id) template")

    def text_for(self, language: str | None) -> AckText:
        return self.texts.get(language or INDONESIAN) or self.texts[INDONESIAN]

    @classmethod
    def from_templates(cls, templates: Mapping[str, str], **kwargs: object) -> AckPolicy:
        texts = {lang: AckText.from_template(text) for lang, text in templates.items()}
        return cls(texts=texts, **kwargs)  # type: ignore[arg-type]


def _promise(batch: Batch, policy: AckPolicy, ticket_id: int,
             body: str) -> tuple[str, dict[str, object]]:
    """The ticket's language and the format fields of its promise: the first-response target of
    the policy it opened under and the hours of that policy's calendar."""
    state = batch.ticket_by_id.get(ticket_id)
    routing = (state.routing if state is not None else None) or {}
    language = str(routing.get("language") or detect_language(body).code)
    minutes = policy.first_response_hours * 60
    hours = _NO_CALENDAR.get(language, _NO_CALENDAR[INDONESIAN])
    clocks = (state.sla if state is not None else None) or {}
    terms = clocks.get("sla_terms") or {}
    setup = batch.policy.sla
    calendar = setup.calendars.get(str(clocks.get("sla_calendar"))) if setup else None
    if terms.get("first_response") is not None:
        minutes = int(terms["first_response"])
    if calendar is not None:
        hours = weekly_hours(calendar, language)
    return language, {"first_response": business_duration(minutes, language),
                      "service_hours": hours,
                      "first_response_hours": f"{minutes / 60:g}"}


class Batch(Protocol):
    """What acknowledging needs of the ingest batch (``batch.Batch`` has it); a protocol, so
    that the policy (which holds an ``AckPolicy``) need not sit above the batch."""

    @property
    def conn(self) -> sa.Connection: ...
    @property
    def now(self) -> dt.datetime: ...
    @property
    def ids(self) -> IdAllocator: ...
    @property
    def works(self) -> Sequence[Work]: ...
    @property
    def ticket_by_id(self) -> Mapping[int, Any]: ...
    @property
    def policy(self) -> _WithSla: ...
    def canonical(self, customer_id: int) -> int: ...


class _WithSla(Protocol):
    @property
    def sla(self) -> SlaSetup | None: ...


_RECENT = (sa.select(tables.outbox.c.recipient_key, sa.func.count())
           .where(tables.outbox.c.recipient_key.in_(sa.bindparam("keys", expanding=True)),
                  tables.outbox.c.created_at >= sa.bindparam("since"),
                  tables.outbox.c.kind == "acknowledgement")
           .group_by(tables.outbox.c.recipient_key))


def acknowledge(batch: Batch, policy: AckPolicy | None) -> None:
    if policy is None:
        return
    due = []
    for work in batch.works:
        msg = work.msg
        if work.outcome != "created" or msg is None or str(msg.channel) != policy.channel:
            continue
        address = (msg.sender.email or "").lower()
        if address and not msg.automated and \
                address.rpartition("@")[2] not in policy.own_domains:
            due.append((work, address))
    if not due:
        return
    # One indexed count for the whole batch; this batch's own sends are counted as they go.
    sent: dict[str, int] = dict(batch.conn.execute(_RECENT, {
        "keys": sorted({a for _, a in due}),
        "since": batch.now - dt.timedelta(hours=1)}).all())
    domain = policy.from_address.rpartition("@")[2] or "localhost"
    messages: list[dict[str, object]] = []
    outbox: list[dict[str, object]] = []
    suppressed: list[AcknowledgementSuppressed] = []
    for work, address in due:
        assert work.msg is not None and work.ticket_id is not None
        if sent.get(address, 0) >= policy.max_per_hour:
            suppressed.append(AcknowledgementSuppressed(
                at=batch.now, ticket_id=work.ticket_id, reason="loop guard",
                limit_per_hour=policy.max_per_hour))
            continue
        sent[address] = sent.get(address, 0) + 1
        tag = ticket_tag(work.ticket_id)
        language, promise = _promise(batch, policy, work.ticket_id,
                                     f"{work.msg.subject or ''}\n{work.msg.body}")
        text = policy.text_for(language)
        default_name = "Bapak/Ibu" if language == INDONESIAN else "Sir/Madam"
        body = text.body.format(name=work.msg.sender.name or default_name,
                                ticket=tag.strip("[]#"), **promise)
        our_id = new_message_id(work.ticket_id, domain)
        subject = f"{tag} {text.subject}"
        message_id = batch.ids.one(tables.messages)
        # Shown in the conversation, and a bounce of it threads back like any reply of ours.
        messages.append({
            "id": message_id, "ticket_id": work.ticket_id,
            "customer_id": batch.canonical(work.customer_id or 0), "direction": "out",
            "channel": policy.channel, "external_id": our_id, "in_reply_to": work.msg.external_id,
            "author_user_id": None, "author_name": "Balasan otomatis", "subject": subject,
            "body": body, "sent_at": batch.now, "received_at": batch.now, "attachments": [],
            "automation": str(Automation.AUTO_REPLY), "automation_reason": None, "reference_ids": None,
            "extra": {}, "sender": None, "raw_id": None})
        outbox.append({
            "ticket_id": work.ticket_id, "message_id": message_id, "channel": policy.channel,
            "kind": "acknowledgement",
            "recipient": {"email": address, "name": work.msg.sender.name},
            "payload": {"from": policy.from_address, "subject": subject, "body": body,
                        "message_id": our_id, "in_reply_to": work.msg.external_id,
                        "references": [work.msg.external_id]},
            "status": "pending", "attempts": 0, "next_attempt_at": batch.now,
            "last_error": None, "external_id": our_id, "created_at": batch.now,
            "sent_at": None, "recipient_key": address})
    insert_rows(batch.conn, tables.messages, messages)
    insert_rows(batch.conn, tables.outbox, outbox)
    record(batch.conn, suppressed)
