"""Exports: one JSON object per stored message or ticket, streamed from the database with a
server-side cursor so memory stays flat however many rows there are."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from ticketing.store import tickets as q
from ticketing.store.queries import ticket_columns



def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_messages(conn: sa.Connection, *, direction: str | None = "in") -> Iterator[dict[str, Any]]:
    m = q.messages
    stmt = (sa.select(m.c.id, m.c.channel, m.c.external_id, m.c.ticket_id, m.c.customer_id,
                      m.c.direction, m.c.sent_at)
            .order_by(m.c.id).execution_options(yield_per=2000))
    if direction:
        stmt = stmt.where(m.c.direction == direction)
    for r in conn.execute(stmt):
        yield {"channel": r.channel, "external_id": r.external_id, "ticket_id": r.ticket_id,
               "customer_id": r.customer_id, "message_id": r.id, "direction": r.direction,
               "sent_at": _iso(r.sent_at)}


def export_tickets(conn: sa.Connection) -> Iterator[dict[str, Any]]:
    stmt = ticket_columns().order_by(q.tickets.c.id).execution_options(yield_per=2000)
    for r in conn.execute(stmt):
        row = r._asdict()
        yield {k: _iso(v) if isinstance(v, dt.datetime) else v for k, v in row.items()}
