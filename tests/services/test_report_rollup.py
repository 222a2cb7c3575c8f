"""The report's rollups (kept by the triggers of migration 0009) always equal a computation over
the tickets themselves, whatever writes the tickets: ingest (bulk writer, customer merges),
replies (delivered, deferred, failed for good), call backs, status changes, ticket merges and
unmerges, customer unmerges, the SLA timer,
reassignment and topic changes over HTTP, and plain multi-row SQL updates and deletes; on
both databases."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ticketing.domain.zones import WIB
from ticketing.entrypoints.api import create_api
from ticketing.app import App
from ticketing.domain.errors import (ChannelUnavailable, Conflict, InvalidInput,
                                     RecipientRejected)
from ticketing.services import accounts, merging, replies, updates
from ticketing.services.accounts import Principal, Role
from ticketing.services.clock import FixedClock
from ticketing.services.outbox import deliver_due
from ticketing.services.ports import Delivery
from ticketing.store.rollup import fold as fold_rollup
from ticketing.entrypoints.jobs import sla_tick
from ticketing.store import tables
from tests.helpers import ingest, message

# Merges are a supervisor's decision (services.merging checks the role).
BOSS = Principal(user_id=0, email="boss@example.id", name="Boss", role=Role.SUPERVISOR)

t = tables.tickets


def _flags(r: Any) -> int:
    return ((r.first_response_state == "met") * 1 + (r.first_response_state == "breached") * 2
            + (r.resolution_state == "breached") * 4 + (r.resolved_at is not None) * 8)


def _expected(conn: sa.Connection) -> tuple[Counter[tuple[Any, ...]], dict[int, int],
                                              set[tuple[Any, ...]]]:
    """The three rollups computed plainly, in Python, from the tickets."""
    rollup: Counter[tuple[Any, ...]] = Counter()
    per_customer: Counter[int] = Counter()
    live = [r for r in conn.execute(sa.select(t)) if r.merged_into_id is None]
    rows = {}
    for r in live:
        key = (r.first_message_at.astimezone(WIB).date(), r.channel, r.topic or "lainnya",
               r.team or "-", r.assignee_id or 0)
        rows[r.id] = (r.customer_id, *key, int(r.first_response_state == "met"))
        rollup[(*key, 0, _flags(r))] += 1
        if r.first_response_business_minutes is not None:
            rollup[(*key, 1, r.first_response_business_minutes)] += 1
        if r.resolution_business_minutes is not None:
            rollup[(*key, 2, r.resolution_business_minutes)] += 1
        per_customer[r.customer_id] += 1
    repeat = {(tid, *row) for tid, row in rows.items() if per_customer[row[0]] >= 2}
    return rollup, dict(per_customer), repeat


def _stored(conn: sa.Connection) -> tuple[Counter[tuple[Any, ...]], dict[int, int],
                                            set[tuple[Any, ...]]]:
    r, c, rp = tables.report_rollup, tables.report_customer_tickets, tables.report_repeat_tickets
    rollup: Counter[tuple[Any, ...]] = Counter()
    for x in (r, tables.report_rollup_delta):  # PostgreSQL's deltas not folded yet count too
        for row in conn.execute(sa.select(x)):
            rollup[(row.day, row.channel, row.topic, row.team, row.agent, row.kind,
                    row.value)] += row.n
    rollup = Counter({k: n for k, n in rollup.items() if n})
    customers = {row.customer_id: row.n for row in conn.execute(sa.select(c).where(c.c.n != 0))}
    repeat = {(row.ticket_id, row.customer_id, row.day, row.channel, row.topic, row.team,
               row.agent, row.met) for row in conn.execute(sa.select(rp))}
    return rollup, customers, repeat


_checks = itertools.count()


class _UnsteadyRelay:
    """A fake of the ``Sender`` port: accepts half the messages, defers a quarter, rejects the
    rest for good."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def __call__(self, delivery: Delivery) -> str | None:
        roll = self.rng.random()
        if roll < 0.5:
            return None
        if roll < 0.75:
            raise ChannelUnavailable("451 try again later")
        raise RecipientRejected("550 user unknown")


def _check(app: App, when: str) -> None:
    with app.engine.connect() as conn:
        want, got = _expected(conn), _stored(conn)
    assert got[0] == want[0], f"report_rollup after {when}"
    assert got[1] == want[1], f"report_customer_tickets after {when}"
    assert got[2] == want[2], f"report_repeat_tickets after {when}"
    if next(_checks) % 2:  # the worker folds PostgreSQL's deltas now and then
        with app.engine.begin() as conn:
            folded = fold_rollup(conn)
            assert conn.execute(sa.select(sa.func.count()).select_from(
                tables.report_rollup_delta)).scalar_one() == 0
        if app.engine.dialect.name == "sqlite":
            assert folded == 0  # SQLite's triggers update the rollup in place
        with app.engine.connect() as conn:
            assert _stored(conn)[0] == want[0], f"report_rollup folded after {when}"


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_api(app)) as c:
        yield c


