"""Use cases: an agent replies to the citizen, logs a call back, or writes an internal note.

A reply is a message row and an outbox row in one transaction, on a channel the citizen wrote
on whose declared capability (``domain.channels``) allows it now, by default the channel of
their last message; threaded to their last message there (a channel that assigns our own
message ids, like e-mail's Message-ID, has it stored as the message's external id, so the
citizen's answer threads back to the ticket).  A reply counts as a response only once its
channel accepted it (``services.outbox``); a call back that reached the citizen counts at once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, NamedTuple

import sqlalchemy as sa

from ticketing.domain.channels import (ChannelCapability, ChannelUse, ReplyOption, cannot_send,
                                       option_for, refusal, reply_options)
from ticketing.domain.identity import address_identity
from ticketing.domain.errors import Conflict, InvalidInput, NotFound, ReplyRefused
from ticketing.domain.lifecycle import Direction, TicketStatus, check_transition
from ticketing.domain.threading import reply_subject, ticket_tag
from ticketing.services.accounts import Principal
from ticketing.services.outbox import enqueue
from ticketing.domain import events as ev
from ticketing.store import claims, reachability, tables
from ticketing.store.audit import record
from ticketing.store.tickets import locked_ticket

t, m = tables.tickets, tables.messages
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


Capabilities = Mapping[str, ChannelCapability]


def _uses(conn: sa.Connection, customer_id: int) -> dict[str, ChannelUse]:
    """The channels the citizen has written on (any of their tickets), each with its latest
    message's time and sender (of equal times, the last stored): one read, the grouped latest
    time per channel joined back to its messages (both ranges of
    ``ix_messages_customer_latest``), not one more query per channel."""
    mine = sa.and_(m.c.customer_id == customer_id, m.c.direction == Direction.IN,
                   m.c.sender.is_not(None))
    latest = (sa.select(m.c.channel, sa.func.max(m.c.sent_at).label("at"))
              .where(mine).group_by(m.c.channel).subquery())
    rows = conn.execute(
        sa.select(m.c.channel, m.c.sent_at, m.c.sender)
        .join(latest, sa.and_(m.c.channel == latest.c.channel, m.c.sent_at == latest.c.at))
        .where(mine).order_by(m.c.id.desc()))
    out: dict[str, ChannelUse] = {}
    for channel, at, sender in rows:
        if channel not in out:
            out[channel] = ChannelUse(channel=channel, last_message_at=at, sender=dict(sender))
    return out


def _last_in(conn: sa.Connection, ticket_id: int, channel: str | None = None) -> Any:
    stmt = (sa.select(m.c.channel, m.c.external_id, m.c.sender, m.c.subject, m.c.reference_ids,
                      m.c.sent_at, m.c.extra)
            .where(m.c.ticket_id == ticket_id, m.c.direction == Direction.IN))
    if channel is not None:
        stmt = stmt.where(m.c.channel == channel)
    return conn.execute(stmt.order_by(m.c.sent_at.desc(), m.c.id.desc()).limit(1)).first()


def _checked(conn: sa.Connection, uses: dict[str, ChannelUse], ticket: Any,
             capabilities: Capabilities) -> dict[str, ChannelUse]:
    """Each use whose reply address a channel said is unreachable carries the reason; each
    whose address is linked only by a claim, on a ticket with messages from other addresses,
    is marked unverified."""
    unreachable = reachability.of_customer(conn, ticket.customer_id)
    claimed = claims.of_customer(conn, ticket.customer_id)
    if not unreachable and not claimed:
        return uses
    senders = _ticket_senders(conn, ticket.id) if claimed else []
    out = {}
    for channel, use in uses.items():
        capability = capabilities.get(channel)
        key = capability.address_key if capability is not None else None
        ident = address_identity(key, use.sender.get(key)) if key else None
        found = (str(ident[0]), ident[1]) if ident else None
        reason = unreachable.get(found) if found else None
        if reason is not None:
            use = replace(use, unreachable=reason)
        if found in claimed and any(
                key is None or address_identity(key, s.get(key)) != ident for s in senders):
            # The citizen's own (not claimed) address on this channel, if they have one.
            use = _unclaimed_use(conn, ticket.customer_id, use, key, claimed) or replace(
                use, unverified=True)
        out[channel] = use
    return out


def _unclaimed_use(conn: sa.Connection, customer_id: int, use: ChannelUse, key: str | None,
                   claimed: set[tuple[str, str]]) -> ChannelUse | None:
    """The latest message on the use's channel from an address that is not a claim."""
    if key is None:
        return None
    rows = conn.execute(sa.select(m.c.sent_at, m.c.sender).where(
        m.c.customer_id == customer_id, m.c.direction == Direction.IN,
        m.c.channel == use.channel, m.c.sender.is_not(None))
        .order_by(m.c.sent_at.desc()).limit(50))
    for at, sender in rows:
        ident = address_identity(key, dict(sender).get(key))
        if ident is not None and (str(ident[0]), ident[1]) not in claimed:
            return replace(use, sender=dict(sender), last_message_at=at)
    return None


