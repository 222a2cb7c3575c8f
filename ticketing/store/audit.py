"""The one recorder of the audit trail: typed events (``ticketing.domain.events``) become
``audit_events`` rows, written in the caller's transaction (one set-based insert however many).
Nothing else inserts into ``audit_events``; the report and the undo of merges read it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from ticketing.domain.events import Event
from ticketing.store import bulk, tables


def row(event: Event) -> dict[str, Any]:
    return {"at": event.at, "kind": event.KIND, "actor": event.actor,
            "ticket_id": event.ticket_id, "customer_id": event.customer_id,
            "data": event.data()}


def record(conn: sa.Connection, *events: Event | Iterable[Event]) -> None:
    """Write these events (given one by one or as iterables) in the caller's transaction."""
    rows: list[dict[str, Any]] = []
    for item in events:
        if isinstance(item, Event):
            rows.append(row(item))
        else:
            rows.extend(row(e) for e in item)
    if rows:
        bulk.insert(conn, tables.audit, rows)
