"""The SLA report from SQL aggregates, in JSON, CSV and HTML, on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from ticketing.app import App
from ticketing.domain.zones import WIB
from ticketing.domain.errors import ReplyRefused
from ticketing.services.accounts import Principal, Role
from ticketing.services.clock import FixedClock
from ticketing.services.reports import sla_report, to_csv
from ticketing.entrypoints.jobs import sla_tick
from ticketing.store import tables
from ticketing.entrypoints.web.report_html import render
from tests.helpers import ingest_one, message, reply

EVIL = "<script>alert(1)</script>@example.id"


def test_served_rates_breaches_and_backlog(app: App, clock: FixedClock) -> None:
    clock.at = dt.datetime(2026, 3, 2, 8, 5, tzinfo=WIB).astimezone(dt.UTC)
    with app.engine.begin() as conn:
        conn.execute(tables.users.insert().values(
            id=1, email=EVIL, name="Agen", role="agent", password_hash="x", skills=[],
            languages=["id"], active=True, created_at=clock.now()))
    agent = Principal(user_id=1, email=EVIL, name="Agen", role=Role.AGENT)
    served = ingest_one(app, message("OTP tidak masuk", email="a@example.id", channel="email",
                                     sent_at="2026-03-02T08:00:00+07:00"))
    late = ingest_one(app, message("Insentif belum cair", telegram_id="77",
                                   channel="telegram", sent_at="2026-03-02T08:00:00+07:00"))
    ingest_one(app, message("Sertifikat belum terbit", telegram_id="78", channel="telegram",
                            sent_at="2026-03-02T08:01:00+07:00"))
    clock.at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=WIB).astimezone(dt.UTC)
    reply(app, served.ticket_id or 0, "Kami cek.", by=agent)  # the relay accepts it at once
    with app.engine.begin() as conn:
        conn.execute(tables.tickets.update().where(tables.tickets.c.id == served.ticket_id)
                     .values(assignee_id=1))
    clock.at = dt.datetime(2026, 3, 2, 15, 0, tzinfo=WIB).astimezone(dt.UTC)
    # Telegram has no bot token here: the late answer is refused before it is queued.
    with pytest.raises(ReplyRefused, match="Telegram"):
        reply(app, late.ticket_id or 0, "Maaf terlambat.", by=agent)
    sla_tick(app)
    with app.engine.connect() as conn:
        report = sla_report(conn, start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 2),
                            group_by="channel", now=clock.now())
        by_agent = sla_report(conn, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 3),
                              group_by="agent", now=clock.now())
    groups = {g["grp"]: g for g in report["groups"]}
    assert groups["email"]["tickets"] == 1 and groups["email"]["served_rate"] == 1.0
    assert groups["email"]["first_response_p50_min"] == 60.0
    telegram = groups["telegram"]
    # One answered late, one not answered by 15:00: both past their 12:00 due time.
    assert telegram["tickets"] == 2 and telegram["first_response_breached"] == 2
    assert telegram["served_rate"] == 0.0 and telegram["first_response_breach_rate"] == 1.0
    assert sum(b["tickets"] for b in report["backlog"]) == 3
    ins = [v for v in report["volumes"] if v["direction"] == "in"]
    assert sum(v["messages"] for v in ins) == 3 and {v["day"] for v in ins} == {"2026-03-02"}
    csv_text = to_csv(report)
    assert csv_text.splitlines()[0].startswith("grp,") and "telegram" in csv_text
    html = render(by_agent)
    assert "<svg" in html and "&lt;script&gt;" in html and "<script>" not in html


def test_report_over_http_is_for_supervisors(app: App, clock: FixedClock) -> None:
    from fastapi.testclient import TestClient

    from ticketing.entrypoints.api import create_api
    from ticketing.services import accounts

    with app.engine.begin() as conn:
        for role in ("agent", "supervisor"):
            accounts.create_user(conn, email=f"{role}@example.id", name=role, role=role,
                                 password="secret-password", clock=clock)
        tokens = {r: accounts.create_token(conn, email=f"{r}@example.id", clock=clock)
                  for r in ("agent", "supervisor")}
    ingest_one(app, message("OTP tidak masuk", email="a@example.id",
                            sent_at="2026-03-02T08:00:00+07:00"))
    with TestClient(create_api(app)) as client:
        url = "/api/v1/reports/sla?from=2026-03-01&to=2026-03-31&group_by=topic"
        assert client.get(url, headers={"Authorization": f"Bearer {tokens['agent']}"}
                          ).status_code == 403
        r = client.get(url, headers={"Authorization": f"Bearer {tokens['supervisor']}"})
        assert r.status_code == 200 and r.json()["groups"][0]["grp"] == "otp"
        r = client.get(url + "&format=csv",
                       headers={"Authorization": f"Bearer {tokens['supervisor']}"})
        assert r.headers["content-type"].startswith("text/csv")
        r = client.get(url.replace("topic", "weather"),
                       headers={"Authorization": f"Bearer {tokens['supervisor']}"})
        assert r.status_code == 422
