"""Read use cases: the ticket list, one ticket with its conversation, one customer.

Personal data is masked here, once, for roles that need not see it (agents see a citizen's
NIK and phone as ``32**...385``), so no driver can forget to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ticketing.domain import bounds
from ticketing.domain.channels import ChannelCapability
from ticketing.domain.errors import InvalidInput, NotFound
from ticketing.domain.identity import IdentityKind, mask
from ticketing.domain.lifecycle import TicketStatus
from ticketing.domain.message import Channel
from ticketing.domain.redact import redact
from ticketing.services.accounts import Principal
from ticketing.services.replies import reply_channels
from ticketing.store import tables
from ticketing.store import tickets as q
from ticketing.store.queries import ticket_columns, users

MAX_LIMIT = 200


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in row.items()}


def list_tickets(conn: sa.Connection, viewer: Principal, *, status: str | None = None,
                 channel: str | None = None, assignee: str | None = None,
                 queue: str | None = None, text: str | None = None, limit: int = 50,
                 cursor: int | None = None) -> dict[str, Any]:
    """Newest first, keyset-paginated by id (``cursor`` is the last id of the previous page)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    t = q.tickets
    stmt = ticket_columns().where(t.c.merged_into_id.is_(None)).order_by(t.c.id.desc()).limit(limit)
    if statuses := bounds.check_choices(status, set(TicketStatus), "status"):
        stmt = stmt.where(t.c.status.in_(statuses))
    if channels := bounds.check_choices(channel, set(Channel), "channel"):
        stmt = stmt.where(t.c.channel.in_(channels))
    if queue:
        stmt = stmt.where(t.c.team == queue)
    if assignee == "me":
        stmt = stmt.where(t.c.assignee_id == viewer.user_id)
    elif assignee == "none":
        stmt = stmt.where(t.c.assignee_id.is_(None))
    elif assignee:
        sub = sa.select(users.c.id).where(users.c.email == assignee.lower()).scalar_subquery()
        stmt = stmt.where(t.c.assignee_id == sub)
    if text:
        # autoescape: "%" and "_" typed by a user are literal characters, not wildcards.
        stmt = stmt.where(t.c.subject.icontains(text, autoescape=True))
    if cursor is not None:
        stmt = stmt.where(t.c.id < bounds.check_id(cursor, "cursor"))
    items = [_shown(viewer, _jsonable(r._asdict())) for r in conn.execute(stmt)]
    return {"items": items,
            "next_cursor": items[-1]["ticket_id"] if len(items) == limit else None}


def _shown(viewer: Principal, row: dict[str, Any]) -> dict[str, Any]:
    if not viewer.can_see_personal_data() and row.get("subject"):
        row["subject"] = redact(row["subject"])
    return row


def get_ticket(conn: sa.Connection, ticket_id: int, viewer: Principal, *,
               capabilities: Mapping[str, ChannelCapability] | None = None,
               now: dt.datetime | None = None) -> dict[str, Any]:
    """The ticket with its conversation (each outbound message with its delivery), and, given
    the channels' capabilities, the ways a reply can go out now (``reply_options``)."""
    t, m = q.tickets, q.messages
    row = conn.execute(ticket_columns().where(t.c.id == ticket_id)).first()
    if row is None:
        raise NotFound(f"no ticket {ticket_id}")
    ticket = _shown(viewer, _jsonable(row._asdict()))
    author = users.alias("author")
    o = tables.outbox
    msgs = conn.execute(
        sa.select(m.c.id, m.c.channel, m.c.direction, m.c.author_name, author.c.email,
                  m.c.subject, m.c.body, m.c.sent_at, m.c.external_id, m.c.attachments,
                  m.c.extra, m.c.automation, m.c.automation_reason, m.c.delivered_at,
                  o.c.status.label("delivery"), o.c.last_error)
        .select_from(m.outerjoin(author, author.c.id == m.c.author_user_id)
                     .outerjoin(o, o.c.message_id == m.c.id))
        .where(m.c.ticket_id == ticket_id).order_by(m.c.sent_at, m.c.id))
    private = not viewer.can_see_personal_data()

    def shown(text: str, direction: str) -> str:
        return redact(text) if private and direction == "in" else text

    ticket["messages"] = [{
        "id": r.id, "channel": r.channel, "direction": r.direction,
        "author": r.email or r.author_name,
        "subject": shown(r.subject, r.direction) if r.subject else None,
        "body": shown(r.body, r.direction),
        # The whole original (quoted history, signature) stays available to agents.
        "full_text": shown(str((r.extra or {}).get("full_text")), r.direction)
        if (r.extra or {}).get("full_text") else None,
        "automated": r.automation_reason or r.automation,
        # Where the sender's address came from when it is not the message's own From
        # ("envelope": the SMTP MAIL FROM of a mail without one).
        "sender_source": (r.extra or {}).get("sender_source") or None,
        # A call transcript: how each speaker's role was decided, ``inferred`` when guessed
        # from the content rather than stated by the file or the desk's configuration.
        # Spoofing signals the channel saw (e-mail: a display name that is another address,
        # several From mailboxes), with the address the display name claims.
        "sender_warnings": list((r.extra or {}).get("sender_warnings") or []) or None,
        "sender_claimed": shown(str((r.extra or {}).get("sender_claimed")), r.direction)
        if (r.extra or {}).get("sender_claimed") else None,
        "speaker_roles": _speaker_roles((r.extra or {}).get("speaker_roles"), private),
        "delivery": _delivery(r),
        "delivered_at": r.delivered_at.isoformat() if r.delivered_at else None,
        "sent_at": r.sent_at.isoformat(), "external_id": r.external_id,
        "attachments": r.attachments} for r in msgs]
    duplicates = conn.execute(sa.select(t.c.id).where(t.c.merged_into_id == ticket_id)
                              .order_by(t.c.id)).scalars().all()
    ticket["links"] = {"merged_into": ticket["merged_into"], "duplicates": list(duplicates)}
    ticket["sla"] = {
        "policy": ticket["sla_policy"], "policy_version": ticket["sla_policy_version"],
        "calendar": ticket["sla_calendar"], "calendar_version": ticket["sla_calendar_version"],
        "first_response": {"due_at": ticket["first_response_due_at"],
                           "state": ticket["first_response_state"],
                           "breached": ticket["first_response_state"] == "breached"},
        "next_response": {"due_at": ticket["next_response_due_at"]},
        "resolution": {"due_at": ticket["resolution_due_at"],
                       "state": ticket["resolution_state"],
                       "breached": ticket["resolution_state"] == "breached"}}
    customer = get_customer(conn, int(ticket["customer_id"]), viewer, with_tickets=False)
    ticket["customer"] = customer
    if capabilities is not None and now is not None:
        ticket["reply_options"] = reply_channels(conn, ticket_id, capabilities=capabilities,
                                                 now=now,
                                                 customer_id=int(ticket["customer_id"]))
    return ticket


