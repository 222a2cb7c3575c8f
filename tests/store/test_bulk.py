"""The bulk writer stores exactly what SQLAlchemy's typed path stores, on both databases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from ticketing.domain.zones import WIB
from ticketing.store import bulk, tables
from ticketing.store import inbox as inbox_store

AT = dt.datetime(2026, 3, 2, 9, 30, 0, tzinfo=WIB)


def _raw(conn: sa.Connection, table: sa.Table, row_id: int) -> tuple[Any, ...]:
    """The stored values as the driver returns them, not through the column types."""
    cols = ", ".join(f'"{c.name}"' for c in table.columns if c.name != "id")
    return tuple(conn.exec_driver_sql(f'SELECT {cols} FROM "{table.name}" WHERE id = {row_id}')
                 .one())


def _customer(conn: sa.Connection, cid: int) -> None:
    conn.execute(tables.customers.insert(), [{"id": cid, "display_name": None, "name_key": None,
                                              "created_at": AT, "merged_into_id": None}])


def test_bulk_insert_stores_what_the_typed_insert_stores(engine: sa.Engine) -> None:
    audit = tables.audit
    row = {"at": AT, "kind": "ticket.created", "actor": "system", "ticket_id": None,
           "customer_id": None, "data": {"why": "same topic", "score": 0.93, "list": [1, "dua"],
                                         "none": None, "text": "NIK ✓ \"quoted\" \\ back"}}
    with engine.begin() as conn:
        conn.execute(audit.insert(), [{"id": 1, **row}])
        bulk.insert(conn, audit, [{"id": 2, **row}])
        assert _raw(conn, audit, 1) == _raw(conn, audit, 2)
        typed = conn.execute(sa.select(audit).order_by(audit.c.id)).all()
    assert typed[0][1:] == typed[1][1:]
    assert typed[1].at == AT and typed[1].data["text"] == "NIK ✓ \"quoted\" \\ back"


def test_bulk_insert_fills_model_defaults_and_stores_none_json_like_the_typed_path(
        engine: sa.Engine) -> None:
    msgs = tables.messages
    with engine.begin() as conn:
        _customer(conn, 1)
        conn.execute(tables.tickets.insert(), [{
            "id": 1, "customer_id": 1, "status": "new", "priority": "normal", "channel": "email",
            "created_at": AT, "updated_at": AT, "first_message_at": AT, "last_message_at": AT}])
        base = {"ticket_id": 1, "customer_id": 1, "direction": "in", "channel": "email",
                "author_name": "Siti", "subject": None, "body": "OTP tidak masuk",
                "sent_at": AT, "received_at": AT, "sender": None, "in_reply_to": None,
                "author_user_id": None, "raw_id": None}
        conn.execute(msgs.insert(), [{"id": 1, "external_id": "a", **base}])
        bulk.insert(conn, msgs, [{"id": 2, "external_id": "b", **base}])
        one, two = _raw(conn, msgs, 1), _raw(conn, msgs, 2)
        nulls = conn.exec_driver_sql("SELECT id, sender IS NULL, extra IS NULL FROM messages "
                                     "ORDER BY id").all()
    names = [c.name for c in msgs.columns if c.name != "id"]
    differing = {n for n, a, b in zip(names, one, two, strict=True) if a != b}
    assert differing == {"external_id"}
    assert [tuple(r[1:]) for r in nulls] == [(False, False), (False, False)]  # JSON null


def test_bulk_update_and_conflict_insert(engine: sa.Engine) -> None:
    inbox = tables.inbox
    rows = [{"id": i, "channel": "api", "idempotency_key": f"k{i}",
             "key_digest": inbox_store.digest(f"k{i}"), "payload": b"\x00\xffbytes",
             "content_type": "application/json", "status": "pending", "attempts": 0,
             "last_error": None, "received_at": AT, "processed_at": None, "meta": {"n": i}}
            for i in (1, 2)]
    with engine.begin() as conn:
        bulk.insert(conn, inbox, rows, on_conflict_do_nothing=("key_digest",))
        # the same keys again (other ids): skipped, not an error
        bulk.insert(conn, inbox, [{**r, "id": r["id"] + 10} for r in rows],
                    on_conflict_do_nothing=("key_digest",))
        bulk.update_by_id(conn, inbox, [
            {"id": 1, "status": "done", "last_error": None, "processed_at": AT},
            {"id": 2, "status": "quarantined", "last_error": "bad ✗", "processed_at": None}],
            also="attempts = attempts + 1")
        got = conn.execute(sa.select(inbox).order_by(inbox.c.id)).all()
    assert [(r.id, r.status, r.attempts, r.last_error, r.processed_at, bytes(r.payload), r.meta)
            for r in got] == [(1, "done", 1, None, AT, b"\x00\xffbytes", {"n": 1}),
                              (2, "quarantined", 1, "bad ✗", None, b"\x00\xffbytes", {"n": 2})]


def test_bulk_writer_refuses_naive_times(engine: sa.Engine) -> None:
    with engine.begin() as conn, pytest.raises(ValueError, match="naive"):
        bulk.insert(conn, tables.audit, [{"id": 1, "at": AT.replace(tzinfo=None),
                                          "kind": "x", "actor": "a", "ticket_id": None,
                                          "customer_id": None, "data": {}}])


def _audit_row(i: int) -> dict[str, Any]:
    return {"id": i, "at": AT, "kind": "x", "actor": "a", "ticket_id": None, "customer_id": None,
            "data": {"n": i}}


def test_deferred_writes_are_applied_before_any_later_statement(engine: sa.Engine) -> None:
    audit = tables.audit
    with engine.begin() as conn, bulk.deferred(conn):
        bulk.insert(conn, audit, [_audit_row(1)])
        bulk.update_by_id(conn, audit, [{"id": 1, "kind": "y"}])
        # a plain SQLAlchemy read, and a pipelined one, both see the queued writes applied
        assert conn.execute(sa.select(audit.c.kind)).scalars().all() == ["y"]
        bulk.insert(conn, audit, [_audit_row(2)])
        [rows] = bulk.pipeline(conn, [("SELECT count(*) FROM audit_events", ())])
        assert rows == [(2,)]
        bulk.insert(conn, audit, [_audit_row(3)])
    with engine.connect() as conn:  # and what is still queued at the end is written
        assert conn.execute(sa.select(sa.func.count()).select_from(audit)).scalar_one() == 3


def test_a_failing_deferred_write_fails_the_transaction_and_leaves_the_engine_usable(
        engine: sa.Engine) -> None:
    audit = tables.audit
    with engine.begin() as conn:
        bulk.insert(conn, audit, [_audit_row(1)])
    # SQLite raises through SQLAlchemy; PostgreSQL's pipelined write raises psycopg's own error
    with pytest.raises((sa.exc.IntegrityError, psycopg.errors.UniqueViolation)), \
            engine.begin() as conn, bulk.deferred(conn):
        bulk.insert(conn, audit, [_audit_row(2)])
        bulk.insert(conn, audit, [_audit_row(1)])  # primary key taken
    with engine.begin() as conn:
        assert conn.execute(sa.select(audit.c.id)).scalars().all() == [1]  # 2 rolled back
        bulk.insert(conn, audit, [_audit_row(4)])
