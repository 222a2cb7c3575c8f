"""Use case: search tickets by their words (subjects, bodies, call transcripts) or by a
citizen's NIK, phone or e-mail, for any signed-in staff member.

The query is read by ``domain.search`` (identifier, or words with their Indonesian spellings);
the look-ups are ``store.search``'s.  A result is one ticket, newest matching message first,
with a snippet of that message.  Personal data is masked here for roles that may not see it
(agents), as ``views`` masks it: the subject, the snippet (masked whole, then cut, so a window
never opens a mask) and the identifier that matched; supervisors and admins see them whole.

Bounded work: only as many matching messages (newest first) as the page needs are read, never
more than ``MAX_HITS``; a query matching more says so (``capped``: ``total`` is then a lower
bound) instead of counting them all.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ticketing.domain.errors import InvalidInput
from ticketing.domain.identity import mask
from ticketing.domain.redact import redact
from ticketing.domain.search import MAX_QUERY_CHARS as MAX_QUERY_CHARS
from ticketing.domain.search import SearchQuery, SearchVocabulary, snippet
from ticketing.services.accounts import Principal
from ticketing.store import search as store

PER_PAGE = 20
MAX_HITS = 1000
MAX_PAGE = MAX_HITS // PER_PAGE


def read_query(vocabulary: SearchVocabulary, typed: str) -> SearchQuery:
    if len(typed) > MAX_QUERY_CHARS:
        raise InvalidInput(f"q: at most {MAX_QUERY_CHARS} characters")
    return vocabulary.read(typed)


def search(conn: sa.Connection, viewer: Principal, query: SearchQuery, *,
           page: int = 1) -> dict[str, Any]:
    if not 1 <= page <= MAX_PAGE:
        raise InvalidInput(f"page must be between 1 and {MAX_PAGE}")
    private = not viewer.can_see_personal_data()
    out: dict[str, Any] = {"query": query.typed, "kind": "empty", "identifier": None,
                           "terms": list(query.highlight), "page": page,
                           "per_page": PER_PAGE, "total": 0, "capped": False,
                           "has_more": False, "items": []}
    if query.empty:
        return out
    hit_message: dict[int, int] = {}  # ticket → the message shown for it
    if query.identifier is not None:
        kind, value = query.identifier
        out["kind"] = "identifier"
        out["identifier"] = {"kind": str(kind), "value": mask(kind, value) if private else value}
        customers = store.customers_with(conn, str(kind), value)
        order = store.tickets_of(conn, customers, cap=MAX_HITS)
        out["capped"] = len(order) >= MAX_HITS
        if not customers and query.written:
            out["kind"] = "identifier_text"  # nobody has it: where it is written
            order = _by_text(conn, [query.written], hit_message, out, page)
    else:
        out["kind"] = "text"
        order = _by_text(conn, query.groups, hit_message, out, page)
    out["total"] = len(order)
    shown = order[(page - 1) * PER_PAGE:page * PER_PAGE]
    out["has_more"] = len(order) > page * PER_PAGE
    missing = [t for t in shown if t not in hit_message]
    hit_message.update(store.latest_inbound(conn, missing))
    tickets = store.ticket_rows(conn, shown)
    texts = store.message_texts(conn, [hit_message[t] for t in shown if t in hit_message])
    out["items"] = [_item(tickets[t], texts.get(hit_message.get(t, -1)), query, private)
                    for t in shown if t in tickets]
    return out


def _by_text(conn: sa.Connection, groups: Any, hit_message: dict[int, int],
             out: dict[str, Any], page: int) -> list[int]:
    """Tickets of the newest matching messages, enough for this page and one more ticket: a
    few times that many messages are read, more only when they collapse into fewer tickets
    (every message read costs, on a common word most of all).  ``capped``: more match than
    were read, so ``total`` is a lower bound."""
    need = page * PER_PAGE + 1
    cap = min(MAX_HITS, 3 * need)
    while True:
        hits = store.text_hits(conn, groups, cap=cap)
        hit_message.clear()
        for message_id, ticket_id in hits:  # newest first: a ticket's newest match stands
            hit_message.setdefault(ticket_id, message_id)
        exhausted = len(hits) < cap
        if exhausted or len(hit_message) >= need or cap >= MAX_HITS:
            break
        cap = min(MAX_HITS, cap * 4)
    out["capped"] = not exhausted
    return list(hit_message)


def _item(ticket: Any, message: Any, query: SearchQuery, private: bool) -> dict[str, Any]:
    def shown(text: str | None) -> str | None:
        return redact(text) if private and text else text

    item: dict[str, Any] = {
        "ticket_id": ticket.id, "subject": shown(ticket.subject), "status": ticket.status,
        "channel": ticket.channel, "topic": ticket.topic, "priority": ticket.priority,
        "customer_id": ticket.customer_id, "customer_name": ticket.display_name,
        "assignee": ticket.assignee, "merged_into": ticket.merged_into_id,
        "created_at": ticket.created_at.isoformat(),
        "last_message_at": ticket.last_message_at.isoformat(), "message": None}
    if message is not None:
        text = " ".join(x for x in (message.subject, message.body) if x)
        item["message"] = {"id": message.id, "direction": message.direction,
                           "channel": message.channel, "sent_at": message.sent_at.isoformat(),
                           "snippet": snippet(shown(text) or "", query.highlight)}
    return item
