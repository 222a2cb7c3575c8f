"""The MinHash band keys of recent tickets (``ticket_signatures``): which tickets lately carried
a band key, with what the incident step needs of them.  Each database has its own statement:
SQLite a hand-written UNION of index ranges, PostgreSQL one LATERAL statement that can also ride
in the ingest's lock round trip (``RECENT_PG``, driver placeholders)."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from ticketing.models.base import UTCDateTime
from ticketing.store import bulk, tables

PER_KEY = 4  # the most recent tickets kept per band key
KEYS_PER_QUERY = 200


@functools.lru_cache(maxsize=64)
def _hits_sql(count: int) -> sa.TextualSelect:
    """SQLite: hand-written because a 200-way UNION built with the expression language costs
    more to compile than to run.  Only placeholders vary; the values are bound."""
    sql = " UNION ALL ".join(
        f"SELECT * FROM (SELECT band_key, ticket_id, seen_at FROM ticket_signatures "
        f"WHERE band_key = :k{i} AND seen_at >= :h ORDER BY seen_at DESC LIMIT {PER_KEY})"
        for i in range(count))
    return sa.text(sql).bindparams(sa.bindparam("h", type_=UTCDateTime())).columns(
        sa.column("band_key"), sa.column("ticket_id"), sa.column("seen_at", UTCDateTime()))


def recent_by_key(conn: sa.Connection, keys: list[int], horizon: dt.datetime
                   ) -> dict[int, list[dict[str, Any]]]:
    """The ``PER_KEY`` most recent tickets under each band key: one index range each, however
    large a mass incident grows; then those tickets by primary key (a join here tempts the
    planner into hashing the whole tickets table)."""
    if conn.dialect.name == "postgresql":
        return _recent_by_key_pg(conn, keys, horizon)
    hits: list[tuple[int, int, dt.datetime]] = []
    for start in range(0, len(keys), KEYS_PER_QUERY):
        chunk = keys[start:start + KEYS_PER_QUERY]
        params: dict[str, Any] = {"h": horizon, **{f"k{i}": k for i, k in enumerate(chunk)}}
        hits.extend((int(r[0]), int(r[1]), r[2])
                    for r in conn.execute(_hits_sql(len(chunk)), params))
    t = tables.tickets
    info: dict[int, Any] = {}
    ids = sorted({h[1] for h in hits})
    for start in range(0, len(ids), 900):
        for r in conn.execute(sa.select(t.c.id, t.c.customer_id, t.c.topic, t.c.incident_id,
                                        t.c.fingerprint, t.c.merged_into_id)
                              .where(t.c.id.in_(ids[start:start + 900]))):
            info[int(r.id)] = r
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for key, ticket_id, seen_at in hits:
        row = info.get(ticket_id)
        if row is None or row.merged_into_id is not None:
            continue
        out[key].append({"ticket_id": ticket_id, "seen_at": seen_at,
                         "customer_id": int(row.customer_id), "topic": row.topic,
                         "incident_id": row.incident_id, "fingerprint": row.fingerprint,
                         "state": None})
    return out


# PostgreSQL: the hits and their tickets in one statement (one round trip); each ticket is a
# primary-key probe in a LATERAL subquery, so the planner cannot hash the tickets table.
# Driver placeholders: it also rides in the lock round trip (``early_candidates``).
RECENT_PG = (
    "SELECT k.key, s.ticket_id, s.seen_at, t.customer_id, t.topic, t.incident_id, "
    "t.fingerprint, t.merged_into_id "
    "FROM unnest(%s::bigint[]) AS k(key) CROSS JOIN LATERAL "
    "(SELECT ticket_id, seen_at FROM ticket_signatures WHERE band_key = k.key "
    f"AND seen_at >= %s ORDER BY seen_at DESC LIMIT {PER_KEY}) s CROSS JOIN LATERAL "
    "(SELECT customer_id, topic, incident_id, fingerprint, merged_into_id FROM tickets "
    "WHERE id = s.ticket_id) t")


def _recent_by_key_pg(conn: sa.Connection, keys: list[int], horizon: dt.datetime
                      ) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for rows in bulk.pipeline(conn, [(RECENT_PG, (keys[start:start + KEYS_PER_QUERY], horizon))
                                     for start in range(0, len(keys), KEYS_PER_QUERY)]):
        add_candidates(out, rows)
    return out


def add_candidates(known: dict[int, list[dict[str, Any]]], rows: list[tuple[Any, ...]]) -> None:
    """Rows of ``RECENT_PG`` filed under their band key (merged tickets left out)."""
    for key, ticket_id, seen_at, customer_id, topic, incident_id, fingerprint, merged in rows:
        if merged is not None:
            continue
        known.setdefault(int(key), []).append({
            "ticket_id": int(ticket_id), "seen_at": seen_at.astimezone(dt.UTC),
            "customer_id": int(customer_id), "topic": topic, "incident_id": incident_id,
            "fingerprint": fingerprint, "state": None})
