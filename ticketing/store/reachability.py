"""Addresses a channel said the citizen cannot be reached at any more (``identities``'
``unreachable_at``/``unreachable_reason``): marked by the outbox, read by the reply box, cleared
when the citizen writes from the address again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa

from ticketing.store import tables

i = tables.identities


def mark(conn: sa.Connection, kind: str, value: str, reason: str,
         now: dt.datetime) -> int | None:
    """Mark the identity unreachable; returns its customer (None: no such identity)."""
    row = conn.execute(i.update().where(i.c.kind == kind, i.c.value == value)
                       .values(unreachable_at=now, unreachable_reason=reason[:300])
                       .returning(i.c.customer_id)).first()
    return int(row.customer_id) if row is not None else None


def clear(conn: sa.Connection, keys: Iterable[tuple[str, str]]) -> int:
    """The citizen wrote from these addresses: reachable again.  One statement per kind, and
    nothing written where no mark was set (the common case costs one indexed read)."""
    by_kind: dict[str, list[str]] = {}
    for kind, value in set(keys):
        by_kind.setdefault(kind, []).append(value)
    cleared = 0
    for kind, values in by_kind.items():
        cleared += conn.execute(i.update().where(
            i.c.kind == kind, i.c.value.in_(values), i.c.unreachable_at.is_not(None))
            .values(unreachable_at=None, unreachable_reason=None)).rowcount
    return cleared


def of_customer(conn: sa.Connection, customer_id: int) -> dict[tuple[str, str], str]:
    """(kind, value) → reason, for the customer's unreachable addresses (and those of the
    customers merged into them)."""
    c = tables.customers
    ids = sa.select(c.c.id).where(sa.or_(c.c.id == customer_id,
                                         c.c.merged_into_id == customer_id))
    rows = conn.execute(sa.select(i.c.kind, i.c.value, i.c.unreachable_reason).where(
        i.c.customer_id.in_(ids), i.c.unreachable_at.is_not(None))).all()
    return {(r.kind, r.value): r.unreachable_reason or "" for r in rows}
