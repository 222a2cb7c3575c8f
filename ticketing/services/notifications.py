"""Use cases: in-app notifications for staff — written by other use cases (SLA escalation) in
their own transaction, listed and marked read by their recipient only.

A notification belongs to one user; asking for someone else's is answered as if it did not
exist (``NotFound``), so ids cannot be probed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from ticketing.domain import bounds
from ticketing.domain.errors import InvalidInput, NotFound
from ticketing.services.accounts import Principal, Role
from ticketing.store import tables

n, users = tables.notifications, tables.users
MAX_LIMIT = 200


def notify(conn: sa.Connection, user_ids: Iterable[int], *, ticket_id: int | None, kind: str,
           data: Mapping[str, Any], now: dt.datetime) -> int:
    """One notification per user (one ``executemany``); returns how many were written."""
    rows = [{"user_id": uid, "ticket_id": ticket_id, "kind": kind, "data": dict(data),
             "created_at": now, "read_at": None} for uid in sorted(set(user_ids))]
    if rows:
        conn.execute(n.insert(), rows)
    return len(rows)


def active_users(conn: sa.Connection, *, role: Role | None = None,
                 ids: Iterable[int] | None = None) -> list[sa.Row[Any]]:
    """Active staff (id, email, name), by role or by id."""
    stmt = sa.select(users.c.id, users.c.email, users.c.name).where(users.c.active.is_(True))
    if role is not None:
        stmt = stmt.where(users.c.role == str(role))
    if ids is not None:
        stmt = stmt.where(users.c.id.in_(list(ids)))
    return list(conn.execute(stmt.order_by(users.c.id)))


def _shown(row: Any) -> dict[str, Any]:
    return {"id": row.id, "ticket_id": row.ticket_id, "kind": row.kind, "data": row.data or {},
            "created_at": row.created_at.isoformat(),
            "read_at": row.read_at.isoformat() if row.read_at else None}


_COLUMNS = (n.c.id, n.c.ticket_id, n.c.kind, n.c.data, n.c.created_at, n.c.read_at)


def list_notifications(conn: sa.Connection, viewer: Principal, *, unread: bool = False,
                       limit: int = 50, cursor: int | None = None) -> dict[str, Any]:
    """The viewer's own, newest first, keyset-paginated by id (``cursor``: the last id seen)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    stmt = (sa.select(*_COLUMNS).where(n.c.user_id == viewer.user_id)
            .order_by(n.c.id.desc()).limit(limit))
    if unread:
        stmt = stmt.where(n.c.read_at.is_(None))
    if cursor is not None:
        stmt = stmt.where(n.c.id < bounds.check_id(cursor, "cursor"))
    items = [_shown(r) for r in conn.execute(stmt)]
    unread_count = conn.execute(sa.select(sa.func.count()).select_from(n).where(
        n.c.user_id == viewer.user_id, n.c.read_at.is_(None))).scalar_one()
    return {"items": items, "unread": int(unread_count),
            "next_cursor": items[-1]["id"] if len(items) == limit else None}


def mark_read(conn: sa.Connection, viewer: Principal, notification_id: int,
              now: dt.datetime) -> dict[str, Any]:
    """Idempotent: reading an already-read notification keeps its first read time."""
    mine = sa.and_(n.c.id == notification_id, n.c.user_id == viewer.user_id)
    conn.execute(n.update().where(mine, n.c.read_at.is_(None)).values(read_at=now))
    row = conn.execute(sa.select(*_COLUMNS).where(mine)).first()
    if row is None:
        raise NotFound(f"no notification {notification_id}")
    return _shown(row)


def mark_all_read(conn: sa.Connection, viewer: Principal, now: dt.datetime) -> dict[str, Any]:
    result = conn.execute(n.update().where(n.c.user_id == viewer.user_id,
                                           n.c.read_at.is_(None)).values(read_at=now))
    return {"marked": int(result.rowcount or 0)}
