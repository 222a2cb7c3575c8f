"""A reply counts when it reaches the citizen (issue 11): through the real e-mail sender to a
real aiosmtpd relay on loopback that is down, then up, or that refuses the recipient; the
ticket's first response, the SLA clock and the report's served rate follow the relay's answer,
not the queueing; on both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from ticketing.app import App
from ticketing.entrypoints.api import create_api
from ticketing.entrypoints.worker import deliver
from ticketing.services import accounts
from ticketing.services.clock import FixedClock
from ticketing.services.outbox import MAX_ATTEMPTS
from ticketing.services.reports import sla_report
from ticketing.entrypoints.jobs import sla_tick
from ticketing.store import tables
from tests.channels.email.test_outbound import Relay
from tests.channels.email.test_smtp import DOMAIN, free_port
from tests.helpers import ingest_one, message

WIB = dt.timezone(dt.timedelta(hours=7))
OPENED = dt.datetime(2026, 3, 2, 8, 0, tzinfo=WIB)  # Monday: first response due 12:00


@pytest.fixture
def relay_port() -> int:
    return free_port()


@pytest.fixture
def desk(app: App, relay_port: int, clock: FixedClock) -> Iterator[tuple[App, TestClient,
                                                                         dict[str, str], int]]:
    app.settings = replace(app.settings, outbound_smtp_url=f"smtp://127.0.0.1:{relay_port}",
                           smtp_domains=(DOMAIN,), support_address=f"pengaduan@{DOMAIN}",
                           ack_enabled=False)
    clock.at = OPENED.astimezone(dt.UTC)
    with app.engine.begin() as conn:
        uid = accounts.create_user(conn, email="agen@example.id", name="Agen Satu",
                                   role="agent", password="secret-password", clock=clock)
        token = accounts.create_token(conn, email="agen@example.id", clock=clock)
    with TestClient(create_api(app)) as client:
        yield app, client, {"Authorization": f"Bearer {token}"}, int(uid)


def _relay(port: int) -> tuple[Controller, Relay]:
    handler = Relay()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, handler


def _complaint(app: App, address: str = "budi.santoso@gmail.com") -> int:
    out = ingest_one(app, message("OTP tidak masuk sejak kemarin", channel="email",
                                  email=address, sent_at=OPENED.isoformat()))
    return out.ticket_id or 0


def _ticket(app: App, tid: int) -> Any:
    with app.engine.connect() as conn:
        return conn.execute(sa.select(tables.tickets).where(tables.tickets.c.id == tid)).one()


def _served_rate(app: App) -> Any:
    with app.engine.connect() as conn:
        report = sla_report(conn, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 3),
                            group_by="channel", now=app.clock.now())
    return {g["grp"]: g["served_rate"] for g in report["groups"]}["email"]


def _at(app: App, hour: int, minute: int = 0) -> None:
    app.clock.at = OPENED.replace(hour=hour, minute=minute).astimezone(dt.UTC)  # type: ignore[attr-defined]


def test_a_reply_counts_only_once_the_relay_accepts_it(
        desk: tuple[App, TestClient, dict[str, str], int], relay_port: int) -> None:
    app, client, auth, _ = desk
    tid = _complaint(app)
    _at(app, 9)
    r = client.post(f"/api/v1/tickets/{tid}/replies", json={"body": "Kami sedang cek."},
                    headers=auth)
    assert r.status_code == 201, r.text
    assert deliver(app) == 1  # nobody listens on the relay port: deferred, retried later
    sla_tick(app)
    row = _ticket(app, tid)
    assert row.first_response_at is None and row.first_response_state == "running"
    assert _served_rate(app) == 0.0
    shown = client.get(f"/api/v1/tickets/{tid}", headers=auth).json()
    [out] = [m for m in shown["messages"] if m["direction"] == "out"]
    assert out["delivery"]["status"] == "pending" and out["delivered_at"] is None

    controller, handler = _relay(relay_port)
    try:
        _at(app, 10, 30)
        assert deliver(app) == 1
    finally:
        controller.stop()
    assert len(handler.received) == 1
    accepted = app.clock.now()
    row = _ticket(app, tid)
    assert row.first_response_at == accepted  # the relay's 250, not the 09:00 queueing
    assert row.sla_check_at == accepted  # the timer looks at the clocks again now
    sla_tick(app)
    row = _ticket(app, tid)
    assert row.first_response_state == "met" and row.first_response_at == accepted
    assert row.first_response_business_minutes == 150  # 08:00 → 10:30, not 60
    assert _served_rate(app) == 1.0
    shown = client.get(f"/api/v1/tickets/{tid}", headers=auth).json()
    assert shown["first_response_at"] == accepted.isoformat()


def test_a_reply_refused_for_good_leaves_the_clock_running_and_tells_its_author(
        desk: tuple[App, TestClient, dict[str, str], int], relay_port: int) -> None:
    app, client, auth, uid = desk
    tid = _complaint(app, "reject.me@gmail.com")  # the relay answers 550 for this address
    _at(app, 9)
    assert client.post(f"/api/v1/tickets/{tid}/replies", json={"body": "Kami cek."},
                       headers=auth).status_code == 201
    controller, _ = _relay(relay_port)
    try:
        assert deliver(app) == 1
    finally:
        controller.stop()
    _at(app, 12, 1)
    sla_tick(app)
    row = _ticket(app, tid)
    assert row.first_response_at is None and row.first_response_state == "breached"
    assert row.reply_failed_at == OPENED.replace(hour=9).astimezone(dt.UTC)
    assert _served_rate(app) == 0.0
    shown = client.get(f"/api/v1/tickets/{tid}", headers=auth).json()
    [out] = [m for m in shown["messages"] if m["direction"] == "out"]
    assert out["delivery"]["status"] == "failed" and "rejected" in out["delivery"]["error"]
    listed = client.get("/api/v1/tickets", headers=auth).json()["items"]
    assert [i["reply_failed_at"] is not None for i in listed if i["ticket_id"] == tid] == [True]
    mine = client.get("/api/v1/notifications", headers=auth).json()["items"]
    assert [(n["kind"], n["ticket_id"]) for n in mine] == [("reply.failed", tid)]
    assert "550" in mine[0]["data"]["error"]
    with app.engine.connect() as conn:
        user_ids = conn.execute(sa.select(tables.notifications.c.user_id)).scalars().all()
    assert user_ids == [uid]


def test_a_relay_down_for_every_attempt_fails_the_reply_after_the_last(
        desk: tuple[App, TestClient, dict[str, str], int]) -> None:
    app, client, auth, _ = desk
    tid = _complaint(app)
    _at(app, 9)
    assert client.post(f"/api/v1/tickets/{tid}/replies", json={"body": "Kami cek."},
                       headers=auth).status_code == 201
    for _ in range(MAX_ATTEMPTS):
        assert deliver(app) == 1
        app.clock.advance(hours=2)  # type: ignore[attr-defined]
    with app.engine.connect() as conn:
        row = conn.execute(sa.select(tables.outbox)).one()
    assert row.status == "failed" and row.attempts == MAX_ATTEMPTS
    assert "gave up" in row.last_error
    sla_tick(app)
    ticket = _ticket(app, tid)
    assert ticket.first_response_at is None and ticket.first_response_state == "breached"
    assert ticket.reply_failed_at is not None
    assert [n["kind"] for n in client.get("/api/v1/notifications", headers=auth).json()[
        "items"]] == ["reply.failed"]
