"""The staff pages in a real browser: signing in and out, who may see the SLA report, the
report's numbers against the service, its charts, the CSV download, and escaping."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from ticketing.app import App
from ticketing.domain.zones import WIB
from ticketing.domain.errors import ReplyRefused
from ticketing.services import accounts
from ticketing.services.accounts import Principal, Role
from ticketing.services.clock import FixedClock
from ticketing.services.reports import sla_report, to_csv
from ticketing.entrypoints.jobs import sla_tick
from ticketing.store import tables
from tests.helpers import ingest_one, message, reply
from tests.web.conftest import OWN_SCRIPT_EXCLUDED

pytestmark = pytest.mark.browser
EVIL = "<script>alert(1)</script>@example.id"
PASSWORD = "kata-sandi-rahasia"
REPORT = "/reports/sla?from=2026-03-02&to=2026-03-02&group_by={}"


def _staff(app: App, clock: FixedClock) -> None:
    with app.engine.begin() as conn:
        for email, role in (("spv@example.id", "supervisor"), (EVIL, "agent")):
            accounts.create_user(conn, email=email, name=f"<b>{role}</b>", role=role,
                                 password=PASSWORD, clock=clock)


def _tickets(app: App, clock: FixedClock) -> None:
    """Three tickets on 2 March: e-mail answered in an hour by the agent, one Telegram answered
    late, one Telegram not answered."""
    clock.at = dt.datetime(2026, 3, 2, 8, 5, tzinfo=WIB).astimezone(dt.UTC)
    with app.engine.connect() as conn:
        agent_id = conn.execute(tables.users.select().where(
            tables.users.c.email == EVIL)).one().id
    agent = Principal(user_id=agent_id, email=EVIL, name="Agen", role=Role.AGENT)
    served = ingest_one(app, message("OTP tidak masuk", email="a@example.id", channel="email",
                                     sent_at="2026-03-02T08:00:00+07:00"))
    late = ingest_one(app, message("Insentif belum cair", telegram_id="77", channel="telegram",
                                   sent_at="2026-03-02T08:00:00+07:00"))
    ingest_one(app, message("Sertifikat belum terbit", telegram_id="78", channel="telegram",
                            sent_at="2026-03-02T08:01:00+07:00"))
    clock.at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=WIB).astimezone(dt.UTC)
    reply(app, served.ticket_id or 0, "Kami cek.", by=agent)  # the relay accepts it at once
    with app.engine.begin() as conn:
        conn.execute(tables.tickets.update().where(tables.tickets.c.id == served.ticket_id)
                     .values(assignee_id=agent_id))
    clock.at = dt.datetime(2026, 3, 2, 15, 0, tzinfo=WIB).astimezone(dt.UTC)
    # Telegram has no bot token here: the late answer is refused before it is queued.
    with pytest.raises(ReplyRefused, match="Telegram"):
        reply(app, late.ticket_id or 0, "Maaf terlambat.", by=agent)
    sla_tick(app)


def _sign_in(page: Any, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    with page.expect_navigation():  # the answer (a redirect or the form again) has loaded
        page.click("button[type=submit]")


def _service_report(app: App, group_by: str) -> dict[str, Any]:
    with app.engine.connect() as conn:
        return sla_report(conn, start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 2),
                          group_by=group_by, now=app.clock.now())


def test_wrong_password_and_unknown_address_get_the_same_answer(
        app: App, clock: FixedClock, live_url: str, page: Any) -> None:
    _staff(app, clock)
    _sign_in(page, live_url, "spv@example.id", "salah-sandi-123")
    assert page.url.startswith(f"{live_url}/login")
    wrong_password = page.locator("[role=alert]").inner_text()
    assert "salah" in wrong_password
    assert not [c for c in page.context.cookies() if c["name"] == "ticketing_session"]
    _sign_in(page, live_url, "nobody@example.id", "salah-sandi-123")
    assert page.locator("[role=alert]").inner_text() == wrong_password
    # The address typed is kept, the password never.
    assert page.input_value("input[name=email]") == "nobody@example.id"
    assert page.input_value("input[name=password]") == ""


def test_anonymous_is_sent_to_login_and_back(app: App, clock: FixedClock, live_url: str,
                                              page: Any) -> None:
    _staff(app, clock)
    page.goto(live_url + REPORT.format("topic"))
    assert page.url.startswith(f"{live_url}/login?next=")
    page.fill("input[name=email]", "spv@example.id")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    assert page.url == live_url + REPORT.format("topic")
    assert page.locator("select[name=group_by]").input_value() == "topic"
    cookie = next(c for c in page.context.cookies() if c["name"] == "ticketing_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.click("text=Keluar")
    assert page.url == f"{live_url}/login"
    page.goto(live_url + REPORT.format("topic"))
    assert page.url.startswith(f"{live_url}/login?next=")


def test_agent_is_forbidden(app: App, clock: FixedClock, live_url: str, page: Any) -> None:
    _staff(app, clock)
    _sign_in(page, live_url, EVIL)
    response = page.goto(live_url + REPORT.format("channel"))
    assert response is not None and response.status == 403
    assert "supervisor" in page.locator("[role=alert]").inner_text()
    assert page.locator("#summary").count() == 0


def test_supervisor_sees_the_services_numbers_charts_and_downloads(
        app: App, clock: FixedClock, live_url: str, page: Any, tmp_path: Path) -> None:
    _staff(app, clock)
    _tickets(app, clock)
    _sign_in(page, live_url, "spv@example.id")
    page.goto(live_url + REPORT.format("channel"))
    expected = _service_report(app, "channel")
    header = page.locator("#summary thead th").all_inner_texts()
    rows = [dict(zip(header, r.locator("td").all_inner_texts()))
            for r in page.locator("#summary tbody tr").all()]
    assert [r["grp"] for r in rows] == ["email", "telegram"]
    for row, want in zip(rows, expected["groups"]):
        for key in ("tickets", "citizens", "served_rate", "first_response_p50_min",
                    "first_response_breach_rate", "resolved"):
            assert row[key] == ("" if want[key] is None else str(want[key])), key
    assert rows[0]["served_rate"] == "1.0" and rows[0]["first_response_p50_min"] == "60.0"
    assert rows[1]["tickets"] == "2" and rows[1]["first_response_breach_rate"] == "1.0"
    assert page.locator("svg").count() >= 4
    assert page.locator("svg rect").count() > 0
    for chart in ("Pesan masuk per hari per kanal", "Tingkat terlayani",
                  "Sebaran waktu respons pertama"):
        assert page.locator(f"svg[aria-label='{chart}']").count() == 1, chart
    bars = page.locator("svg[aria-label='Tingkat terlayani'] rect")
    assert bars.count() == 2 and bars.first.is_visible()

    with page.expect_download() as csv_download:
        page.click("#download-csv")
    path = tmp_path / "report.csv"
    csv_download.value.save_as(path)
    assert csv_download.value.suggested_filename.endswith(".csv")
    assert path.read_text(encoding="utf-8") == to_csv(expected)
    with page.expect_download() as json_download:
        page.click("#download-json")
    json_download.value.save_as(tmp_path / "report.json")
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data["groups"] == json.loads(json.dumps(expected["groups"], default=str))


def test_citizen_and_staff_text_is_escaped(app: App, clock: FixedClock, live_url: str,
                                           page: Any, dialogs: list[str]) -> None:
    _staff(app, clock)
    _tickets(app, clock)
    _sign_in(page, live_url, "spv@example.id")
    page.goto(live_url + REPORT.format("agent"))
    assert EVIL in page.locator("#summary").inner_text()  # shown as text ...
    assert page.locator(OWN_SCRIPT_EXCLUDED).count() == 0  # ... never as markup
    assert "<b>supervisor</b>" in page.locator("#account").inner_text()
    assert page.locator("header b").count() == 0
    page.goto(live_url + "/reports/sla?from=2026-03-02&to=<script>alert(2)</script>")
    assert "<script>alert(2)</script>" in page.locator("[role=alert]").inner_text()
    assert page.locator(OWN_SCRIPT_EXCLUDED).count() == 0 and dialogs == []


def test_forms_from_another_site_are_refused(app: App, clock: FixedClock,
                                             live_url: str) -> None:
    _staff(app, clock)
    form = {"email": "spv@example.id", "password": PASSWORD, "next": "/reports/sla"}
    foreign = httpx.post(f"{live_url}/login", data=form,
                         headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and "set-cookie" not in foreign.headers
    ours = httpx.post(f"{live_url}/login", data={**form, "next": "https://evil.example/x"},
                      headers={"Origin": live_url})
    assert ours.status_code == 303 and ours.headers["location"] == "/reports/sla"
    token = ours.cookies["ticketing_session"]
    # A session is not an API token, and an API token is not a session.
    api = httpx.get(f"{live_url}/api/v1/reports/sla?from=2026-03-01&to=2026-03-02",
                    headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401