def _ticket_senders(conn: sa.Connection, ticket_id: int) -> list[dict[str, Any]]:
    return [dict(s) for s in conn.execute(sa.select(m.c.sender).where(
        m.c.ticket_id == ticket_id, m.c.direction == Direction.IN,
        m.c.sender.is_not(None))).scalars()]


def _options(conn: sa.Connection, ticket: Any, capabilities: Capabilities,
             now: dt.datetime) -> tuple[list[ReplyOption], dict[str, ChannelUse], str | None]:
    uses = _checked(conn, _uses(conn, ticket.customer_id), ticket, capabilities)
    for channel, use in list(uses.items()):
        capability = capabilities.get(channel)
        if capability is not None and capability.kind_windows:
            # What a reply there answers (the ticket's latest message on it, else the
            # citizen's): its kind ("comment", "dm" — the contract's ``instagram_kind``) may
            # have its own windows.
            answered = _last_in(conn, ticket.id, channel) or _last_in_of(
                conn, ticket.customer_id, channel)
            if answered is not None:
                uses[channel] = replace(use, kind=(answered.extra or {}).get("instagram_kind"),
                                        kind_at=answered.sent_at,
                                        answered_privately=_answered_privately(
                                            conn, ticket.id, channel, answered.external_id))
    last = _last_in(conn, ticket.id)
    default = last.channel if last is not None else None
    return reply_options(capabilities, uses.values(), now, default=default), uses, default


class _TicketRef(NamedTuple):
    id: int
    customer_id: int


def shown_option(option: ReplyOption) -> dict[str, Any]:
    return {"channel": option.channel, "label": option.label, "possible": option.possible,
            "reason": option.reason, "call_back": option.call_back, "default": option.default,
            "attachments": option.attachments, "private": option.private,
            "public": option.public, "note": option.note}


def reply_channels(conn: sa.Connection, ticket_id: int, *, capabilities: Capabilities,
                   now: dt.datetime, customer_id: int | None = None) -> dict[str, Any]:
    """The ways an agent can answer this ticket's citizen now: one option per channel they
    wrote on (possible or not, with the reason), the default, and whether a call back can be
    logged.  ``customer_id``: the ticket's citizen when the caller has just read the ticket
    (the ticket page), so it is not read again."""
    ticket: Any
    if customer_id is not None:
        ticket = _TicketRef(ticket_id, customer_id)
    else:
        ticket = conn.execute(sa.select(t.c.id, t.c.customer_id)
                              .where(t.c.id == ticket_id)).first()
        if ticket is None:
            raise NotFound(f"no ticket {ticket_id}")
    options, _, default = _options(conn, ticket, capabilities, now)
    return {"default": next((o.channel for o in options if o.default), None),
            "last_channel": default, "options": [shown_option(o) for o in options],
            "call_back": any(o.call_back for o in options)}


def _refuse(option: ReplyOption, options: list[ReplyOption]) -> ReplyRefused:
    return ReplyRefused(refusal(option, options),
                        options=[shown_option(o) for o in options])


