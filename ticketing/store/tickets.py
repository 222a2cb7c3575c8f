"""Set-based queries and writes the ingest pipeline needs: every lookup takes a whole batch of
keys and uses an index (messages by channel id, identities by kind and value, a customer's
active tickets), so nothing per message scans a growing table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ticketing.domain.errors import NotFound
from ticketing.domain.lifecycle import ACTIVE_STATUSES
from ticketing.store import bulk, tables

customers = tables.customers
identities = tables.identities
tickets = tables.tickets
messages = tables.messages
audit = tables.audit

CHUNK = 900  # stays below every driver's bound-parameter limit


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


@dataclass(slots=True, kw_only=True)
class TicketState:
    """What the pipeline needs to know of a ticket while deciding where a message goes."""

    id: int
    customer_id: int
    status: str
    topic: str | None
    channel: str
    subject: str | None = None  # known for new tickets (not read for candidates)
    created_at: dt.datetime | None = None
    first_message_at: dt.datetime
    last_message_at: dt.datetime
    last_customer_message_at: dt.datetime | None
    message_count: int
    merged_into_id: int | None = None
    incident_id: int | None = None
    fingerprint: str | None = None
    sla: dict[str, Any] | None = None  # a new ticket's opening clocks (services.sla.columns)
    routing: dict[str, Any] | None = None  # a new ticket's language and team (services.routing)
    is_new: bool = False
    dirty: bool = False
    original: tuple[Any, ...] = ()  # the stored values of _WRITTEN, as loaded

    def __post_init__(self) -> None:
        if not self.is_new:
            self.original = tuple(getattr(self, c) for c in _WRITTEN)

    def changed(self) -> tuple[str, ...]:
        return tuple(c for c, was in zip(_WRITTEN, self.original, strict=True)
                     if getattr(self, c) != was)


# What the pipeline may change on a stored ticket.
_WRITTEN = ("status", "topic", "customer_id", "merged_into_id", "first_message_at",
            "last_message_at", "last_customer_message_at", "message_count")


# Built once: a prebuilt statement with bound parameters skips SQLAlchemy's per-call
# construction and cache-key work, which otherwise costs more than the query itself.
_MESSAGES_BY_EXT = (sa.select(messages.c.external_id, messages.c.id, messages.c.ticket_id)
                    .where(messages.c.channel == sa.bindparam("channel"),
                           messages.c.external_id.in_(sa.bindparam("exts", expanding=True))))
_IDENTITIES = (sa.select(identities.c.value, identities.c.customer_id)
               .where(identities.c.kind == sa.bindparam("kind"),
                      identities.c.value.in_(sa.bindparam("values", expanding=True))))
# A candidate's state, read from ix_tickets_customer_status alone (it covers these columns):
# with a million tickets, a table lookup per candidate would be a page miss per candidate.
_STATE_COLUMNS = (tickets.c.id, tickets.c.customer_id, tickets.c.status, tickets.c.topic,
                  tickets.c.channel, tickets.c.first_message_at, tickets.c.last_message_at,
                  tickets.c.last_customer_message_at, tickets.c.message_count)
_BY_ID = (sa.select(*_STATE_COLUMNS, tickets.c.merged_into_id)
          .where(tickets.c.id.in_(sa.bindparam("ids", expanding=True))))


def messages_by_external_id(conn: sa.Connection,
                            keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, int]]:
    """(channel, external_id) → (message id, ticket id) for those already stored."""
    by_channel: dict[str, list[str]] = {}
    for channel, ext in set(keys):
        by_channel.setdefault(channel, []).append(ext)
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for channel, exts in by_channel.items():
        for chunk in _chunks(exts):
            rows = conn.execute(_MESSAGES_BY_EXT, {"channel": channel, "exts": list(chunk)})
            out.update({(channel, r[0]): (int(r[1]), int(r[2])) for r in rows})
    return out


def customers_by_identity(conn: sa.Connection,
                          keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    by_kind: dict[str, list[str]] = {}
    for kind, value in set(keys):
        by_kind.setdefault(kind, []).append(value)
    out: dict[tuple[str, str], int] = {}
    for kind, values in by_kind.items():
        for chunk in _chunks(values):
            rows = conn.execute(_IDENTITIES, {"kind": kind, "values": list(chunk)})
            out.update({(kind, r[0]): int(r[1]) for r in rows})
    return out


def active_tickets(conn: sa.Connection, customer_ids: Iterable[int],
                   per_customer: int = 20) -> dict[int, list[TicketState]]:
    """Each customer's tickets that a new message may still join, newest activity first."""
    if conn.dialect.name == "postgresql":
        return active_tickets_and_threads(conn, customer_ids, (), per_customer)[0]
    rows: list[Any] = []
    for chunk in _chunks(sorted(set(customer_ids))):
        marks = ", ".join("?" for _ in chunk)
        rows += conn.exec_driver_sql(_ACTIVE_SQLITE.format(marks=marks),
                                     (*chunk, *_ACTIVE_STATUSES)).all()
    return _states(rows, lambda v: dt.datetime.fromisoformat(v).replace(tzinfo=dt.UTC),
                   per_customer)


