"""The queue page's ticket list: filters (status, channel, topic, team, assignee, SLA state,
language), sorting, totals and offset paging over the live tickets (not merged away).

The SLA state of a ticket, for its badge and the filter: ``breached`` when either clock
breached, ``warning`` when the clock that runs now (first response until it is met, then
resolution) is due within ``WARNING`` of now, else ``ok``.  The same expressions serve the
filter and the badge, so the two never disagree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from ticketing.store import tables
from ticketing.store.queries import ticket_columns

t, users = tables.tickets, tables.users
WARNING = dt.timedelta(hours=1)
SORTS = {"due": "running_due_at", "new": "created_at", "old": "created_at",
         "updated": "last_message_at", "id": "ticket_id"}
SLA_STATES = ("ok", "warning", "breached")


def running_due() -> sa.ColumnElement[Any]:
    """When the clock that runs now falls due (NULL when none runs)."""
    return sa.case((t.c.first_response_state == "running", t.c.first_response_due_at),
                   (t.c.resolution_state == "running", t.c.resolution_due_at),
                   else_=sa.null())


def sla_state(now: dt.datetime) -> sa.ColumnElement[Any]:
    breached = sa.or_(t.c.first_response_state == "breached",
                      t.c.resolution_state == "breached")
    return sa.case((breached, "breached"), (running_due() <= now + WARNING, "warning"),
                   else_="ok")


def _filtered(stmt: Any, filters: Mapping[str, Sequence[str]], *, viewer_id: int,
              now: dt.datetime) -> Any:
    stmt = stmt.where(t.c.merged_into_id.is_(None))
    for name, column in (("status", t.c.status), ("channel", t.c.channel),
                         ("topic", t.c.topic), ("team", t.c.team), ("language", t.c.language)):
        if values := filters.get(name):
            stmt = stmt.where(column.in_(list(values)))
    assignee = list(filters.get("assignee") or ())
    if assignee:
        conds = []
        emails = [a.lower() for a in assignee if a not in ("me", "none")]
        if "me" in assignee:
            conds.append(t.c.assignee_id == viewer_id)
        if "none" in assignee:
            conds.append(t.c.assignee_id.is_(None))
        if emails:
            conds.append(t.c.assignee_id.in_(sa.select(users.c.id)
                                              .where(users.c.email.in_(emails))))
        stmt = stmt.where(sa.or_(*conds))
    if states := filters.get("sla"):
        stmt = stmt.where(sla_state(now).in_(list(states)))
    return stmt


def page(conn: sa.Connection, filters: Mapping[str, Sequence[str]], *, viewer_id: int,
         now: dt.datetime, sort: str = "due", offset: int = 0, limit: int = 25
         ) -> dict[str, Any]:
    """One page of rows, the total matching and the totals per SLA state."""
    base = ticket_columns().add_columns(running_due().label("running_due_at"),
                                        sla_state(now).label("sla_state"))
    stmt = _filtered(base, filters, viewer_id=viewer_id, now=now)
    order: list[Any] = {"due": [running_due().is_(None), running_due(), t.c.id],
             "new": [t.c.created_at.desc(), t.c.id.desc()],
             "old": [t.c.created_at, t.c.id],
             "updated": [t.c.last_message_at.desc(), t.c.id.desc()],
             "id": [t.c.id.desc()]}[sort if sort in SORTS else "due"]  # type: ignore[assignment]
    rows = conn.execute(stmt.order_by(*order).offset(offset).limit(limit)).all()
    states = _filtered(sa.select(sla_state(now).label("s")).select_from(t), filters,
                       viewer_id=viewer_id, now=now).subquery()
    counted = sa.select(states.c.s, sa.func.count().label("n")).group_by(states.c.s)
    by_state = {str(r.s): int(r.n) for r in conn.execute(counted)}
    return {"rows": [r._asdict() for r in rows], "total": sum(by_state.values()),
            "by_state": {s: by_state.get(s, 0) for s in SLA_STATES}}


def choices(conn: sa.Connection) -> dict[str, list[str]]:
    """The values the filters offer: the teams, topics and languages tickets have."""
    out: dict[str, list[str]] = {}
    for name, column in (("team", t.c.team), ("topic", t.c.topic), ("language", t.c.language)):
        values = conn.execute(sa.select(column).where(column.is_not(None)).distinct()
                              .order_by(column).limit(200)).scalars()
        out[name] = [str(v) for v in values]
    out["assignee"] = [str(e) for e in conn.execute(
        sa.select(users.c.email).where(users.c.role.in_(("agent", "supervisor")))
        .order_by(users.c.email).limit(500)).scalars()]
    return out


def newer_from_others(conn: sa.Connection, ticket_id: int, seen: int, user_id: int) -> bool:
    """A citizen message or someone else's reply on the ticket after message ``seen``."""
    m = tables.messages
    return conn.execute(sa.select(m.c.id).where(
        m.c.ticket_id == ticket_id, m.c.id > seen, m.c.direction != "note",
        sa.or_(m.c.author_user_id.is_(None), m.c.author_user_id != user_id)).limit(1)
    ).first() is not None


def latest_ticket_at(conn: sa.Connection) -> dt.datetime | None:
    value = conn.execute(sa.select(sa.func.max(t.c.created_at))).scalar()
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value