def _user(app: App, role: str, n: int = 0) -> tuple[Principal, str, str]:
    email = f"{role}{n}@example.id"
    with app.engine.begin() as conn:
        user_id = accounts.create_user(conn, email=email, name=role.title(), role=role,
                                       password="secret-password", clock=app.clock)
        token = accounts.create_token(conn, email=email, clock=app.clock)
    return Principal(user_id=int(user_id), email=email, name=role, role=Role(role)), email, token


def test_rollups_follow_every_write_path(app: App, clock: FixedClock,
                                         client: TestClient) -> None:
    rng = random.Random(11)
    relay = _UnsteadyRelay(random.Random(5))
    supervisor, _, sup_token = _user(app, "supervisor")
    agents = [_user(app, "agent", i) for i in range(3)]
    auth = {"Authorization": f"Bearer {sup_token}"}
    phones = [f"08123456{i:04d}" for i in range(12)]
    channels = ("webchat", "email", "telegram", "phone")
    bodies = ("OTP tidak masuk", "Insentif belum cair", "NIK tidak valid", "Akun terkunci",
              "Rekening salah", "Pelatihan tidak bisa dibuka")
    start = dt.datetime(2026, 3, 2, 8, 0, tzinfo=WIB)

    def tickets(live_only: bool = True) -> list[Any]:
        with app.engine.connect() as conn:
            stmt = sa.select(t.c.id, t.c.customer_id, t.c.status, t.c.merged_into_id)
            if live_only:
                stmt = stmt.where(t.c.merged_into_id.is_(None))
            return list(conn.execute(stmt.order_by(t.c.id)))

    for step in range(8):
        clock.at = start + dt.timedelta(hours=5 * step)
        batch = []
        for _ in range(rng.randrange(6, 14)):
            sender: dict[str, str] = {"phone": rng.choice(phones)}
            channel = rng.choice(channels)
            # One message naming two citizens' keys: customers merge.  An e-mail has an address.
            if channel == "email" or rng.random() < 0.15:
                sender["email"] = f"warga{rng.randrange(8)}@example.id"
            at = clock.at - dt.timedelta(minutes=rng.randrange(0, 600))
            batch.append(message(rng.choice(bodies), channel=channel,
                                 sent_at=at.isoformat(), **sender))
        ingest(app, *batch)
        _check(app, f"ingest {step}")
        for row in rng.sample(tickets(), min(6, len(tickets()))):
            agent = rng.choice(agents)[0]
            try:
                with app.engine.begin() as conn:
                    if rng.random() < 0.6:  # refused (409) where no channel can send
                        replies.reply_to_ticket(conn, row.id, "Kami cek.", by=agent,
                                                now=clock.now(), from_address="cs@example.id",
                                                capabilities=app.capabilities,
                                                channel=rng.choice(["email", None]))
                    elif rng.random() < 0.3:  # a call back, reached or not
                        replies.log_call_back(conn, row.id, "Sudah kami telepon.", by=agent,
                                              reached=rng.random() < 0.7, now=clock.now(),
                                              capabilities=app.capabilities)
                    else:
                        updates.update_ticket(
                            conn, row.id, {"status": rng.choice(
                                ["resolved", "pending_customer", "open", "closed"])},
                            by=supervisor, topics=(), now=clock.now())
            except (Conflict, InvalidInput):
                pass
        _check(app, f"replies and status changes {step}")
        # The relay accepts some replies, defers others (retried later) and rejects a few for
        # good; only the accepted ones count, when accepted (the timer re-evaluates them).
        delivered = deliver_due(app.uow, {"email": relay}, clock)
        sla_tick(app)
        _check(app, f"deliveries {step} ({delivered} attempted)")
        for row in rng.sample(tickets(), min(3, len(tickets()))):
            change: dict[str, Any] = rng.choice([
                {"assignee": rng.choice(agents)[1]}, {"assignee": None},
                {"topic": rng.choice(["akun", "otp", "insentif"])}])
            r = client.patch(f"/api/v1/tickets/{row.id}", headers=auth, json=change)
            assert r.status_code in (200, 409, 422), r.text
        _check(app, f"reassignment over HTTP {step}")
        by_customer: dict[int, list[int]] = {}
        for row in tickets():
            by_customer.setdefault(row.customer_id, []).append(row.id)
        pairs = [ids for ids in by_customer.values() if len(ids) >= 2]
        if pairs:
            source, into = rng.sample(rng.choice(pairs), 2)
            with app.engine.begin() as conn:
                merging.merge_tickets(conn, source, into, by=BOSS, now=clock.now())
            _check(app, f"merge {step}")
        merged = [row.id for row in tickets(live_only=False) if row.merged_into_id is not None]
        if merged and rng.random() < 0.5:
            with app.engine.begin() as conn:
                merging.unmerge_ticket(conn, rng.choice(merged), by=BOSS, now=clock.now())
            _check(app, f"unmerge {step}")
        clock.at += dt.timedelta(hours=rng.choice([1, 6, 30]))
        sla_tick(app)
        _check(app, f"SLA tick {step}")

    with app.engine.connect() as conn:
        merged_customers = [int(x) for x in conn.scalars(sa.select(tables.customers.c.id).where(
            tables.customers.c.merged_into_id.is_not(None)))]
        met = conn.execute(sa.select(sa.func.count()).where(
            t.c.first_response_business_minutes.is_not(None))).scalar_one()
        kinds = set(conn.scalars(sa.select(tables.audit.c.kind).distinct()))
        o = tables.outbox
        outcomes = Counter(conn.scalars(sa.select(o.c.status).where(o.c.kind == "reply")))
        outcomes["deferred"] = conn.execute(sa.select(sa.func.count()).where(
            o.c.kind == "reply", sa.or_(o.c.attempts > 1, o.c.status == "pending"))
        ).scalar_one()
        reached = conn.execute(sa.select(sa.func.count()).select_from(tables.messages).where(
            tables.messages.c.channel == "phone", tables.messages.c.direction == "out",
            tables.messages.c.delivered_at.is_not(None))).scalar_one()
    assert merged_customers and met, "the mix should include customer merges and answers"
    assert outcomes["sent"] and outcomes["failed"] and outcomes["deferred"] and reached, (
        "the mix should include delivered, failed and undelivered replies, and call backs",
        outcomes, reached)
    assert {"ticket.merged", "ticket.unmerged", "ticket.assigned", "ticket.topic_changed",
            "ticket.status_changed", "customer.merged"} <= kinds, kinds
    for customer_id in merged_customers[:2]:
        with app.engine.begin() as conn:
            merging.unmerge_customer(conn, customer_id, by=BOSS, now=clock.now())
        _check(app, f"customer {customer_id} unmerged")


