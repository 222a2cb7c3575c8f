"""Reading the live events (``live_events``, written by migration 0033's triggers in every
writing transaction) and waiting for new ones.

Both databases are read the same way, by id; they differ in how a reader learns there is more:
* SQLite has one writer at a time, so ids are committed in order and ``after(cursor)`` polled
  a few times a second misses nothing (an index range on the primary key: nothing read when
  nothing is new).
* PostgreSQL's concurrent writers can commit a lower id after a higher one, so a cursor alone
  could skip an event.  Its triggers ``pg_notify`` each statement's id range, delivered at
  commit; ``Listener`` waits on that channel and the reader fetches exactly those ranges.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ticketing.store import tables

CHANNEL = "ticketing_live"
e = tables.live_events
_COLUMNS = (e.c.id, e.c.kind, e.c.ticket_id, e.c.message_id, e.c.user_id, e.c.created_at)


def notifies(engine: sa.Engine) -> bool:
    """Whether new events are announced (PostgreSQL) rather than polled for (SQLite)."""
    return engine.dialect.name == "postgresql"


def latest_id(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(e.c.id), 0))).scalar_one())


def after(conn: sa.Connection, cursor: int, *, limit: int = 1000) -> list[Any]:
    return list(conn.execute(sa.select(*_COLUMNS).where(e.c.id > cursor)
                             .order_by(e.c.id).limit(limit)))


def within(conn: sa.Connection, ranges: Sequence[tuple[int, int]]) -> list[Any]:
    """The events whose ids fall in any of these (lo, hi) ranges, by id."""
    if not ranges:
        return []
    where = sa.or_(*(e.c.id.between(lo, hi) for lo, hi in ranges))
    return list(conn.execute(sa.select(*_COLUMNS).where(where).order_by(e.c.id)))


def expire(conn: sa.Connection, before: dt.datetime, *, chunk: int = 10_000) -> int:
    """Forget events written before ``before`` (read by every serving process long ago), at
    most ``chunk`` a call: only the oldest ``chunk`` rows are looked at (ids grow with time),
    so the work is bounded however large a backlog the table holds."""
    oldest = sa.select(e.c.id, e.c.created_at).order_by(e.c.id).limit(chunk).subquery()
    upto = conn.execute(sa.select(sa.func.max(oldest.c.id))
                        .where(oldest.c.created_at < before)).scalar()
    if upto is None:
        return 0
    return int(conn.execute(e.delete().where(e.c.id <= upto)).rowcount or 0)


class Listener:
    """PostgreSQL: a connection of its own (autocommit) listening on ``CHANNEL``."""

    def __init__(self, engine: sa.Engine) -> None:
        import psycopg  # the driver, here only: a store concern

        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._conn = psycopg.connect(url, autocommit=True)
        self._conn.execute(f"LISTEN {CHANNEL}")

    def wait(self, timeout: float) -> list[tuple[int, int]]:
        """The id ranges announced within ``timeout`` seconds (empty: none)."""
        # (One generator at a time: it holds the connection's lock.  Notifications that came in
        # the same packet are all yielded; later ones wait for the next call.)
        notes = list(self._conn.notifies(timeout=timeout, stop_after=1))
        return [r for note in notes for r in _ranges(note.payload)]

    def close(self) -> None:
        self._conn.close()


def _ranges(payload: str) -> list[tuple[int, int]]:
    try:
        lo, hi = (int(x) for x in payload.split())
    except ValueError:
        return []
    return [(lo, hi)]