def _speaker_roles(report: Any, private: bool) -> dict[str, Any] | None:
    """A transcript's speaker roles as stored; a speaker label can be a phone number (a Zoom
    dial-in), so labels are masked like the body for viewers who may not see personal data."""
    if not isinstance(report, dict):
        return None
    if not private:
        return report
    speakers = [{**s, "speaker": redact(str(s.get("speaker")))}
                for s in report.get("speakers") or [] if isinstance(s, dict)]
    return {**report, "speakers": speakers}


def _delivery(r: Any) -> dict[str, Any] | None:
    """An outbound message's delivery: through the outbox (pending, sent, failed with the
    reason), or a logged call back (reached or not)."""
    if r.delivery:
        return {"status": r.delivery, "error": r.last_error}
    if r.direction == "out":
        return {"status": "reached" if r.delivered_at else "not_reached", "error": None,
                "call_back": True}
    return None


def get_customer(conn: sa.Connection, customer_id: int, viewer: Principal, *,
                 with_tickets: bool = True) -> dict[str, Any]:
    c, i, t = q.customers, q.identities, q.tickets
    row = conn.execute(sa.select(c).where(c.c.id == customer_id)).first()
    if row is None:
        raise NotFound(f"no customer {customer_id}")
    private = not viewer.can_see_personal_data()
    idents = conn.execute(sa.select(i.c.id, i.c.kind, i.c.value, i.c.source,
                                    i.c.evidence_message_id, i.c.created_at,
                                    i.c.claimed_link_at, i.c.unreachable_at,
                                    i.c.unreachable_reason)
                          .where(i.c.customer_id == customer_id).order_by(i.c.id))
    out: dict[str, Any] = {
        "customer_id": row.id, "name": row.display_name, "created_at": row.created_at.isoformat(),
        "merged_into": row.merged_into_id,
        "identities": [{"kind": r.kind,
                        "value": mask(IdentityKind(r.kind), r.value) if private else r.value,
                        "source": r.source, "evidence_message_id": r.evidence_message_id,
                        "linked_at": r.created_at.isoformat(), "identity_id": r.id,
                        # linked only by an identifier written in a message (not verified)
                        "claimed": r.claimed_link_at is not None,
                        "unreachable": r.unreachable_reason if r.unreachable_at else None}
                       for r in idents]}
    # Citizens folded into this one (by hand or by a proven link), each undoable.
    out["merged_from"] = [{"customer_id": r.id, "name": r.display_name} for r in conn.execute(
        sa.select(c.c.id, c.c.display_name).where(c.c.merged_into_id == customer_id)
        .order_by(c.c.id).limit(50))]
    if with_tickets:
        out["tickets"] = [_jsonable(r._asdict()) for r in conn.execute(
            sa.select(t.c.id.label("ticket_id"), t.c.status, t.c.topic, t.c.channel,
                      t.c.created_at, t.c.last_message_at)
            .where(t.c.customer_id == customer_id, t.c.merged_into_id.is_(None))
            .order_by(t.c.id.desc()).limit(100))]
    return out


def ticket_customer(conn: sa.Connection, ticket_id: int) -> int:
    """The customer a ticket belongs to (``NotFound`` for no such ticket)."""
    value = conn.execute(sa.select(q.tickets.c.customer_id)
                         .where(q.tickets.c.id == ticket_id)).scalar()
    if value is None:
        raise NotFound(f"no ticket {ticket_id}")
    return int(value)


def attachment_of(conn: sa.Connection, message_id: int, index: int) -> dict[str, Any]:
    """One stored attachment's description (the bytes are in the attachment store)."""
    row = conn.execute(sa.select(q.messages.c.attachments)
                       .where(q.messages.c.id == message_id)).first()
    if row is None:
        raise NotFound(f"no message {message_id}")
    items = row.attachments or []
    if not 0 <= index < len(items):
        raise NotFound(f"message {message_id} has no attachment {index}")
    item = dict(items[index])
    if not item.get("stored") or not item.get("sha256"):
        raise NotFound(f"attachment {index} was not kept ({item.get('note') or 'not stored'})")
    return item
