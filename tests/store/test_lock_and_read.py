"""PostgreSQL: the ingest's locks and reads in one round trip (store.tickets.lock_and_read), and
the slow path when another worker's merge moves an identifier while we wait for its customer."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
import sqlalchemy as sa

from ticketing.store import tables
from ticketing.store import tickets as q
from ticketing.store.db import make_engine
from ticketing.store.ids import IdAllocator

pytestmark = pytest.mark.pg
AT = dt.datetime(2026, 3, 2, 2, 30, tzinfo=dt.UTC)


@pytest.fixture
def pg(pg_migrated: str) -> sa.Engine:
    engine = make_engine(pg_migrated)
    with engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE customers, identities, tickets, messages RESTART IDENTITY "
                             "CASCADE")
    yield engine
    engine.dispose()


def _seed(conn: sa.Connection) -> None:
    conn.execute(tables.customers.insert(), [
        {"id": cid, "display_name": None, "name_key": None, "created_at": AT,
         "merged_into_id": None} for cid in (1, 2, 3)])
    conn.execute(tables.identities.insert(), [
        {"id": 1, "customer_id": 1, "kind": "phone", "value": "+6281200000001", "source": "s",
         "evidence_message_id": None, "created_at": AT},
        {"id": 2, "customer_id": 2, "kind": "email", "value": "b@example.id", "source": "s",
         "evidence_message_id": None, "created_at": AT}])
    base = {"priority": "normal", "channel": "email", "subject": None, "created_at": AT,
            "updated_at": AT, "first_message_at": AT, "last_customer_message_at": AT,
            "message_count": 1, "sla_signals": {}}
    conn.execute(tables.tickets.insert(), [
        {**base, "id": 10, "customer_id": 1, "status": "open", "topic": "otp",
         "last_message_at": AT},
        {**base, "id": 11, "customer_id": 1, "status": "closed", "topic": "nik",
         "last_message_at": AT},
        {**base, "id": 12, "customer_id": 2, "status": "new", "topic": "akun",
         "last_message_at": AT + dt.timedelta(minutes=1)},
        {**base, "id": 13, "customer_id": 3, "status": "open", "topic": "akun",
         "last_message_at": AT}])
    conn.execute(tables.messages.insert(), [
        {"id": 100, "ticket_id": 10, "customer_id": 1, "direction": "in", "channel": "email",
         "external_id": "<m1@x>", "body": "", "sent_at": AT, "received_at": AT,
         "attachments": []}])


def test_one_round_trip_reads_what_the_separate_reads_read(pg: sa.Engine) -> None:
    with pg.begin() as conn:
        _seed(conn)
    idents = [("phone", "+6281200000001"), ("email", "b@example.id"), ("nik", "3171010101900001")]
    with pg.begin() as conn:
        ids = IdAllocator(conn, block=1)
        statements = 0

        def count(*_: object) -> None:
            nonlocal statements
            statements += 1
        sa.event.listen(conn, "before_cursor_execute", count)
        read = q.lock_and_read(conn, identifiers=idents, messages=[("email", "<m1@x>"),
                                                                   ("email", "<new@x>")],
                               replies=[("email", "<m1@x>")], prefetch=ids.prefetch())
        sa.event.remove(conn, "before_cursor_execute", count)
        assert statements == 0  # everything went through the one pipeline
        assert read.stored == {("email", "<m1@x>"): (100, 10)}
        assert read.owners == {("phone", "+6281200000001"): 1, ("email", "b@example.id"): 2}
        assert read.threads == {("email", "<m1@x>"): (100, 10)}
        assert read.active is not None
        expected = q.active_tickets(conn, [1, 2])
        assert {c: [t.id for t in ts] for c, ts in read.active.items()} == \
            {c: [t.id for t in ts] for c, ts in expected.items()} == {1: [10], 2: [12]}
        assert read.ids is not None
        ids.accept(read.ids)
        first = ids.one(tables.messages)
        assert isinstance(first, int) and statements == 0  # taken from the reservation
        held = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 "
            "AND pid = pg_backend_pid()").scalar_one()
        assert held == 2  # customers 1 and 2, in the two-int4 key space


def test_an_identifier_moved_while_waiting_is_followed_to_its_new_customer(pg: sa.Engine) -> None:
    """Another worker merges customer 1 into 3 while holding customer 1's lock: our read waits,
    then finds the phone owned by 3, which it locks before reading again."""
    with pg.begin() as conn:
        _seed(conn)
    merging = threading.Event()
    done = threading.Event()

    def merger() -> None:
        with pg.begin() as conn:
            conn.exec_driver_sql(q._LOCK_CUSTOMERS_SQL, ([1],))
            merging.set()
            time.sleep(0.5)
            conn.execute(sa.update(tables.identities).where(tables.identities.c.customer_id == 1)
                         .values(customer_id=3))
        done.set()

    worker = threading.Thread(target=merger)
    worker.start()
    assert merging.wait(5)
    with pg.begin() as conn:
        read = q.lock_and_read(conn, identifiers=[("phone", "+6281200000001")], messages=[],
                               replies=[])
        assert done.is_set()  # we waited for the merge to commit
        assert read.owners == {("phone", "+6281200000001"): 3}
        assert read.active is None and read.threads is None  # read again by the caller
        held = {r[0] for r in conn.exec_driver_sql(
            "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 "
            "AND pid = pg_backend_pid()")}
        assert held == {1, 3}
    worker.join()