def test_rollups_follow_multi_row_sql(app: App) -> None:
    """Statements that touch many tickets at once (row triggers on SQLite fire row by row,
    PostgreSQL's AFTER ROW triggers once the statement is done), and deletes."""
    rng = random.Random(3)
    first = dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC)  # 23:30 WIB: days differ from UTC
    with app.engine.begin() as conn:
        conn.execute(tables.users.insert(), [
            {"id": i, "email": f"a{i}@example.id", "name": "A", "role": "agent",
             "password_hash": "x", "skills": [], "languages": ["id"], "active": True,
             "created_at": first} for i in (1, 2)])
        conn.execute(tables.customers.insert(), [
            {"id": i, "created_at": first, "merged_into_id": None} for i in range(1, 8)])
        conn.execute(t.insert(), [{
            "id": i, "customer_id": rng.randrange(1, 8), "status": "open", "priority": "normal",
            "topic": rng.choice(["otp", None]), "channel": rng.choice(["email", "phone"]),
            "team": rng.choice([None, "tim-a"]), "assignee_id": rng.choice([None, 1, 2]),
            "message_count": 0, "created_at": first, "updated_at": first,
            "first_message_at": first + dt.timedelta(minutes=rng.randrange(120)),
            "last_message_at": first, "first_response_state": rng.choice(["met", "running"]),
            "resolution_state": "running", "sla_signals": {},
            "first_response_business_minutes": rng.choice([None, 5, 60]),
            "merged_into_id": None} for i in range(1, 41)])
    _check(app, "insert")
    statements = [
        t.update().where(t.c.id <= 20).values(customer_id=3),
        t.update().where(t.c.id % 3 == 0).values(merged_into_id=1),
        t.update().where(t.c.id > 30).values(resolved_at=first, resolution_state="breached",
                                             resolution_business_minutes=90),
        t.update().where(t.c.id % 2 == 0).values(first_message_at=first),
        t.update().where(t.c.id % 3 == 0).values(merged_into_id=None),
        t.update().where(t.c.customer_id == 3).values(customer_id=4, assignee_id=2,
                                                      topic="akun"),
        t.update().values(updated_at=first + dt.timedelta(days=1)),  # no report column
        t.delete().where(t.c.id % 4 == 1),
        t.update().where(t.c.id % 5 == 0).values(merged_into_id=2),
        t.delete().where(t.c.id % 5 == 0),
    ]
    for i, stmt in enumerate(statements):
        with app.engine.begin() as conn:
            conn.execute(stmt)
        _check(app, f"statement {i}: {stmt}")
