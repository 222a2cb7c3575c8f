"""Addresses linked to their customer only through an identifier written in a message
(``identities.claimed_link_at``): marked by ingest, read by the reply box, cleared by a staff
check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from ticketing.store import tables

i = tables.identities


def mark(conn: sa.Connection, keys: Iterable[tuple[str, str]], now: dt.datetime) -> None:
    by_kind: dict[str, list[str]] = {}
    for kind, value in set(keys):
        by_kind.setdefault(kind, []).append(value)
    for kind, values in by_kind.items():
        conn.execute(i.update().where(i.c.kind == kind, i.c.value.in_(values),
                                      i.c.claimed_link_at.is_(None))
                     .values(claimed_link_at=now))


def of_customer(conn: sa.Connection, customer_id: int) -> set[tuple[str, str]]:
    """(kind, value) of the customer's addresses linked by a claim (and of the customers merged
    into them)."""
    c = tables.customers
    ids = sa.select(c.c.id).where(sa.or_(c.c.id == customer_id,
                                         c.c.merged_into_id == customer_id))
    rows = conn.execute(sa.select(i.c.kind, i.c.value).where(
        i.c.customer_id.in_(ids), i.c.claimed_link_at.is_not(None)))
    return {(r.kind, r.value) for r in rows}


def identity(conn: sa.Connection, identity_id: int) -> Any:
    return conn.execute(sa.select(i).where(i.c.id == identity_id)).first()


def verify(conn: sa.Connection, identity_id: int) -> None:
    conn.execute(i.update().where(i.c.id == identity_id).values(claimed_link_at=None))
