"""Search look-ups: the full-text index (SQLite FTS5 / PostgreSQL tsquery, the one place that
speaks either syntax) and tickets by their customers' identifiers.

The index is migration 0033's: ``messages_fts`` (FTS5, external content over ``messages``) on
SQLite, the GIN expression index ``ix_messages_search`` on PostgreSQL, whose expression
``PG_DOCUMENT`` repeats here word for word (the planner uses the index only for the same
expression).  Both are kept by the database in the writing transaction.  What is asked comes
from ``domain.search`` as words of letters and digits only, and is passed as one bound
parameter: typed text never becomes SQL, nor query syntax."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ticketing.domain.search import Phrase
from ticketing.store import tables

PG_DOCUMENT = ("to_tsvector('ticketing_id'::regconfig, "
               "left(coalesce(subject, '') || ' ' || body, 100000))")
Groups = Sequence[Sequence[Phrase]]


def _word(word: str) -> str:
    return "".join(ch for ch in word if ch.isalnum())  # (they are; never trust a caller)


def fts5_query(groups: Groups) -> str:
    """``("a" OR "b c"*) AND (...)``: FTS5 strings, a prefix star after a phrase."""
    def phrase(p: Phrase) -> str:
        return '"' + " ".join(_word(w) for w in p.words) + '"' + ("*" if p.prefix else "")
    return " AND ".join("(" + " OR ".join(phrase(p) for p in g) + ")" for g in groups)


def tsquery(groups: Groups) -> str:
    """``('a':* | 'b' <-> 'c') & (...)``, for ``to_tsquery``."""
    def phrase(p: Phrase) -> str:
        words = [f"'{_word(w)}'" for w in p.words]
        if p.prefix:
            words[-1] += ":*"
        return "(" + " <-> ".join(words) + ")"
    return " & ".join("(" + " | ".join(phrase(p) for p in g) + ")" for g in groups)


def text_hits(conn: sa.Connection, groups: Groups, *, cap: int) -> list[tuple[int, int]]:
    """(message id, ticket id) of the newest ``cap`` messages matching every group.  Our own
    automated messages (the acknowledgement's fixed text: "jangan bagikan kode OTP ...") are
    indexed but never a hit: they would match every ticket that got one."""
    if not groups or not all(groups):
        return []
    if conn.dialect.name == "sqlite":
        # The FTS5 table walks its matches newest first by itself (ORDER BY rowid DESC on the
        # virtual table alone, hence the subquery) and stops at the limit.
        rows: list[Any] = list(conn.execute(sa.text(
            "SELECT m.id, m.ticket_id FROM (SELECT rowid AS id FROM messages_fts "
            "WHERE messages_fts MATCH :q ORDER BY rowid DESC LIMIT :cap) AS f "
            "JOIN messages AS m ON m.id = f.id WHERE m.automation IS NULL ORDER BY m.id DESC"),
            {"q": fts5_query(groups), "cap": cap}))
    else:
        rows = _pg_newest(conn, tsquery(groups), cap)
    return [(int(r[0]), int(r[1])) for r in rows]


# Newest first in growing windows of message ids.  Left to itself, the planner gambles with
# ``ORDER BY id DESC LIMIT n``: it walks the primary key backwards computing each message's
# vector until n match, fast for a common word and a full scan (seconds) for a word nobody
# wrote.  Here only the GIN index is used (bitmap scans), over the newest 5,000 messages, then
# 50,000, 500,000, 5,000,000, all: a common word is done in the first window (a few thousand rows
# fetched at most), a rare one costs a few index look-ups.
WINDOWS = (5_000, 50_000, 500_000, 5_000_000)


def _pg_newest(conn: sa.Connection, query: str, cap: int) -> list[Any]:
    top = int(conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM messages")).scalar_one())
    sql = sa.text(f"SELECT id, ticket_id FROM messages WHERE {PG_DOCUMENT} @@ "
                  "to_tsquery('ticketing_id', :q) AND id > :floor AND automation IS NULL "
                  "ORDER BY id DESC LIMIT :cap")
    conn.exec_driver_sql("SET LOCAL enable_indexscan = off")
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    try:
        for window in (*WINDOWS, None):
            floor = top - window if window is not None else 0
            rows = list(conn.execute(sql, {"q": query, "floor": max(floor, 0), "cap": cap}))
            if len(rows) >= cap or floor <= 0:
                return rows
        return []
    finally:
        conn.exec_driver_sql("SET LOCAL enable_indexscan = on")
        conn.exec_driver_sql("SET LOCAL enable_seqscan = on")
    return [(int(r[0]), int(r[1])) for r in rows]


def customers_with(conn: sa.Connection, kind: str, value: str) -> list[int]:
    """The customers behind a normalised identifier: its owner, the customer it was merged
    into (following the chain), and the customers merged into those."""
    i, c = tables.identities, tables.customers
    found = set(conn.execute(sa.select(i.c.customer_id)
                             .where(i.c.kind == kind, i.c.value == value)).scalars())
    frontier = set(found)
    for _ in range(5):  # merge chains are short; a cycle cannot hold us
        if not frontier:
            break
        rows = conn.execute(sa.select(c.c.id, c.c.merged_into_id).where(
            sa.or_(c.c.id.in_(frontier), c.c.merged_into_id.in_(frontier)))).all()
        more = {int(x) for r in rows for x in (r.id, r.merged_into_id) if x is not None}
        frontier = more - found
        found |= more
    return sorted(int(x) for x in found)


def tickets_of(conn: sa.Connection, customer_ids: Sequence[int], *, cap: int) -> list[int]:
    t = tables.tickets
    if not customer_ids:
        return []
    return [int(x) for x in conn.execute(
        sa.select(t.c.id).where(t.c.customer_id.in_(list(customer_ids)))
        .order_by(t.c.id.desc()).limit(cap)).scalars()]


def ticket_rows(conn: sa.Connection, ticket_ids: Sequence[int]) -> dict[int, Any]:
    t, c, u = tables.tickets, tables.customers, tables.users
    if not ticket_ids:
        return {}
    rows = conn.execute(
        sa.select(t.c.id, t.c.subject, t.c.status, t.c.channel, t.c.topic, t.c.priority,
                  t.c.customer_id, c.c.display_name, u.c.name.label("assignee"),
                  t.c.merged_into_id, t.c.created_at, t.c.last_message_at)
        .select_from(t.join(c, c.c.id == t.c.customer_id)
                     .outerjoin(u, u.c.id == t.c.assignee_id))
        .where(t.c.id.in_(list(ticket_ids))))
    return {int(r.id): r for r in rows}


def latest_inbound(conn: sa.Connection, ticket_ids: Sequence[int]) -> dict[int, int]:
    """Each ticket's newest citizen message id (the snippet of an identifier hit)."""
    m = tables.messages
    if not ticket_ids:
        return {}
    rows = conn.execute(sa.select(m.c.ticket_id, sa.func.max(m.c.id))
                        .where(m.c.ticket_id.in_(list(ticket_ids)), m.c.direction == "in")
                        .group_by(m.c.ticket_id))
    return {int(r[0]): int(r[1]) for r in rows}


def message_texts(conn: sa.Connection, message_ids: Sequence[int], *,
                  chars: int = 20_000) -> dict[int, Any]:
    """Subject, the start of the body, direction, channel and time of these messages."""
    m = tables.messages
    if not message_ids:
        return {}
    rows = conn.execute(sa.select(m.c.id, m.c.direction, m.c.channel, m.c.sent_at, m.c.subject,
                                  sa.func.substr(m.c.body, 1, chars).label("body"))
                        .where(m.c.id.in_(list(message_ids))))
    return {int(r.id): r for r in rows}