def reply_to_ticket(conn: sa.Connection, ticket_id: int, body: str, *, by: Principal,
                    now: dt.datetime, from_address: str, capabilities: Capabilities,
                    channel: str | None = None, status: str | None = None,
                    public: bool = False,
                    files: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """Queue a reply on ``channel`` (default: the channel of the citizen's last message on this
    ticket).  A channel that cannot deliver it now is refused here, before anything is queued
    (``ReplyRefused``: 409 with the reason and the possible channels).  The reply counts as a
    response when its channel's provider accepts it (``outbox``), not now.  ``public``: answer
    where everyone reads it when the channel has such a place (an Instagram comment thread);
    the channel's sender decides, and refuses personal data there.  ``files``: attachments
    already checked and kept in the attachment store (``domain.reply_files``: each with its
    ``sha256``), refused when the channel cannot carry files."""
    ticket = _locked_ticket(conn, ticket_id)
    if ticket.status == TicketStatus.CLOSED:
        raise Conflict("the ticket is closed")
    body = _clean_body(body)
    options, uses, default = _options(conn, ticket, capabilities, now)
    if default is None:
        raise Conflict("the ticket has no citizen message to answer")
    channel = channel or default
    option = next((o for o in options if o.channel == channel), None)
    capability = capabilities.get(channel)
    if option is None or capability is None:
        option = option_for(capability or cannot_send(channel, channel, "kanal tidak dikenal"),
                            None, now)
    if not option.possible or capability is None:
        raise _refuse(option, options)
    if public and not option.public:
        raise _refuse(replace(option, reason=option.note or "balasan publik tidak ada di kanal "
                              "ini (no public reply on this channel)"), options)
    if not public and not option.private:
        raise _refuse(replace(option, reason=option.note), options)
    if files and not capability.attachments:
        raise InvalidInput(f"{capability.label} tidak bisa membawa lampiran; kirim tanpa "
                           f"lampiran atau lewat kanal lain ({capability.label} cannot carry "
                           "files)")
    if capability.max_text is not None and len(body) > capability.max_text:
        raise InvalidInput(f"{capability.label}: the reply is longer than "
                           f"{capability.max_text} characters")
    last_in = _last_in(conn, ticket_id, channel) or _last_in_of(conn, ticket.customer_id,
                                                                  channel)
    domain = from_address.rpartition("@")[2] or "localhost"
    external_id = new_message_id(ticket_id, domain) if capability.own_message_ids else None
    refs = last_in.reference_ids or []
    payload: dict[str, Any] = {
        "body": body, "from": from_address, "message_id": external_id,
        "in_reply_to": last_in.external_id,
        "references": [r for r in [*reversed(refs), last_in.external_id] if r][-20:],
        "subject": reply_subject(ticket_id, last_in.subject or ticket.subject),
        "ticket_tag": ticket_tag(ticket_id),
    }
    if public:
        payload["public"] = True
    attached = [{k: f[k] for k in ("filename", "content_type", "size", "sha256", "stored")}
                for f in files]
    if attached:
        payload["attachments"] = attached
    message_id = conn.execute(m.insert().values(
        ticket_id=ticket_id, customer_id=ticket.customer_id, direction=Direction.OUT,
        channel=channel, external_id=external_id, in_reply_to=last_in.external_id,
        author_user_id=by.user_id, author_name=by.name, subject=payload["subject"], body=body,
        sent_at=now, received_at=now, attachments=attached,
        extra={"public": True} if public else {}, sender=None,
        delivered_at=None).returning(m.c.id)).scalar_one()
    recipient = dict(uses[channel].sender)
    key = recipient.get(capability.address_key or "") or recipient.get("email") \
        or recipient.get("phone")
    outbox_id = enqueue(conn, ticket_id=ticket_id, message_id=message_id, channel=channel,
                        kind="reply", recipient=recipient, payload=payload, now=now,
                        recipient_key=str(key)[:320] if key else None)
    # The clocks move when the channel accepts the reply, not now; a status change does.
    new_status = _after_answer(conn, ticket, by=by, now=now, status=status, responded=False)
    record(conn, ev.MessageReplied(at=now, actor=f"user:{by.user_id}", ticket_id=ticket_id,
                                   customer_id=ticket.customer_id, message_id=message_id,
                                   channel=channel, outbox_id=outbox_id, status=new_status))
    return {"message_id": message_id, "outbox_id": outbox_id, "channel": channel,
            "external_id": external_id}


def _answered_privately(conn: sa.Connection, ticket_id: int, channel: str,
                        external_id: str | None) -> bool:
    """The desk already sent a reply on this ticket to that message that was not public
    (queued or sent; one that failed does not count).  By the ticket's index."""
    if not external_id:
        return False
    rows = conn.execute(sa.select(m.c.extra, tables.outbox.c.status).select_from(
        m.outerjoin(tables.outbox, tables.outbox.c.message_id == m.c.id)).where(
        m.c.ticket_id == ticket_id, m.c.channel == channel, m.c.in_reply_to == external_id, m.c.direction == Direction.OUT))
    return any(not (r.extra or {}).get("public") and r.status != "failed" for r in rows)


def _last_in_of(conn: sa.Connection, customer_id: int, channel: str) -> Any:
    """The citizen's latest message on ``channel`` on any of their tickets (they wrote on it,
    but not on this ticket): the reply threads to it, and our own id threads the answer back."""
    return conn.execute(
        sa.select(m.c.channel, m.c.external_id, m.c.sender, m.c.subject, m.c.reference_ids,
                  m.c.sent_at, m.c.extra)
        .where(m.c.customer_id == customer_id, m.c.direction == Direction.IN,
               m.c.channel == channel)
        .order_by(m.c.sent_at.desc(), m.c.id.desc()).limit(1)).one()


def _after_answer(conn: sa.Connection, ticket: Any, *, by: Principal, now: dt.datetime,
                  status: str | None, responded: bool) -> str | None:
    """The ticket after an agent answered: a new ticket opens (or the status asked for), and
    the SLA timer looks again now.  ``responded``: the answer reached the citizen already (a
    call back that got through), so it is the first response if there was none."""
    values: dict[str, Any] = {"updated_at": now, "sla_check_at": now}
    if responded and ticket.first_response_at is None:
        values["first_response_at"] = now
    target = status or (TicketStatus.OPEN if ticket.status == TicketStatus.NEW else None)
    if target and target != ticket.status:
        values["status"] = str(check_transition(ticket.status, target))
        if values["status"] == TicketStatus.RESOLVED:
            values["resolved_at"] = now
    conn.execute(t.update().where(t.c.id == ticket.id).values(**values))
    if "status" in values:
        record(conn, ev.TicketStatusChanged(at=now, actor=f"user:{by.user_id}",
                                            ticket_id=ticket.id, customer_id=ticket.customer_id,
                                            previous=ticket.status, status=values["status"]))
    return values.get("status")


def log_call_back(conn: sa.Connection, ticket_id: int, body: str, *, reached: bool,
                  by: Principal, now: dt.datetime, capabilities: Capabilities,
                  status: str | None = None) -> dict[str, Any]:
    """The desk called the citizen back (a channel with no outbound message, like the phone):
    the outcome is a message from the desk on that channel.  A call that reached the citizen is
    a response at this time (``delivered_at``); one that did not is only on the record."""
    ticket = _locked_ticket(conn, ticket_id)
    if ticket.status == TicketStatus.CLOSED:
        raise Conflict("the ticket is closed")
    body = _clean_body(body)
    options, _, _ = _options(conn, ticket, capabilities, now)
    channel = next((o.channel for o in options if o.call_back), None)
    if channel is None:
        raise Conflict("the citizen has not called: no number to call back")
    message_id = conn.execute(m.insert().values(
        ticket_id=ticket_id, customer_id=ticket.customer_id, direction=Direction.OUT,
        channel=channel, external_id=None, in_reply_to=None, author_user_id=by.user_id,
        author_name=by.name, subject=None, body=body, sent_at=now, received_at=now,
        attachments=[], extra={}, sender=None, delivered_at=now if reached else None,
    ).returning(m.c.id)).scalar_one()
    new_status = _after_answer(conn, ticket, by=by, now=now, status=status, responded=reached)
    record(conn, ev.CallBackLogged(at=now, actor=f"user:{by.user_id}", ticket_id=ticket_id,
                                   customer_id=ticket.customer_id, message_id=message_id,
                                   channel=channel, reached=reached, status=new_status))
    return {"message_id": message_id, "channel": channel, "reached": reached}


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
    record(conn, ev.NoteAdded(at=now, actor=f"user:{by.user_id}", ticket_id=ticket_id,
                                  customer_id=ticket.customer_id, message_id=message_id))
    return {"message_id": message_id}
