"""Pipeline step: acknowledge a ticket opened by e-mail, in the citizen's language (Bahasa
Indonesia template in ``config/templates``), with the ticket number and the promised response
time, through the outbox.  Never to automated mail, never to our own domains, and at most
``max_per_hour`` per address (a loop guard against auto-responders)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa

from ticketing.domain.message import Automation
from ticketing.domain.threading import ticket_tag
from ticketing.services.ingest.work import Work
from ticketing.services.replies import new_message_id
from ticketing.store import tables
from ticketing.store.ids import IdAllocator
from ticketing.store.tickets import insert_rows


@dataclass(frozen=True, slots=True, kw_only=True)
class AckPolicy:
    subject: str
    body: str  # str.format fields: {name}, {ticket}, {first_response_hours}
    from_address: str
    own_domains: tuple[str, ...]
    first_response_hours: int = 4
    max_per_hour: int = 3

    @classmethod
    def from_template(cls, text: str, **kwargs: object) -> AckPolicy:
        head, _, body = text.partition("\n")
        if not head.lower().startswith("subject:"):
            raise ValueError("an e-mail template starts with a 'Subject:' line")
        return cls(subject=head.partition(":")[2].strip(), body=body.lstrip("\n"),
                   **kwargs)  # type: ignore[arg-type]


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
    def canonical(self, customer_id: int) -> int: ...


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
        if work.outcome != "created" or msg is None or str(msg.channel) != "email":
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
    suppressed: list[dict[str, object]] = []
    for work, address in due:
        assert work.msg is not None and work.ticket_id is not None
        if sent.get(address, 0) >= policy.max_per_hour:
            suppressed.append({"at": batch.now, "kind": "acknowledgement.suppressed",
                               "actor": "system", "ticket_id": work.ticket_id,
                               "customer_id": None,
                               "data": {"reason": "loop guard",
                                        "limit_per_hour": policy.max_per_hour}})
            continue
        sent[address] = sent.get(address, 0) + 1
        tag = ticket_tag(work.ticket_id)
        body = policy.body.format(name=work.msg.sender.name or "Bapak/Ibu",
                                  ticket=tag.strip("[]#"),
                                  first_response_hours=policy.first_response_hours)
        our_id = new_message_id(work.ticket_id, domain)
        subject = f"{tag} {policy.subject}"
        message_id = batch.ids.one(tables.messages)
        # Shown in the conversation, and a bounce of it threads back like any reply of ours.
        messages.append({
            "id": message_id, "ticket_id": work.ticket_id,
            "customer_id": batch.canonical(work.customer_id or 0), "direction": "out",
            "channel": "email", "external_id": our_id, "in_reply_to": work.msg.external_id,
            "author_user_id": None, "author_name": "Balasan otomatis", "subject": subject,
            "body": body, "sent_at": batch.now, "received_at": batch.now, "attachments": [],
            "automation": str(Automation.AUTO_REPLY), "automation_reason": None, "reference_ids": None,
            "extra": {}, "sender": None, "raw_id": None})
        outbox.append({
            "ticket_id": work.ticket_id, "message_id": message_id, "channel": "email",
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
    insert_rows(batch.conn, tables.audit, suppressed)
