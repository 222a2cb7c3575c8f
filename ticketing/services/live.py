"""Use case: what the staff pages are told live, and who is told what.

``load`` turns stored events (``store.live``) into what a page shows, in one read for a batch
of events: the ticket (channel, topic, team, subject, assignee), a citizen message's text, a
user's unread notifications.  ``shown`` decides, per viewer, whether an event is theirs and
gives its data, masked for roles that may not see personal data (as ``views`` masks it):

* ``ticket.created`` — agents and supervisors (the queue grew);
* ``message.created`` (a citizen wrote) — the ticket's assignee ("my tickets"), and whoever
  has that ticket open (the page says which ticket it watches);
* ``ticket.assigned`` — agents and supervisors, with ``yours`` telling the new assignee apart
  from everyone for whom the ticket was "taken by someone else";
* ``notification`` — its recipient only, as their unread count (the header's badge).

Event data carries ids, staff names and the citizen's words masked for agents; never an
unmasked identifier to a role that may not see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ticketing.domain.redact import redact
from ticketing.services.accounts import Principal, Role, sees_personal_data
from ticketing.store import tables

BODY_CHARS = 2000
WORK_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR})


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveEvent:
    id: int
    kind: str
    ticket_id: int | None
    user_id: int | None  # the new assignee, or the notification's recipient
    assignee_id: int | None  # the ticket's assignee now
    data: dict[str, Any] = field(default_factory=dict)  # whole
    masked: dict[str, Any] = field(default_factory=dict)  # for agents


@dataclass(frozen=True, slots=True, kw_only=True)
class Watcher:
    """One open page: who, and the ticket it shows (None: not a ticket page)."""
    user_id: int
    role: str
    ticket_id: int | None = None

    @classmethod
    def of(cls, who: Principal, ticket_id: int | None = None) -> Watcher:
        return cls(user_id=who.user_id, role=str(who.role), ticket_id=ticket_id)


def unread(conn: sa.Connection, user_id: int) -> int:
    n = tables.notifications
    return int(conn.execute(sa.select(sa.func.count()).select_from(n).where(
        n.c.user_id == user_id, n.c.read_at.is_(None))).scalar_one())


def load(conn: sa.Connection, rows: Sequence[Any]) -> list[LiveEvent]:
    t, m, u = tables.tickets, tables.messages, tables.users
    ticket_ids = {int(r.ticket_id) for r in rows if r.ticket_id is not None}
    message_ids = {int(r.message_id) for r in rows if r.message_id is not None}
    tickets = {int(r.id): r for r in conn.execute(
        sa.select(t.c.id, t.c.channel, t.c.topic, t.c.team, t.c.status, t.c.subject,
                  t.c.assignee_id, u.c.name.label("assignee"))
        .select_from(t.outerjoin(u, u.c.id == t.c.assignee_id))
        .where(t.c.id.in_(ticket_ids)))} if ticket_ids else {}
    messages = {int(r.id): r for r in conn.execute(
        sa.select(m.c.id, m.c.channel, m.c.sent_at, m.c.author_name, m.c.subject,
                  sa.func.substr(m.c.body, 1, BODY_CHARS).label("body"))
        .where(m.c.id.in_(message_ids)))} if message_ids else {}
    names = {int(r.id): r.name for r in conn.execute(
        sa.select(u.c.id, u.c.name).where(u.c.id.in_(
            {int(r.user_id) for r in rows if r.user_id is not None})))}
    counts = {uid: unread(conn, uid) for uid in
              {int(r.user_id) for r in rows if r.kind == "notification" and r.user_id}}
    out = []
    for r in rows:
        ticket = tickets.get(int(r.ticket_id)) if r.ticket_id is not None else None
        data: dict[str, Any] = {"ticket_id": r.ticket_id}
        if ticket is not None:
            data.update(channel=ticket.channel, topic=ticket.topic, team=ticket.team,
                        status=ticket.status, subject=ticket.subject)
        if r.kind == "message.created":
            msg = messages.get(int(r.message_id))
            if msg is None:
                continue  # gone since (moved back out, erased)
            data.update(message_id=msg.id, channel=msg.channel, author=msg.author_name,
                        sent_at=msg.sent_at.isoformat(), body=msg.body)
        elif r.kind == "ticket.assigned":
            data.update(assignee_id=r.user_id, assignee=names.get(int(r.user_id or 0)))
        elif r.kind == "notification":
            data = {"ticket_id": r.ticket_id, "unread": counts.get(int(r.user_id or 0), 0)}
        masked = dict(data)
        for key in ("subject", "body", "author"):
            if masked.get(key):
                masked[key] = redact(str(masked[key]))
        out.append(LiveEvent(id=int(r.id), kind=str(r.kind), ticket_id=r.ticket_id,
                             user_id=r.user_id,
                             assignee_id=ticket.assignee_id if ticket is not None else None,
                             data=data, masked=masked))
    return out


def audience(event: LiveEvent, watcher: Watcher) -> tuple[bool, bool] | None:
    """Whether this page is told of the event: None, or (whole, yours) — whole: unmasked (the
    role sees personal data); yours: the ticket is (now) the viewer's."""
    if event.kind == "notification":
        return (True, True) if event.user_id == watcher.user_id else None
    if watcher.role not in WORK_ROLES:
        return None
    yours = (event.user_id if event.kind == "ticket.assigned" else event.assignee_id
             ) == watcher.user_id
    if event.kind == "message.created":
        if not yours and (watcher.ticket_id is None or watcher.ticket_id != event.ticket_id):
            return None
    elif event.kind not in ("ticket.created", "ticket.assigned"):
        return None
    return sees_personal_data(watcher.role), yours


def payload(event: LiveEvent, whole: bool, yours: bool) -> dict[str, Any]:
    if event.kind == "notification":
        return dict(event.data)
    return {**(event.data if whole else event.masked), "yours": yours}


def shown(event: LiveEvent, watcher: Watcher) -> dict[str, Any] | None:
    """The event's data for this page, or None when it is not theirs."""
    seen = audience(event, watcher)
    return None if seen is None else payload(event, *seen)
