"""Cursors: where a poller resumes (an update offset, a high-water mark), one JSON value per
name, written in the same transaction as what it covers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ticketing.store import tables

t = tables.cursors


def get(conn: sa.Connection, name: str) -> dict[str, Any] | None:
    value = conn.execute(sa.select(t.c.value).where(t.c.name == name)).scalar_one_or_none()
    return dict(value) if value is not None else None


def put(conn: sa.Connection, name: str, value: dict[str, Any], now: dt.datetime) -> None:
    insert = (postgresql.insert(t) if conn.dialect.name == "postgresql" else sqlite.insert(t))
    stmt = insert.values(name=name, value=value, updated_at=now)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=[t.c.name], set_={"value": stmt.excluded.value,
                                         "updated_at": stmt.excluded.updated_at}))
