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
    resolved_at: dt.datetime | None = None  # read for tickets loaded by id (reply threads)
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
_BY_ID = (sa.select(*_STATE_COLUMNS, tickets.c.merged_into_id, tickets.c.resolved_at)
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


_FINGERPRINTS = (sa.select(tickets.c.id, tickets.c.fingerprint)
                 .where(tickets.c.id.in_(sa.bindparam("ids", expanding=True))))


def fingerprints(conn: sa.Connection, ids: Iterable[int]) -> dict[int, str]:
    """The stored complaint words of these tickets (one look-up by primary key)."""
    out: dict[int, str] = {}
    for chunk in _chunks(sorted(set(ids))):
        out.update({int(r.id): r.fingerprint or ""
                    for r in conn.execute(_FINGERPRINTS, {"ids": list(chunk)})})
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


_LOCK_SQL = ("SELECT count(pg_advisory_xact_lock(k)) FROM "
             "(SELECT unnest(%s::bigint[]) AS k ORDER BY 1) s")
# Customer locks live in PostgreSQL's two-int4 advisory key space (identifier locks use the
# one-bigint space, so the two never collide): the id split bijectively below 2**62.
_CUSTOMER_KEY = "((c >> 31)::int, (c & 2147483647)::int)"
_LOCK_CUSTOMERS_SQL = (f"SELECT count(pg_advisory_xact_lock{_CUSTOMER_KEY}) FROM "
                       "(SELECT unnest(%s::bigint[]) AS c ORDER BY 1) s")
_OWNED = ("identities i JOIN unnest(%s::text[], %s::text[]) AS k(a, b) "
          "ON i.kind = k.a AND i.value = k.b")
_OWNERS_SQL = f"SELECT i.kind, i.value, i.customer_id FROM {_OWNED}"
# Locks the customers owning these identifiers (as that statement's snapshot saw them), in
# customer order, and returns them.
_LOCK_OWNERS_SQL = (f"SELECT c, pg_advisory_xact_lock{_CUSTOMER_KEY} FROM "
                    f"(SELECT DISTINCT i.customer_id AS c FROM {_OWNED} ORDER BY 1) s")
_ACTIVE_OF_OWNERS_SQL = _ACTIVE_SQL.replace(
    "customer_id = ANY(%s::bigint[])",
    f"customer_id = ANY(ARRAY(SELECT i.customer_id FROM {_OWNED}))")


def _hashed(keys: Iterable[str]) -> list[int]:
    return sorted({int.from_bytes(hashlib.blake2b(k.encode(), digest_size=8).digest(), "big",
                                  signed=True) for k in keys})


def _pairs(keys: Iterable[tuple[str, str]]) -> tuple[list[str], list[str]]:
    unique = sorted(set(keys))
    return [a for a, _ in unique], [b for _, b in unique]


@dataclass(slots=True, kw_only=True)
class LockedReads:
    """What ``lock_and_read`` found, every read made while the locks were held."""

    stored: dict[tuple[str, str], tuple[int, int]]  # (channel, external id) → (message, ticket)
    owners: dict[tuple[str, str], int]  # (kind, value) → customer
    # The owners' active tickets and the reply-thread targets, or None when the owners moved
    # while the locks were being taken (a merge committed meanwhile): then read them again.
    active: dict[int, list[TicketState]] | None
    threads: dict[tuple[str, str], tuple[int, int]] | None
    ids: tuple[Any, ...] | None  # the row of ``prefetch`` when one was given
    also: list[list[tuple[Any, ...]]]  # the rows of each ``also`` statement


def lock_and_read(conn: sa.Connection, *, identifiers: Iterable[tuple[str, str]],
                  messages: Iterable[tuple[str, str]], replies: Iterable[tuple[str, str]],
                  prefetch: tuple[str, Sequence[Any]] | None = None,
                  also: Sequence[tuple[str, Sequence[Any]]] = (),
                  per_customer: int = 20) -> LockedReads:
    """PostgreSQL: serialize concurrent workers on the identifiers a batch carries and the
    customers who own them, and read what the decision needs, in ONE round trip when nothing
    moved meanwhile.  In order: the id reservation ``prefetch``, which of ``messages`` are stored
    already, the identifier locks (transaction-level advisory locks in one sorted order, so
    two batches never deadlock; released at commit), the owners' customer locks, then — each
    with a fresh snapshot taken after those locks are held — the owners, their active tickets,
    the reply targets and the caller's ``also`` statements.  A merge committed by another
    worker while we waited may have moved an identifier to a customer we do not hold: that
    customer is locked and the owners read again (a round trip each time, until stable)."""
    idents = _pairs(identifiers)
    wanted, threads = _pairs(messages), _pairs(replies)
    statements: list[tuple[str, Sequence[Any]]] = []
    if prefetch is not None:
        statements.append(prefetch)
    statements.append((_THREAD_SQL, wanted))
    locks = _hashed(f"id:{kind}:{value}" for kind, value in zip(*idents, strict=True))
    if locks:
        statements += [(_LOCK_SQL, (locks,)), (_LOCK_OWNERS_SQL, idents),
                       (_OWNERS_SQL, idents),
                       (_ACTIVE_OF_OWNERS_SQL, (*idents, list(_ACTIVE_STATUSES)))]
    statements.append((_THREAD_SQL, threads))
    statements += also
    results = bulk.pipeline(conn, statements)
    extra = [results.pop() for _ in also][::-1]
    ids = tuple(results.pop(0)[0]) if prefetch is not None else None
    stored = {(r[0], r[1]): (int(r[2]), int(r[3])) for r in results[0]}
    found = {(r[0], r[1]): (int(r[2]), int(r[3])) for r in results[-1]}
    if not locks:
        return LockedReads(stored=stored, owners={}, active={}, threads=found, ids=ids,
                           also=extra)
    held = {int(r[0]) for r in results[2]}
    owners = {(r[0], r[1]): int(r[2]) for r in results[3]}
    if set(owners.values()) <= held:
        return LockedReads(stored=stored, owners=owners, ids=ids, threads=found, also=extra,
                           active=_states(results[4], lambda v: v.astimezone(dt.UTC),
                                          per_customer))
    for _ in range(3):
        missing = sorted(set(owners.values()) - held)
        if not missing:
            break
        held.update(missing)
        _, rows = bulk.pipeline(conn, [(_LOCK_CUSTOMERS_SQL, (missing,)), (_OWNERS_SQL, idents)])
        owners = {(r[0], r[1]): int(r[2]) for r in rows}
    return LockedReads(stored=stored, owners=owners, active=None, threads=None, ids=ids,
                       also=extra)


def responded(conn: sa.Connection, ticket_id: int, at: dt.datetime, now: dt.datetime,
              **also: Any) -> None:
    """A reply reached the ticket's citizen at ``at``: the first response if there was none,
    no failed reply any more, and the SLA timer looks at the clocks again ``now``."""
    conn.execute(tickets.update().where(tickets.c.id == ticket_id).values(
        first_response_at=sa.func.coalesce(tickets.c.first_response_at, at),
        reply_failed_at=None, sla_check_at=now, **also))


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