def _states(rows: Iterable[Any], to_time: Any, per_customer: int
            ) -> dict[int, list[TicketState]]:
    out: dict[int, list[TicketState]] = {}
    names = [c.name for c in _STATE_COLUMNS]
    for row in rows:
        values = list(row)
        for i in _TIMES:
            if values[i] is not None:
                values[i] = to_time(values[i])
        bucket = out.setdefault(int(values[1]), [])
        if len(bucket) < per_customer:
            bucket.append(TicketState(**dict(zip(names, values, strict=True))))
    return out


_ACTIVE_STATUSES = tuple(sorted(str(s) for s in ACTIVE_STATUSES))
# SQLite keeps no statistics unless ANALYZE ran; without them it prefers the short
# merged_into_id index for a long IN list (a scan of every unmerged ticket): name the index.
_ACTIVE_SQLITE = ("SELECT id, customer_id, status, topic, channel, first_message_at, "
                  "last_message_at, last_customer_message_at, message_count "
                  "FROM tickets INDEXED BY ix_tickets_customer_status "
                  "WHERE customer_id IN ({marks}) AND status IN ("
                  + ", ".join("?" for _ in _ACTIVE_STATUSES) + ") "
                  "AND merged_into_id IS NULL ORDER BY customer_id, last_message_at DESC")
_ACTIVE_SQL = ("SELECT id, customer_id, status, topic, channel, "
               "first_message_at, last_message_at, last_customer_message_at, message_count "
               "FROM tickets WHERE customer_id = ANY(%s::bigint[]) AND status = ANY(%s::text[]) "
               "AND merged_into_id IS NULL ORDER BY customer_id, last_message_at DESC")
_THREAD_SQL = ("SELECT m.channel, m.external_id, m.id, m.ticket_id FROM messages m "
               "JOIN unnest(%s::text[], %s::text[]) AS k(a, b) "
               "ON m.channel = k.a AND m.external_id = k.b")
_TIMES = (5, 6, 7)  # the timestamp positions of _ACTIVE_SQL


def active_tickets_and_threads(conn: sa.Connection, customer_ids: Iterable[int],
                               keys: Iterable[tuple[str, str]], per_customer: int = 20
                               ) -> tuple[dict[int, list[TicketState]],
                                          dict[tuple[str, str], tuple[int, int]]]:
    """``active_tickets`` and ``messages_by_external_id`` together: on PostgreSQL both queries
    go out in one round trip."""
    if conn.dialect.name != "postgresql":
        return active_tickets(conn, customer_ids, per_customer), \
            messages_by_external_id(conn, keys)
    ids, unique = sorted(set(customer_ids)), sorted(set(keys))
    active_rows, thread_rows = bulk.pipeline(conn, [
        (_ACTIVE_SQL, (ids, list(_ACTIVE_STATUSES))),
        (_THREAD_SQL, ([a for a, _ in unique], [b for _, b in unique]))])
    return (_states(active_rows, lambda v: v.astimezone(dt.UTC), per_customer),
            {(r[0], r[1]): (int(r[2]), int(r[3])) for r in thread_rows})


def tickets_by_id(conn: sa.Connection, ids: Iterable[int]) -> dict[int, TicketState]:
    out: dict[int, TicketState] = {}
    for chunk in _chunks(sorted(set(ids))):
        rows = conn.execute(_BY_ID, {"ids": list(chunk)})
        out.update({int(r.id): TicketState(**r._asdict()) for r in rows})
    return out


