"""The webhook's group commit on PostgreSQL: one statement in autocommit stores a group of raw
payloads exactly as ``put_many`` does (same rows, same answers: new, replayed, repeated in the
group), so the webhook's 200 still follows the commit and Meta's retries are absorbed."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from ticketing.app import App
from ticketing.domain.raw import RawDelivery
from ticketing.store import inbox as inbox_store
from ticketing.store import tables

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def delivery(key: str, body: bytes = b'{"x": 1}') -> RawDelivery:
    return RawDelivery(channel="instagram", key=key, payload=body,
                       content_type="application/json", meta={"source": "webhook", "n": 1})


def test_one_statement_stores_like_put_many(app: App) -> None:
    if not app.uow.has_row_locks():
        pytest.skip("PostgreSQL only: SQLite's writer takes its lock with BEGIN IMMEDIATE")
    with app.uow.write() as conn:
        [old] = inbox_store.put_many(conn, [delivery("k:old")], NOW)
    with app.uow.connect_autocommit() as conn:
        got = inbox_store.put_many_statement(
            conn, [delivery("k:1"), delivery("k:old"), delivery("k:1"), delivery("k:2")], NOW)
    assert [g.inserted for g in got] == [True, False, False, True]
    assert got[1].id == old.id and got[0].id == got[2].id != got[3].id
    i = tables.inbox
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(i.c.id, i.c.idempotency_key, i.c.payload, i.c.meta,
                                      i.c.status, i.c.received_at, i.c.attempts)
                            .order_by(i.c.id)).all()
    assert [r.idempotency_key for r in rows] == ["k:old", "k:1", "k:2"]
    assert all(bytes(r.payload) == b'{"x": 1}' and r.meta == {"source": "webhook", "n": 1}
               and r.status == "pending" and r.received_at == NOW and r.attempts == 0
               for r in rows)
    # a replay of the whole group: nothing new, every id found
    with app.uow.connect_autocommit() as conn:
        again = inbox_store.put_many_statement(conn, [delivery("k:2"), delivery("k:1")], NOW)
    assert [(g.id, g.inserted) for g in again] == [(got[3].id, False), (got[0].id, False)]
