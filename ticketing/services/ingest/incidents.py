"""Pipeline step: relate a new ticket to near-identical complaints of *other* citizens (an
incident cluster such as a mass "OTP tidak masuk"), never merging them.

Candidates come from the indexed MinHash band keys of recent tickets (bounded per batch), are
filtered to the same topic, other customers and a time window, and scored exactly; a match above
the threshold joins (or starts) an incident."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from rapidfuzz import fuzz, process

from ticketing.models.base import UTCDateTime
from ticketing.services.ingest.batch import Batch, CandidateRead
from ticketing.store import bulk, tables
from ticketing.store import tickets as q
from ticketing.store.ids import SMALL_BLOCK

incidents = tables.incidents
signatures = tables.signatures

WINDOW = dt.timedelta(hours=48)
THRESHOLD = 0.85
CANDIDATES_PER_TICKET = 30
PER_KEY = 4
KEYS_PER_QUERY = 200


def link_incidents(batch: Batch) -> None:
    fallback = batch.policy.evidence.fallback_topic
    fresh = [(w, batch.live_ticket(w.ticket_id)) for w in batch.works
             if w.outcome == "created" and w.ticket_id is not None]
    fresh = [(w, t) for w, t in fresh if t.id == w.ticket_id and t.topic != fallback]
    if not fresh:
        return
    keyed: list[tuple[q.TicketState, list[int]]] = []
    for work, ticket in fresh:
        ticket.fingerprint = work.evidence.fingerprint
        keyed.append((ticket, list(work.evidence.band_keys)))
    horizon = min(t.first_message_at for t, _ in keyed) - WINDOW
    wanted = sorted({k for _, ks in keyed for k in ks})
    early = batch.incident_candidates
    if early is not None and early.horizon <= horizon and early.keys.issuperset(wanted):
        known = {k: list(v) for k, v in early.known.items()}
    else:
        known = _recent_by_key(batch.conn, wanted, horizon)
    new_incidents: dict[int, dict[str, Any]] = {}
    joined: dict[int, int] = {}  # persisted ticket id → incident id it now belongs to
    rows: list[dict[str, Any]] = []
    for ticket, keys in keyed:
        seen: dict[int, dict[str, Any]] = {}
        for key in keys:
            for cand in known.get(key, ()):
                seen.setdefault(cand["ticket_id"], cand)
        ranked = sorted((c for c in seen.values()
                         if c["customer_id"] != ticket.customer_id and c["topic"] == ticket.topic
                         and abs(c["seen_at"] - ticket.first_message_at) <= WINDOW),
                        key=lambda c: c["seen_at"], reverse=True)[:CANDIDATES_PER_TICKET]
        best, best_score = None, 0.0
        found = process.extractOne(ticket.fingerprint or "",
                                   [c["fingerprint"] or "" for c in ranked],
                                   scorer=fuzz.token_set_ratio, score_cutoff=THRESHOLD * 100)
        if found is not None:
            best, best_score = ranked[found[2]], float(found[1]) / 100.0
        if best is not None and best_score >= THRESHOLD:
            incident = best["incident_id"] or joined.get(best["ticket_id"])
            if incident is None:
                incident = batch.ids.one(incidents)
                new_incidents[incident] = {
                    "id": incident, "topic": ticket.topic, "label": best["fingerprint"],
                    "ticket_count": 1, "first_seen_at": best["seen_at"],
                    "last_seen_at": best["seen_at"], "created_at": batch.now}
                if best.get("state") is not None:
                    best["state"].incident_id = incident
                else:
                    joined[best["ticket_id"]] = incident
                best["incident_id"] = incident
            ticket.incident_id = incident
            batch.incident_growth[incident] = batch.incident_growth.get(incident, 0) + 1
            last = batch.incident_seen.get(incident)
            batch.incident_seen[incident] = max(last or ticket.first_message_at,
                                                ticket.first_message_at)
            batch.add_audit("ticket.related", ticket_id=ticket.id, incident_id=incident,
                            related_ticket=best["ticket_id"], score=round(best_score, 3))
        entry = {"ticket_id": ticket.id, "customer_id": ticket.customer_id,
                 "topic": ticket.topic, "incident_id": ticket.incident_id,
                 "seen_at": ticket.first_message_at, "fingerprint": ticket.fingerprint,
                 "state": ticket}
        for key in keys:
            known[key] = [entry, *known.get(key, ())[:PER_KEY - 1]]
            rows.append({"band_key": key, "ticket_id": ticket.id,
                         "seen_at": ticket.first_message_at})
    batch.new_incidents.update(new_incidents)
    batch.incident_joins.update(joined)
    batch.new_signatures.extend(rows)


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


def _recent_by_key(conn: sa.Connection, keys: list[int], horizon: dt.datetime
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
    t = q.tickets
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
_RECENT_PG = (
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
    for rows in bulk.pipeline(conn, [(_RECENT_PG, (keys[start:start + KEYS_PER_QUERY], horizon))
                                     for start in range(0, len(keys), KEYS_PER_QUERY)]):
        _add_candidates(out, rows)
    return out


def _add_candidates(known: dict[int, list[dict[str, Any]]], rows: list[tuple[Any, ...]]) -> None:
    """Rows of ``_RECENT_PG`` filed under their band key (merged tickets left out)."""
    for key, ticket_id, seen_at, customer_id, topic, incident_id, fingerprint, merged in rows:
        if merged is not None:
            continue
        known.setdefault(int(key), []).append({
            "ticket_id": int(ticket_id), "seen_at": seen_at.astimezone(dt.UTC),
            "customer_id": int(customer_id), "topic": topic, "incident_id": incident_id,
            "fingerprint": fingerprint, "state": None})


def early_candidates(batch: Batch) -> tuple[str, tuple[Any, ...]] | None:
    """PostgreSQL, a live channel's batch of a message or few: the candidates its tickets would
    meet if they turn out new, read before the decision in the round trip that takes the locks
    (``CandidateRead``), instead of a round trip of their own after it.  For an appended
    message the read is wasted, but it is one indexed statement where a round trip is saved."""
    if batch.conn.dialect.name != "postgresql" or len(batch.works) > SMALL_BLOCK:
        return None
    fallback = batch.policy.evidence.fallback_topic
    works = [w for w in batch.active() if w.evidence.topic != fallback and w.evidence.band_keys]
    if not works:
        return None
    keys = sorted({k for w in works for k in w.evidence.band_keys})
    horizon = min(w.msg.sent_at for w in works if w.msg is not None) - WINDOW
    batch.incident_candidates = CandidateRead(keys=set(keys), horizon=horizon, known={})
    return _RECENT_PG, (keys, horizon)


def accept_early_candidates(batch: Batch, rows: list[tuple[Any, ...]]) -> None:
    assert batch.incident_candidates is not None
    _add_candidates(batch.incident_candidates.known, rows)


def write_new_incidents(batch: Batch) -> None:
    """Before the tickets are inserted: they refer to these rows."""
    q.insert_rows(batch.conn, incidents, list(batch.new_incidents.values()))


def write_incident_links(batch: Batch) -> None:
    """After the tickets exist: signatures, older tickets drawn into a new incident, counts."""
    conn = batch.conn
    bulk.update_by_id(conn, q.tickets, [{"id": k, "incident_id": v}
                                        for k, v in batch.incident_joins.items()])
    bulk.update_by_id(conn, incidents, [
        {"id": incident, "ticket_count": grown, "last_seen_at": batch.incident_seen[incident]}
        for incident, grown in sorted(batch.incident_growth.items())], expressions={
        "ticket_count": "ticket_count + {v}",
        "last_seen_at": "CASE WHEN last_seen_at < {v} THEN {v} ELSE last_seen_at END"})
    q.insert_rows(conn, signatures, batch.new_signatures)