def locked_ticket(conn: sa.Connection, ticket_id: int) -> Any:
    """One ticket's row, locked for this transaction on PostgreSQL (SQLite's write
    transaction is exclusive already)."""
    stmt = sa.select(tickets).where(tickets.c.id == ticket_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    if row is None:
        raise NotFound(f"no ticket {ticket_id}")
    return row


def lock_keys(conn: sa.Connection, keys: Iterable[str]) -> None:
    """Serialize concurrent workers on the identifiers and customers a batch touches.

    PostgreSQL transaction-level advisory locks, taken in one sorted order so two batches can
    never deadlock; released at commit.  SQLite needs none: ``BEGIN IMMEDIATE`` already makes
    the transaction the only writer.
    """
    if conn.dialect.name != "postgresql":
        return
    hashed = _hashed(keys)
    if hashed:
        conn.exec_driver_sql(_LOCK_SQL, (hashed,))


_LOCK_SQL = ("SELECT count(pg_advisory_xact_lock(k)) FROM "
             "(SELECT unnest(%s::bigint[]) AS k ORDER BY 1) s")
_OWNERS_SQL = ("SELECT i.kind, i.value, i.customer_id FROM identities i "
               "JOIN unnest(%s::text[], %s::text[]) AS k(a, b) ON i.kind = k.a AND i.value = k.b")


def _hashed(keys: Iterable[str]) -> list[int]:
    return sorted({int.from_bytes(hashlib.blake2b(k.encode(), digest_size=8).digest(), "big",
                                  signed=True) for k in keys})


def lock_and_find_customers(conn: sa.Connection, locks: Iterable[str],
                            keys: Iterable[tuple[str, str]],
                            messages: Iterable[tuple[str, str]] = ()
                            ) -> tuple[dict[tuple[str, str], tuple[int, int]],
                                       dict[tuple[str, str], int]]:
    """PostgreSQL, in one round trip: which of ``messages`` (channel, external id) are stored
    (as ``messages_by_external_id``), then take these advisory locks, then read who owns the
    identifiers ``keys`` (that read starts after the locks are held, with a fresh snapshot)."""
    hashed, unique, wanted = _hashed(locks), sorted(set(keys)), sorted(set(messages))
    statements: list[tuple[str, Sequence[Any]]] = []
    if wanted:
        statements.append((_THREAD_SQL, ([a for a, _ in wanted], [b for _, b in wanted])))
    if hashed:
        statements.append((_LOCK_SQL, (hashed,)))
    if unique:
        statements.append((_OWNERS_SQL, ([a for a, _ in unique], [b for _, b in unique])))
    results = bulk.pipeline(conn, statements)
    stored = ({(r[0], r[1]): (int(r[2]), int(r[3])) for r in results[0]} if wanted else {})
    rows = results[-1] if unique else []
    return stored, {(r[0], r[1]): int(r[2]) for r in rows}


def insert_rows(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    bulk.insert(conn, table, rows)


def update_tickets(conn: sa.Connection, states: Iterable[TicketState], now: dt.datetime, *,
                   recheck: bool = False) -> None:
    """Write the pipeline's changes to existing tickets, only the columns that changed (an index
    whose columns are not SET is not touched: SQLite decides by the SET list, not the values);
    one statement per distinct set of changed columns.  ``recheck`` also sets ``sla_check_at``
    to now (something happened: the SLA timer re-evaluates them at its next pass)."""
    extra = {"sla_check_at": now} if recheck else {}
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for t in states:
        cols = t.changed()
        by_shape.setdefault(cols, []).append(
            {"id": t.id, **{c: getattr(t, c) for c in cols}, "updated_at": now, **extra})
    for rows in by_shape.values():
        bulk.update_by_id(conn, tickets, rows)


def move_customers(conn: sa.Connection, moves: Sequence[tuple[int, int]]
                   ) -> list[dict[str, list[int]]]:
    """Fold each customer ``source`` into ``target`` (sources distinct, no target a source);
    returns, per move, the rows that moved, for an exact undo."""
    if not moves:
        return []
    if conn.dialect.name != "postgresql":  # in-process: a statement per move costs nothing
        return [_move_customer(conn, source, target) for source, target in moves]
    moved: dict[int, dict[str, list[int]]] = {s: {} for s, _ in moves}
    sources, targets = [s for s, _ in moves], [t for _, t in moves]
    for name in ("identities", "tickets", "messages"):
        rows = conn.exec_driver_sql(
            f"UPDATE {name} AS r SET customer_id = m.target "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS m(source, target) "
            "WHERE r.customer_id = m.source RETURNING r.id, m.source", (sources, targets))
        for row_id, source in rows:
            moved[int(source)].setdefault(name, []).append(int(row_id))
    bulk.update_by_id(conn, customers, [{"id": s, "merged_into_id": t} for s, t in moves])
    return [{name: sorted(moved[s].get(name, [])) for name in ("identities", "tickets",
                                                              "messages")} for s, _ in moves]


def _move_customer(conn: sa.Connection, source: int, target: int) -> dict[str, list[int]]:
    moved = {}
    for name, table in (("identities", identities), ("tickets", tickets),
                        ("messages", messages)):
        moved[name] = sorted(int(x) for x in conn.execute(
            table.update().where(table.c.customer_id == source).values(customer_id=target)
            .returning(table.c.id)).scalars())
    conn.execute(customers.update().where(customers.c.id == source).values(merged_into_id=target))
    return moved


def move_ticket(conn: sa.Connection, source: int, target: int) -> list[int]:
    """Move a ticket's messages to another ticket; returns their ids, for an exact undo."""
    return sorted(int(x) for x in conn.execute(
        messages.update().where(messages.c.ticket_id == source).values(ticket_id=target)
        .returning(messages.c.id)).scalars())
