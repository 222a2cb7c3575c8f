"""Read use case: what a ticket is related to, with scores, for an agent to act on.

* ``duplicates``: the same customer's other live tickets (a manual merge is possible);
  their subjects, like the incident's, are masked for agents as in the ticket list;
* ``possible_same_citizen``: other customers with the same folded name who wrote on the same
  topic recently — a weak signal, shown, never acted on automatically;
* ``incident``: the cluster of near-identical complaints by other citizens.
Every list is bounded and read through an index."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ticketing.domain.errors import NotFound
from ticketing.domain.redact import redact
from ticketing.domain.similarity import name_similarity, text_similarity
from ticketing.services.accounts import Principal
from ticketing.store import tables
from ticketing.store import tickets as q

LIMIT = 50
incidents = tables.incidents


def related_tickets(conn: sa.Connection, ticket_id: int, viewer: Principal) -> dict[str, Any]:
    t, c = q.tickets, q.customers
    # The ticket and its citizen's name in one read (the name finds "possible same citizen").
    me = conn.execute(sa.select(t.c.id, t.c.customer_id, t.c.topic, t.c.fingerprint,
                                t.c.incident_id, t.c.first_message_at, c.c.display_name,
                                c.c.name_key)
                      .select_from(t.outerjoin(c, c.c.id == t.c.customer_id))
                      .where(t.c.id == ticket_id)).first()
    if me is None:
        raise NotFound(f"no ticket {ticket_id}")
    mine = me.fingerprint or ""
    cols = (t.c.id, t.c.customer_id, t.c.topic, t.c.status, t.c.fingerprint, t.c.created_at,
            t.c.subject)
    private = not viewer.can_see_personal_data()

    def subject(text: str | None) -> str | None:  # masked for agents, as views.list_tickets
        return redact(text) if private and text else text
    own = conn.execute(sa.select(*cols).where(t.c.customer_id == me.customer_id,
                                              t.c.id != ticket_id, t.c.merged_into_id.is_(None))
                       .order_by(t.c.id.desc()).limit(LIMIT)).all()
    duplicates = sorted(({"ticket_id": r.id, "subject": subject(r.subject), "topic": r.topic,
                          "status": r.status,
                          "score": round(_score(mine, r.fingerprint, me.topic == r.topic), 3),
                          "reason": "same customer"} for r in own),
                        key=lambda d: -d["score"])

    name = me
    suggestions: list[dict[str, Any]] = []
    if name.name_key:
        others = conn.execute(
            sa.select(c.c.id, c.c.display_name, c.c.name_key)
            .where(c.c.name_key == name.name_key, c.c.id != me.customer_id,
                   c.c.merged_into_id.is_(None)).limit(LIMIT)).all()
        # The latest ticket on the same topic of each of them, in one grouped read.
        topical_of = {int(cid): int(tid) for cid, tid in conn.execute(
            sa.select(t.c.customer_id, sa.func.max(t.c.id))
            .where(t.c.customer_id.in_([o.id for o in others]), t.c.topic == me.topic,
                   t.c.merged_into_id.is_(None))
            .group_by(t.c.customer_id))} if others else {}
        for other in others:
            topical = topical_of.get(int(other.id))
            suggestions.append({
                "customer_id": other.id, "name": other.display_name,
                "score": round(name_similarity(name.display_name or "",
                                               other.display_name or "")
                               * (1.0 if topical else 0.7), 3),
                "ticket_id": topical,
                "reason": "similar name" + (", same topic" if topical else ""),
                "action": "verify identity before merging customers"})
        suggestions.sort(key=lambda s: -s["score"])

    incident: dict[str, Any] | None = None
    if me.incident_id is not None:
        inc = conn.execute(sa.select(incidents).where(incidents.c.id == me.incident_id)).first()
        members = conn.execute(sa.select(*cols).where(t.c.incident_id == me.incident_id,
                                                      t.c.id != ticket_id)
                               .order_by(t.c.id.desc()).limit(LIMIT)).all()
        if inc is not None:
            incident = {"incident_id": inc.id, "topic": inc.topic, "label": inc.label,
                        "ticket_count": inc.ticket_count,
                        "first_seen_at": inc.first_seen_at.isoformat(),
                        "last_seen_at": inc.last_seen_at.isoformat(),
                        "tickets": [{"ticket_id": r.id, "subject": subject(r.subject),
                                     "status": r.status,
                                     "score": round(_score(mine, r.fingerprint, True), 3)}
                                    for r in members]}
    return {"ticket_id": ticket_id, "duplicates": duplicates,
            "possible_same_citizen": suggestions, "incident": incident}


def _score(a: str, b: str | None, same_topic: bool) -> float:
    return text_similarity(a, b or "") * (1.0 if same_topic else 0.6)


def list_incidents(conn: sa.Connection, *, limit: int = 50) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(incidents).order_by(incidents.c.last_seen_at.desc())
                        .limit(limit)).all()
    return [{"incident_id": r.id, "topic": r.topic, "label": r.label,
             "ticket_count": r.ticket_count, "first_seen_at": r.first_seen_at.isoformat(),
             "last_seen_at": r.last_seen_at.isoformat()} for r in rows]
