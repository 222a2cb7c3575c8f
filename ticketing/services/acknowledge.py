"""Pipeline step: acknowledge a ticket opened by e-mail, in the citizen's language (Bahasa
Indonesia template in ``config/templates``), with the ticket number and the promised response
time, through the outbox.  Never to automated mail, never to our own domains, and at most
``max_per_hour`` per address (a loop guard against auto-responders)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from ticketing.services.decide import Batch
from ticketing.services.outbox import enqueue
from ticketing.services.replies import new_message_id, ticket_tag
from ticketing.store import tables


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


def _recent_acks(conn: sa.Connection, address: str, since: dt.datetime) -> int:
    o = tables.outbox
    return int(conn.execute(sa.select(sa.func.count()).select_from(o).where(
        o.c.recipient_key == address, o.c.created_at >= since,
        o.c.kind == "acknowledgement")).scalar_one())


def acknowledge(batch: Batch, policy: AckPolicy | None) -> None:
    if policy is None:
        return
    for work in batch.works:
        msg = work.msg
        if work.outcome != "created" or msg is None or str(msg.channel) != "email":
            continue
        address = (msg.sender.email or "").lower()
        if not address or msg.extra.get("auto") or \
                address.rpartition("@")[2] in policy.own_domains:
            continue
        # The count sees this transaction's own acknowledgements too.
        if _recent_acks(batch.conn, address, batch.now - dt.timedelta(hours=1)) \
                >= policy.max_per_hour:
            batch.conn.execute(tables.audit.insert().values(
                at=batch.now, kind="acknowledgement.suppressed", actor="system",
                ticket_id=work.ticket_id, customer_id=None,
                data={"reason": "loop guard", "limit_per_hour": policy.max_per_hour}))
            continue
        assert work.ticket_id is not None
        tag = ticket_tag(work.ticket_id)
        domain = policy.from_address.rpartition("@")[2] or "localhost"
        body = policy.body.format(name=msg.sender.name or "Bapak/Ibu", ticket=tag.strip("[]#"),
                                  first_response_hours=policy.first_response_hours)
        our_id = new_message_id(work.ticket_id, domain)
        subject = f"{tag} {policy.subject}"
        # Shown in the conversation, and a bounce of it threads back like any reply of ours.
        message_id = batch.conn.execute(tables.messages.insert().values(
            ticket_id=work.ticket_id, customer_id=batch.canonical(work.customer_id or 0),
            direction="out",
            channel="email", external_id=our_id, in_reply_to=msg.external_id,
            author_user_id=None, author_name="Balasan otomatis", subject=subject, body=body,
            sent_at=batch.now, received_at=batch.now, attachments=[], extra={"auto": True},
            sender=None).returning(tables.messages.c.id)).scalar_one()
        enqueue(batch.conn, ticket_id=work.ticket_id, message_id=message_id, channel="email",
                kind="acknowledgement",
                recipient={"email": address, "name": msg.sender.name},
                payload={"from": policy.from_address, "subject": subject, "body": body,
                         "message_id": our_id, "in_reply_to": msg.external_id,
                         "references": [msg.external_id]},
                now=batch.now, recipient_key=address)
