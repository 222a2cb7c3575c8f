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
from ticketing.store import tables

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
    subject: str | None
    created_at: dt.datetime
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


# Built once: a prebuilt statement with bound parameters skips SQLAlchemy's per-call
# construction and cache-key work, which otherwise costs more than the query itself.
_MESSAGES_BY_EXT = (sa.select(messages.c.external_id, messages.c.id, messages.c.ticket_id)
                    .where(messages.c.channel == sa.bindparam("channel"),
                           messages.c.external_id.in_(sa.bindparam("exts", expanding=True))))
_IDENTITIES = (sa.select(identities.c.value, identities.c.customer_id)
               .where(identities.c.kind == sa.bindparam("kind"),
                      identities.c.value.in_(sa.bindparam("values", expanding=True))))
_STATE_COLUMNS = (tickets.c.id, tickets.c.customer_id, tickets.c.status, tickets.c.topic,
                  tickets.c.channel, tickets.c.subject, tickets.c.created_at,
                  tickets.c.first_message_at, tickets.c.last_message_at,
                  tickets.c.last_customer_message_at, tickets.c.message_count)
_ACTIVE = (sa.select(*_STATE_COLUMNS)
           .where(tickets.c.customer_id.in_(sa.bindparam("customers", expanding=True)),
                  tickets.c.status.in_(sorted(ACTIVE_STATUSES)),
                  tickets.c.merged_into_id.is_(None))
           .order_by(tickets.c.customer_id, tickets.c.last_message_at.desc()))
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
    out: dict[int, list[TicketState]] = {}
    ids = sorted(set(customer_ids))
    for chunk in _chunks(ids):
        for r in conn.execute(_ACTIVE, {"customers": list(chunk)}):
            bucket = out.setdefault(int(r.customer_id), [])
            if len(bucket) < per_customer:
                bucket.append(TicketState(**r._asdict()))
    return out


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
    hashed = sorted({int.from_bytes(hashlib.blake2b(k.encode(), digest_size=8).digest(), "big",
                                    signed=True) for k in keys})
    if hashed:
        conn.execute(sa.text("SELECT count(pg_advisory_xact_lock(k)) FROM "
                             "(SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY 1) s"),
                     {"keys": hashed})


_INSERTS: dict[str, sa.Insert] = {}


def insert_rows(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        stmt = _INSERTS.get(table.name)
        if stmt is None:
            stmt = _INSERTS[table.name] = table.insert()
        conn.execute(stmt, rows)


def update_tickets(conn: sa.Connection, states: Iterable[TicketState], now: dt.datetime) -> None:
    rows = [{"tid": t.id, "status": t.status, "topic": t.topic, "customer_id": t.customer_id,
             "merged_into_id": t.merged_into_id,
             "first_message_at": t.first_message_at, "last_message_at": t.last_message_at,
             "last_customer_message_at": t.last_customer_message_at,
             "message_count": t.message_count, "updated_at": now} for t in states]
    if rows:
        conn.execute(tickets.update().where(tickets.c.id == sa.bindparam("tid"))
                     .values(status=sa.bindparam("status"), topic=sa.bindparam("topic"),
                             customer_id=sa.bindparam("customer_id"),
                             merged_into_id=sa.bindparam("merged_into_id"),
                             first_message_at=sa.bindparam("first_message_at"),
                             last_message_at=sa.bindparam("last_message_at"),
                             last_customer_message_at=sa.bindparam("last_customer_message_at"),
                             message_count=sa.bindparam("message_count"),
                             updated_at=sa.bindparam("updated_at")), rows)


_RECHECK = (tickets.update().where(tickets.c.id == sa.bindparam("tid"))
            .values(sla_check_at=sa.bindparam("at")))


def mark_sla_recheck(conn: sa.Connection, ticket_ids: Iterable[int], now: dt.datetime) -> None:
    """Something happened on these tickets: the SLA timer re-evaluates them at its next pass."""
    rows = [{"tid": tid, "at": now} for tid in sorted(set(ticket_ids))]
    if rows:
        conn.execute(_RECHECK, rows)


def move_customer(conn: sa.Connection, source: int, target: int) -> dict[str, list[int]]:
    """Fold customer ``source`` into ``target``; returns what moved, for an exact undo."""
    moved = {
        "identities": [int(x) for x in conn.execute(
            sa.select(identities.c.id).where(identities.c.customer_id == source)).scalars()],
        "tickets": [int(x) for x in conn.execute(
            sa.select(tickets.c.id).where(tickets.c.customer_id == source)).scalars()],
        "messages": [int(x) for x in conn.execute(
            sa.select(messages.c.id).where(messages.c.customer_id == source)).scalars()],
    }
    conn.execute(identities.update().where(identities.c.customer_id == source)
                 .values(customer_id=target))
    conn.execute(tickets.update().where(tickets.c.customer_id == source).values(customer_id=target))
    conn.execute(messages.update().where(messages.c.customer_id == source)
                 .values(customer_id=target))
    conn.execute(customers.update().where(customers.c.id == source).values(merged_into_id=target))
    return moved


def move_ticket(conn: sa.Connection, source: int, target: int) -> list[int]:
    """Move a ticket's messages to another ticket; returns their ids, for an exact undo."""
    moved = [int(x) for x in conn.execute(
        sa.select(messages.c.id).where(messages.c.ticket_id == source).order_by(messages.c.id)
    ).scalars()]
    conn.execute(messages.update().where(messages.c.ticket_id == source).values(ticket_id=target))
    return moved
