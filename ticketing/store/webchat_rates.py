"""The ``webchat_rates`` rows: the web chat's token buckets, shared by every web process.

A writer locks the buckets it is about to take from (PostgreSQL: the rows are created full if
missing, then ``SELECT ... FOR UPDATE`` in key order, so two processes taking from the same
bucket queue for it and never deadlock; SQLite's ``BEGIN IMMEDIATE`` holds the whole database),
then writes the new levels back in the same transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ticketing.store import tables

r = tables.webchat_rates


def _insert(conn: sa.Connection) -> Any:
    return postgresql.insert(r) if conn.dialect.name == "postgresql" else sqlite.insert(r)


def lock(conn: sa.Connection, keys: Collection[str], now: dt.datetime,
         full: Mapping[str, float]) -> dict[str, tuple[float, dt.datetime]]:
    """The buckets' (tokens, counted at), locked for this transaction; a bucket never seen is
    full (``full[key]``) now."""
    ordered = sorted(set(keys))
    if not ordered:
        return {}
    out: dict[str, tuple[float, dt.datetime]] = {}
    if conn.dialect.name == "postgresql":
        conn.execute(_insert(conn).on_conflict_do_nothing(),
                     [{"key": k, "tokens": float(full[k]), "at": now} for k in ordered])
        stmt = (sa.select(r.c.key, r.c.tokens, r.c.at).where(r.c.key.in_(ordered))
                .order_by(r.c.key).with_for_update())
    else:
        stmt = sa.select(r.c.key, r.c.tokens, r.c.at).where(r.c.key.in_(ordered))
    for row in conn.execute(stmt):
        out[row.key] = (float(row.tokens), row.at)
    for k in ordered:
        out.setdefault(k, (float(full[k]), now))
    return out


def save(conn: sa.Connection, levels: Mapping[str, tuple[float, dt.datetime]]) -> None:
    if not levels:
        return
    stmt = _insert(conn)
    stmt = stmt.on_conflict_do_update(index_elements=[r.c.key],
                                      set_={"tokens": stmt.excluded.tokens,
                                            "at": stmt.excluded.at})
    conn.execute(stmt, [{"key": k, "tokens": t, "at": at}
                        for k, (t, at) in sorted(levels.items())])


def forget(conn: sa.Connection, before: dt.datetime) -> int:
    """Buckets not touched since ``before`` (full again long since): gone, memory bounded."""
    return int(conn.execute(r.delete().where(r.c.at < before)).rowcount or 0)
