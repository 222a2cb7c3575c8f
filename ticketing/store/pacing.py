"""Pacing: how fast a channel may send, shared by every worker through the database.

Each pace key (a channel, or a channel and one recipient) has a slot: the earliest instant its
next send may go.  ``reserve`` takes the latest slot among the keys of one send and moves each
key's slot one interval past it (the generic cell rate algorithm with no burst allowance), in the
caller's transaction with the rows locked, so two workers never take the same instant; a slot
further away than the caller will wait for is not taken."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ticketing.store import tables
from ticketing.store.locking import for_update

t = tables.pace_slots


# How long a held key (a recipient whose send is in flight) stays held if its sender never
# releases it (the worker died mid-send).
HOLD = dt.timedelta(seconds=60)


def reserve(conn: sa.Connection, keys: Sequence[tuple[str, float]], now: dt.datetime,
            max_wait: dt.timedelta, held: Sequence[str] = ()) -> tuple[dt.datetime, bool]:
    """``keys``: (pace key, minimum seconds between two sends).  Returns the instant the send
    may go and whether it was reserved: False when that instant is more than ``max_wait`` away
    (nothing changed then; ask again at that instant).  A key in ``held`` is taken until
    ``release`` (at most ``HOLD``): its next send is timed from this one's answer."""
    if not keys:
        return now, True
    names = sorted({k[:400] for k, _ in keys})
    insert = (postgresql.insert(t) if conn.dialect.name == "postgresql" else sqlite.insert(t))
    conn.execute(insert.values([{"key": k, "next_at": now} for k in names])
                 .on_conflict_do_nothing())
    rows = conn.execute(for_update(conn, sa.select(t.c.key, t.c.next_at)
                                   .where(t.c.key.in_(names)).order_by(t.c.key))).all()
    at = max([now, *(_aware(r.next_at) for r in rows)])
    if at - now > max_wait:
        return at, False
    interval = {k[:400]: seconds for k, seconds in keys}
    holding = {k[:400] for k in held}
    for name in names:
        conn.execute(t.update().where(t.c.key == name).values(
            next_at=at + HOLD if name in holding else at + dt.timedelta(seconds=interval[name])))
    return at, True


def release(conn: sa.Connection, key: str, at: dt.datetime, next_at: dt.datetime) -> None:
    """The send that held ``key`` from its slot ``at`` is answered: the key's next send from
    ``next_at`` (unless the hold ran out and another send took the key meanwhile)."""
    conn.execute(t.update().where(t.c.key == key[:400], t.c.next_at == at + HOLD)
                 .values(next_at=next_at))


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
