"""Pipeline step: relate a new ticket to near-identical complaints of *other* citizens (an
incident cluster such as a mass "OTP tidak masuk"), never merging them.

Candidates come from the indexed MinHash band keys of recent tickets (bounded per batch), are
filtered to the same topic, other customers and a time window, and scored exactly; a match above
the threshold joins (or starts) an incident."""

from __future__ import annotations

import datetime as dt
from typing import Any


from rapidfuzz import fuzz, process

from ticketing.domain.events import TicketRelated
from ticketing.services.ingest.batch import Batch, CandidateRead
from ticketing.store import bulk, tables
from ticketing.store import signatures as sig
from ticketing.store import tickets as q
from ticketing.store.ids import SMALL_BLOCK
from ticketing.store.locking import has_row_locks

incidents = tables.incidents
signatures = tables.signatures

WINDOW = dt.timedelta(hours=48)
THRESHOLD = 0.85
CANDIDATES_PER_TICKET = 30


def link_incidents(batch: Batch) -> None:
    fallback = batch.policy.evidence.fallback_topic
    fresh = [(w, batch.live_ticket(w.ticket_id)) for w in batch.works
             if w.outcome == "created" and w.ticket_id is not None]
    fresh = [(w, t) for w, t in fresh if t.id == w.ticket_id
             and (t.topic != fallback or w.evidence.cluster_key is not None)]
    if not fresh:
        return
    keyed: list[tuple[q.TicketState, list[int], int | None]] = []
    for work, ticket in fresh:
        ticket.fingerprint = work.evidence.fingerprint
        keyed.append((ticket, list(work.evidence.band_keys), work.evidence.cluster_key))
    horizon = min(t.first_message_at for t, _, _ in keyed) - WINDOW
    wanted = sorted({k for _, ks, _ in keyed for k in ks})
    early = batch.incident_candidates
    if early is not None and early.horizon <= horizon and early.keys.issuperset(wanted):
        known = {k: list(v) for k, v in early.known.items()}
    else:
        known = sig.recent_by_key(batch.conn, wanted, horizon)
    new_incidents: dict[int, dict[str, Any]] = {}
    joined: dict[int, int] = {}  # persisted ticket id → incident id it now belongs to
    rows: list[dict[str, Any]] = []
    for ticket, keys, cluster in keyed:
        best, best_score = _same_cluster(ticket, known.get(cluster, ()) if cluster else ()), 1.0
        seen: dict[int, dict[str, Any]] = {}
        for key in keys:
            for cand in known.get(key, ()):
                seen.setdefault(cand["ticket_id"], cand)
        ranked = sorted((c for c in seen.values()
                         if c["customer_id"] != ticket.customer_id and c["topic"] == ticket.topic
                         and abs(c["seen_at"] - ticket.first_message_at) <= WINDOW),
                        key=lambda c: c["seen_at"], reverse=True)[:CANDIDATES_PER_TICKET]
        found = process.extractOne(ticket.fingerprint or "",
                                   [c["fingerprint"] or "" for c in ranked],
                                   scorer=fuzz.token_set_ratio, score_cutoff=THRESHOLD * 100) \
            if best is None and ticket.fingerprint else None
        if found is not None:
            best, best_score = ranked[found[2]], float(found[1]) / 100.0
        if best is not None and best_score >= THRESHOLD:
            incident = best["incident_id"] or joined.get(best["ticket_id"])
            if incident is None:
                incident = batch.ids.one(incidents)
                new_incidents[incident] = {
                    "id": incident, "topic": ticket.topic,
                    "label": best["fingerprint"] or ticket.fingerprint or "",
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
            batch.record(TicketRelated(at=batch.now, ticket_id=ticket.id, incident_id=incident,
                                       related_ticket=best["ticket_id"],
                                       score=round(best_score, 3)))
        entry = {"ticket_id": ticket.id, "customer_id": ticket.customer_id,
                 "topic": ticket.topic, "incident_id": ticket.incident_id,
                 "seen_at": ticket.first_message_at, "fingerprint": ticket.fingerprint,
                 "state": ticket}
        for key in keys:
            known[key] = [entry, *known.get(key, ())[:sig.PER_KEY - 1]]
            rows.append({"band_key": key, "ticket_id": ticket.id,
                         "seen_at": ticket.first_message_at})
    batch.new_incidents.update(new_incidents)
    batch.incident_joins.update(joined)
    batch.new_signatures.extend(rows)


def _same_cluster(ticket: q.TicketState, candidates: Any) -> dict[str, Any] | None:
    """The latest ticket of another citizen in the same cluster (comments under one post)
    within the window: an incident whatever the words."""
    same = [c for c in candidates if c["customer_id"] != ticket.customer_id
            and abs(c["seen_at"] - ticket.first_message_at) <= WINDOW]
    return max(same, key=lambda c: c["seen_at"]) if same else None


def early_candidates(batch: Batch) -> tuple[str, tuple[Any, ...]] | None:
    """PostgreSQL, a live channel's batch of a message or few: the candidates its tickets would
    meet if they turn out new, read before the decision in the round trip that takes the locks
    (``CandidateRead``), instead of a round trip of their own after it.  For an appended
    message the read is wasted, but it is one indexed statement where a round trip is saved."""
    if not has_row_locks(batch.conn) or len(batch.works) > SMALL_BLOCK:
        return None
    fallback = batch.policy.evidence.fallback_topic
    works = [w for w in batch.active() if w.evidence.band_keys
             and (w.evidence.topic != fallback or w.evidence.cluster_key is not None)]
    if not works:
        return None
    keys = sorted({k for w in works for k in w.evidence.band_keys})
    horizon = min(w.msg.sent_at for w in works if w.msg is not None) - WINDOW
    batch.incident_candidates = CandidateRead(keys=set(keys), horizon=horizon, known={})
    return sig.RECENT_PG, (keys, horizon)


def accept_early_candidates(batch: Batch, rows: list[tuple[Any, ...]]) -> None:
    assert batch.incident_candidates is not None
    sig.add_candidates(batch.incident_candidates.known, rows)


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
