"""The queue page's ticket list: filters (status, channel, topic, team, assignee, SLA state,
language), sorting, totals and offset paging over the live tickets (not merged away).

The SLA state of a ticket, for its badge and the filter: ``breached`` when either clock
breached, ``warning`` when the clock that runs now (first response until it is met, then
resolution) is due within ``WARNING`` of now, else ``ok``.  Both read the generated columns
``sla_breached`` and ``sla_due_at`` (migration 0035_page_speed), so the filter, the totals and the "due"
order are index ranges, and the badge and the filter never disagree."""

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
COUNT_CAP = 1_000


def running_due() -> sa.ColumnElement[Any]:
    """When the clock that runs now falls due (NULL when none runs): a generated column."""
    return t.c.sla_due_at


def _state_where(state: str, now: dt.datetime) -> sa.ColumnElement[bool]:
    """One SLA state as a range of ``ix_tickets_sla_state`` (breached, then by due time)."""
    soon = now + WARNING
    if state == "breached":
        return t.c.sla_breached == 1
    if state == "warning":
        return sa.and_(t.c.sla_breached == 0, t.c.sla_due_at <= soon)
    return sa.and_(t.c.sla_breached == 0,
                   sa.or_(t.c.sla_due_at.is_(None), t.c.sla_due_at > soon))


def sla_state(now: dt.datetime) -> sa.ColumnElement[Any]:
    return sa.case((t.c.sla_breached == 1, "breached"),
                   (t.c.sla_due_at <= now + WARNING, "warning"), else_="ok")


def _live(dialect: str) -> sa.ColumnElement[bool]:
    """Not merged away.  SQLite, without statistics, takes ``merged_into_id IS NULL`` for a
    selective equality and walks ``ix_tickets_merged_into_id`` (every live ticket, then a
    sort); told the term is nearly always true, it walks the partial SLA indexes instead (the
    term still matches their ``WHERE``)."""
    if dialect == "sqlite":
        return sa.func.likelihood(t.c.merged_into_id.is_(None), sa.literal_column("0.99"))
    return t.c.merged_into_id.is_(None)


def _filtered(stmt: Any, filters: Mapping[str, Sequence[str]], *, viewer_id: int,
              now: dt.datetime, dialect: str = "postgresql") -> Any:
    stmt = stmt.where(_live(dialect))
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
        stmt = stmt.where(sa.or_(*(_state_where(s, now) for s in SLA_STATES if s in states)))
    return stmt


def _due_rows(conn: sa.Connection, stmt: Any, offset: int, limit: int) -> list[Any]:
    """Most urgent first, tickets without a running clock last.  PostgreSQL's ascending order
    puts NULLs last by itself: one walk of ``ix_tickets_sla_due``.  SQLite's puts them first,
    so the page is read in two walks: the timed tickets, then (past their end) the others by
    id, the offset carried over."""
    if conn.dialect.name == "postgresql":
        return list(conn.execute(stmt.order_by(t.c.sla_due_at, t.c.id)
                                 .offset(offset).limit(limit)))
    timed_stmt = stmt.where(t.c.sla_due_at.is_not(None))
    timed = list(conn.execute(timed_stmt.order_by(t.c.sla_due_at, t.c.id)
                              .offset(offset).limit(limit)))
    if len(timed) == limit:
        return timed
    if timed:
        n_timed = offset + len(timed)
    else:  # past the timed ones: how many there are (at most ``offset``), counted exactly
        n_timed = int(conn.execute(sa.select(sa.func.count()).select_from(
            timed_stmt.limit(offset + 1).subquery())).scalar_one())
    rest = conn.execute(stmt.where(t.c.sla_due_at.is_(None)).order_by(t.c.id)
                        .offset(max(0, offset - n_timed)).limit(limit - len(timed)))
    return [*timed, *rest]


def _bounded_count(conn: sa.Connection, stmt: Any) -> int:
    """How many rows ``stmt`` selects, counting no further than ``COUNT_CAP + 1``."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(
        stmt.limit(COUNT_CAP + 1).subquery())).scalar_one())


def page(conn: sa.Connection, filters: Mapping[str, Sequence[str]], *, viewer_id: int,
         now: dt.datetime, sort: str = "due", offset: int = 0, limit: int = 25,
         counts: bool = True) -> dict[str, Any]:
    """One page of rows, the total matching and the totals per SLA state.  Totals are counted
    up to ``COUNT_CAP`` each (``capped`` says a total is more): a page's cost never grows with
    the whole table, and past a thousand the exact number helps nobody."""
    base = ticket_columns().add_columns(running_due().label("running_due_at"),
                                        sla_state(now).label("sla_state"))
    dialect = conn.dialect.name
    stmt = _filtered(base, filters, viewer_id=viewer_id, now=now, dialect=dialect)
    if sort not in SORTS or sort == "due":
        rows = _due_rows(conn, stmt, offset, limit)
    else:
        # "new"/"old": by id, the order tickets were created in (``created_at`` is the
        # ingest batch's time, ids follow it), so the primary key serves it: no index on
        # ``created_at``, and no sort of every matching ticket.
        orders: dict[str, list[Any]] = {
            "new": [t.c.id.desc()], "old": [t.c.id],
            "updated": [t.c.last_message_at.desc(), t.c.id.desc()], "id": [t.c.id.desc()]}
        order = orders[sort]
        rows = list(conn.execute(stmt.order_by(*order).offset(offset).limit(limit)))
    by_state = {s: 0 for s in SLA_STATES}
    capped: dict[str, bool] = {s: False for s in SLA_STATES}
    if counts:
        wanted = filters.get("sla") or SLA_STATES
        for state in SLA_STATES:
            if state in wanted:
                only = {**filters, "sla": [state]}
                n = _bounded_count(conn, _filtered(sa.select(t.c.id), only,
                                                   viewer_id=viewer_id, now=now,
                                                   dialect=dialect))
                by_state[state], capped[state] = min(n, COUNT_CAP), n > COUNT_CAP
    return {"rows": [r._asdict() for r in rows], "total": sum(by_state.values()),
            "by_state": by_state, "capped": capped, "total_capped": any(capped.values())}


def choices(conn: sa.Connection, *, teams: Sequence[str] = (), topics: Sequence[str] = ()
            ) -> dict[str, list[str]]:
    """The values the filters offer: the configured teams and topics (not a scan of the
    tickets for the values they hold), and the staff who can hold a ticket."""
    out: dict[str, list[str]] = {"team": sorted(teams), "topic": sorted(topics),
                                 "language": ["en", "id"]}
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
