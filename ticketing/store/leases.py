"""Leases: one holder at a time for a named job (a poller) across every worker host, taken over
when the holder stops renewing.  Each change is one compare-and-set statement, so two workers
racing for a free or expired lease cannot both win on either database."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ticketing.store import tables

t = tables.leases


def acquire(conn: sa.Connection, name: str, holder: str, now: dt.datetime,
            ttl: dt.timedelta) -> bool:
    """Take the lease if it is free, expired or already ours (then renew it); True if we hold
    it until ``now + ttl``."""
    insert = (postgresql.insert(t) if conn.dialect.name == "postgresql" else sqlite.insert(t))
    created = conn.execute(insert.values(name=name, holder=holder, fence=1, acquired_at=now,
                                         expires_at=now + ttl).on_conflict_do_nothing())
    if created.rowcount == 1:
        return True
    renewed = conn.execute(t.update().where(t.c.name == name, t.c.holder == holder)
                           .values(expires_at=now + ttl))
    if renewed.rowcount == 1:
        return True
    taken = conn.execute(t.update().where(t.c.name == name, t.c.expires_at <= now)
                         .values(holder=holder, fence=t.c.fence + 1, acquired_at=now,
                                 expires_at=now + ttl))
    return taken.rowcount == 1


def release(conn: sa.Connection, name: str, holder: str) -> None:
    """Give the lease up (only if it is ours) so that another worker takes it at once: it
    expires now (the row stays, so the fence keeps growing)."""
    conn.execute(t.update().where(t.c.name == name, t.c.holder == holder)
                 .values(expires_at=t.c.acquired_at))


def holder(conn: sa.Connection, name: str, now: dt.datetime) -> str | None:
    """Who holds the lease now (None: nobody, or it expired)."""
    return conn.execute(sa.select(t.c.holder).where(t.c.name == name, t.c.expires_at > now)
                        ).scalar_one_or_none()
