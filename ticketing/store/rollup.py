"""The report's rollups as each database keeps them (migration 0009): SQLite's triggers update
``report_rollup`` in place; PostgreSQL's append to ``report_rollup_delta`` (no row contention
between concurrent writers), which :func:`fold` moves into ``report_rollup`` from time to time.
Both are read together, so the report is exact whether or not the fold has run."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ticketing.store import tables

r, rd = tables.report_rollup, tables.report_rollup_delta
_FOLD_LOCK = 0x5E9_0009  # the advisory lock key of fold


def counted_rows(conn: sa.Connection, column: str) -> Any:
    """The rollup rows (``column``, day, kind, value, n) still to be summed: the rollup itself,
    and where triggers append deltas, the deltas too."""
    if conn.dialect.name == "sqlite":
        return r
    return sa.union_all(*(sa.select(x.c[column], x.c.day, x.c.kind, x.c.value, x.c.n)
                          for x in (r, rd))).subquery()


def fold(conn: sa.Connection) -> int:
    """Moves PostgreSQL's rollup deltas (appended by the triggers) into ``report_rollup``, in
    one statement; one fold at a time (a transaction-scoped advisory lock; a second caller
    skips).  The report is exact with or without it: folding only keeps its read short.
    Returns the number of delta rows folded (always 0 on SQLite, whose triggers update the
    rollup in place)."""
    if conn.dialect.name == "sqlite":
        return 0
    if not conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _FOLD_LOCK}
                        ).scalar():
        return 0
    return int(conn.execute(sa.text("""
        WITH moved AS (DELETE FROM report_rollup_delta RETURNING *),
        folded AS (
            INSERT INTO report_rollup (day, kind, channel, topic, team, agent, value, n)
            SELECT day, kind, channel, topic, team, agent, value, sum(n) FROM moved
            GROUP BY day, kind, channel, topic, team, agent, value
            ORDER BY day, kind, channel, topic, team, agent, value
            ON CONFLICT (day, kind, channel, topic, team, agent, value)
            DO UPDATE SET n = report_rollup.n + excluded.n)
        SELECT count(*) FROM moved""")).scalar_one())
