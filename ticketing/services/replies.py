"""Use cases: an agent replies to the citizen, or writes an internal note.

A reply is a message row and an outbox row in one transaction; it goes back on the channel the
citizen last wrote on, threaded to that message (an e-mail carries our own Message-ID, stored as
the message's external id, so the citizen's answer threads back to the ticket)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa

from ticketing.domain.errors import Conflict, InvalidInput
from ticketing.domain.lifecycle import Direction, TicketStatus, check_transition
from ticketing.domain.threading import reply_subject, ticket_tag
from ticketing.services.accounts import Principal
from ticketing.services.outbox import enqueue
from ticketing.store import tables
from ticketing.store.tickets import locked_ticket

t, m, audit = tables.tickets, tables.messages, tables.audit
MAX_BODY = 100_000

def new_message_id(ticket_id: int, domain: str) -> str:
    return f"<t{ticket_id}.{uuid.uuid4().hex[:20]}@{domain}>"


def _locked_ticket(conn: sa.Connection, ticket_id: int) -> Any:
    row = locked_ticket(conn, ticket_id)
    if row.merged_into_id is not None:
        raise Conflict(f"ticket {ticket_id} is merged into {row.merged_into_id}; reply there")
    return row


def _clean_body(body: str) -> str:
    body = body.replace("\x00", "").strip()
    if not body:
        raise InvalidInput("the reply is empty")
    if len(body) > MAX_BODY:
        raise InvalidInput(f"the reply is longer than {MAX_BODY} characters")
    return body


def reply_to_ticket(conn: sa.Connection, ticket_id: int, body: str, *, by: Principal,
                    now: dt.datetime, from_address: str,
                    status: str | None = None) -> dict[str, Any]:
    ticket = _locked_ticket(conn, ticket_id)
    if ticket.status == TicketStatus.CLOSED:
        raise Conflict("the ticket is closed")
    body = _clean_body(body)
    last_in = conn.execute(
        sa.select(m.c.channel, m.c.external_id, m.c.sender, m.c.subject, m.c.reference_ids)
        .where(m.c.ticket_id == ticket_id, m.c.direction == Direction.IN)
        .order_by(m.c.sent_at.desc(), m.c.id.desc()).limit(1)).first()
    if last_in is None or not last_in.sender:
        raise Conflict("the ticket has no citizen message to answer")
    channel = last_in.channel
    domain = from_address.rpartition("@")[2] or "localhost"
    external_id = new_message_id(ticket_id, domain) if channel == "email" else None
    refs = last_in.reference_ids or []
    payload: dict[str, Any] = {
        "body": body, "from": from_address, "message_id": external_id,
        "in_reply_to": last_in.external_id,
        "references": [r for r in [*reversed(refs), last_in.external_id] if r][-20:],
        "subject": reply_subject(ticket_id, last_in.subject or ticket.subject),
        "ticket_tag": ticket_tag(ticket_id),
    }
    message_id = conn.execute(m.insert().values(
        ticket_id=ticket_id, customer_id=ticket.customer_id, direction=Direction.OUT,
        channel=channel, external_id=external_id, in_reply_to=last_in.external_id,
        author_user_id=by.user_id, author_name=by.name, subject=payload["subject"], body=body,
        sent_at=now, received_at=now, attachments=[], extra={}, sender=None,
    ).returning(m.c.id)).scalar_one()
    recipient = dict(last_in.sender)
    outbox_id = enqueue(conn, ticket_id=ticket_id, message_id=message_id, channel=channel,
                        kind="reply", recipient=recipient, payload=payload, now=now,
                        recipient_key=recipient.get("email") or recipient.get("phone"))
    values: dict[str, Any] = {"updated_at": now, "sla_check_at": now}
    if ticket.first_response_at is None:
        values["first_response_at"] = now
    target = status or (TicketStatus.OPEN if ticket.status == TicketStatus.NEW else None)
    if target and target != ticket.status:
        values["status"] = str(check_transition(ticket.status, target))
        if values["status"] == TicketStatus.RESOLVED:
            values["resolved_at"] = now
    conn.execute(t.update().where(t.c.id == ticket_id).values(**values))
    if "status" in values:
        conn.execute(audit.insert().values(
            at=now, kind="ticket.status_changed", actor=f"user:{by.user_id}",
            ticket_id=ticket_id, customer_id=ticket.customer_id,
            data={"previous": ticket.status, "status": values["status"]}))
    conn.execute(audit.insert().values(at=now, kind="message.replied", actor=f"user:{by.user_id}",
                                       ticket_id=ticket_id, customer_id=ticket.customer_id,
                                       data={"message_id": message_id, "channel": channel,
                                             "outbox_id": outbox_id,
                                             "status": values.get("status")}))
    return {"message_id": message_id, "outbox_id": outbox_id, "channel": channel,
            "external_id": external_id}


def add_note(conn: sa.Connection, ticket_id: int, body: str, *, by: Principal,
             now: dt.datetime) -> dict[str, Any]:
    ticket = _locked_ticket(conn, ticket_id)
    body = _clean_body(body)
    message_id = conn.execute(m.insert().values(
        ticket_id=ticket_id, customer_id=ticket.customer_id, direction=Direction.NOTE,
        channel="internal", external_id=None, in_reply_to=None, author_user_id=by.user_id,
        author_name=by.name, subject=None, body=body, sent_at=now, received_at=now,
        attachments=[], extra={}, sender=None).returning(m.c.id)).scalar_one()
    conn.execute(t.update().where(t.c.id == ticket_id).values(updated_at=now))
    conn.execute(audit.insert().values(at=now, kind="note.added", actor=f"user:{by.user_id}",
                                       ticket_id=ticket_id, customer_id=ticket.customer_id,
                                       data={"message_id": message_id}))
    return {"message_id": message_id}
