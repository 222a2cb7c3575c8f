"""The citizens' 1-5 chat ratings in the SLA report: count, average and distribution, overall
and per channel / team / agent (per channel when the report is per day), only those given in
the period; in the JSON (REST, CLI), the self-contained HTML and the staff page's section in
Indonesian and English."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from ticketing.app import App
from ticketing.domain.zones import WIB
from ticketing.entrypoints.cli import main
from ticketing.entrypoints.web import templating
from ticketing.entrypoints.web.report_html import render
from ticketing.services import webchat as chats
from ticketing.services.clock import FixedClock
from ticketing.services.reports import ratings, sla_report, to_csv
from ticketing.store import tables
from tests.channels.webchat.conftest import chat_with_message
from tests.routing_helpers import agent

DAY = dt.date(2026, 3, 2)


def _rated(app: App, clock: FixedClock) -> int:
    """Four chats rated 5, 4, 4, 1 on 2 March (one of them assigned), one rated 2 the day
    after, and a telegram ticket rated 3 (a partner's rating through the same column)."""
    first = None
    for n, value in enumerate((5, 4, 4, 1)):
        _, chat, out = chat_with_message(app, f"Saldo insentif ke-{n} belum cair",
                                         client_id=f"c-{n}", phone=f"08123456780{n}")
        app.write(chats.rate, chat, value, clock.now())
        first = first or out.ticket_id
    uid = agent(app)  # online after the chats came in: nothing was auto-assigned
    with app.engine.begin() as conn:
        conn.execute(tables.tickets.update().where(tables.tickets.c.id == first)
                     .values(assignee_id=uid, team="insentif"))
    _, chat, _ = chat_with_message(app, "OTP tidak masuk", client_id="late",
                                   phone="081234567899")
    app.write(chats.rate, chat, 2, dt.datetime.combine(DAY + dt.timedelta(days=1),
                                                       dt.time(10), WIB))
    return uid


def test_ratings_counted_averaged_and_grouped(app: App, clock: FixedClock) -> None:
    uid = _rated(app, clock)
    with app.engine.connect() as conn:
        by_channel = sla_report(conn, start=DAY, end=DAY, group_by="channel",
                                now=clock.now())["ratings"]
        by_team = ratings(conn, start=DAY, end=DAY, group_by="team")
        by_agent = ratings(conn, start=DAY, end=DAY, group_by="agent")
        by_day = ratings(conn, start=DAY, end=DAY, group_by="day")
        both_days = ratings(conn, start=DAY, end=DAY + dt.timedelta(days=1), group_by="topic")
        email = conn.execute(sa.select(tables.users.c.email).where(
            tables.users.c.id == uid)).scalar_one()
    assert by_channel["count"] == 4 and by_channel["average"] == 3.5
    assert [d["count"] for d in by_channel["distribution"]] == [1, 0, 0, 2, 1]
    assert [(g["grp"], g["count"]) for g in by_channel["groups"]] == [("webchat", 4)]
    assert {g["grp"]: g["average"] for g in by_team["groups"]} == {"keuangan": 3.0,
                                                                   "insentif": 5.0}
    assert {g["grp"]: g["count"] for g in by_agent["groups"]} == {"(unassigned)": 3, email: 1}
    assert by_day["by"] == "channel" and by_day["count"] == 4
    assert both_days["count"] == 5 and both_days["average"] == 3.2


def test_no_ratings_is_said_not_divided_by_zero(app: App) -> None:
    with app.engine.connect() as conn:
        empty = ratings(conn, start=DAY, end=DAY, group_by="channel")
    assert empty == {"by": "channel", "count": 0, "average": None, "groups": [],
                     "distribution": [{"value": v, "count": 0} for v in range(1, 6)]}
    assert "Belum ada penilaian" in render({**_bare(), "ratings": empty})


def _bare() -> dict[str, object]:
    return {"from": "2026-03-02", "to": "2026-03-02", "group_by": "channel",
            "generated_at": "2026-03-02T10:00:00+00:00", "groups": [], "distribution": [],
            "backlog": [], "volumes": []}


def test_ratings_in_the_documents_and_the_page_section(app: App, clock: FixedClock,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       db_url: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    _rated(app, clock)
    with app.engine.connect() as conn:
        report = sla_report(conn, start=DAY, end=DAY, group_by="channel", now=clock.now())
    html = render(report)
    assert "Penilaian obrolan (1–5)" in html and "4 penilaian, rata-rata 3.50" in html
    section = {lang: templating.render(lang, "report_ratings.html", ratings=report["ratings"])
               for lang in ("id", "en")}
    assert "4 penilaian, rata-rata 3.50 dari 5" in section["id"]
    assert "Chat ratings (1–5)" in section["en"] and "4 ratings, average 3.50 out of 5" in \
        section["en"] and "Channel" in section["en"]
    assert section["en"].count("<meter") == 5
    monkeypatch.setenv("TICKETING_DATABASE_URL", db_url)
    monkeypatch.setenv("TICKETING_CONFIG_DIR", app.settings.config_dir)
    out = tmp_path / "report.json"
    assert main(["report", "sla", "--from", "2026-03-02", "--to", "2026-03-02", "--format",
                 "json", "--out", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["ratings"]["count"] == 4 and data["ratings"]["average"] == 3.5


def test_ratings_in_the_rest_report(app: App, clock: FixedClock) -> None:
    from fastapi.testclient import TestClient

    from ticketing.entrypoints.api import create_api
    from ticketing.services import accounts

    _rated(app, clock)
    with app.engine.begin() as conn:
        accounts.create_user(conn, email="spv@example.id", name="spv", role="supervisor",
                             password="secret-password", clock=clock)
        token = accounts.create_token(conn, email="spv@example.id", clock=clock)
    with TestClient(create_api(app)) as client:
        r = client.get("/api/v1/reports/sla?from=2026-03-02&to=2026-03-02&group_by=team",
                       headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["groups"]  # the contract's fields stay
    assert r.json()["ratings"]["by"] == "team" and r.json()["ratings"]["count"] == 4


def test_the_csv_has_each_groups_ratings_when_grouped_alike(app: App, clock: FixedClock) -> None:
    _rated(app, clock)
    with app.engine.connect() as conn:
        by_channel = sla_report(conn, start=DAY, end=DAY, group_by="channel", now=clock.now())
        by_day = sla_report(conn, start=DAY, end=DAY, group_by="day", now=clock.now())
    rows = {r["grp"]: r for r in csv.DictReader(io.StringIO(to_csv(by_channel)))}
    assert rows["webchat"]["rating_count"] == "4" and rows["webchat"]["rating_average"] == "3.5"
    # Per day the ratings are per channel: no columns that would not match the rows.
    assert "rating_count" not in to_csv(by_day).splitlines()[0]


def test_the_page_says_no_answer_yet_and_shows_the_backlog_by_age() -> None:
    report = {"from": "2026-03-02", "to": "2026-03-02", "group_by": "channel",
              "generated_at": "2026-03-02T10:00", "volumes": [], "distribution": {},
              "groups": [{"grp": "email", "tickets": 2, "served_rate": 0.5,
                          "first_response_p50_min": 30.0},
                         {"grp": "instagram", "tickets": 1, "served_rate": 0.0,
                          "first_response_p50_min": None}],
              "backlog": [{"channel": "email", "age": "1-3 d", "tickets": 2},
                          {"channel": "email", "age": "< 4 h", "tickets": 1},
                          {"channel": "instagram", "age": "> 7 d", "tickets": 4}]}
    html = render(report)
    # No first response measured is "—", not a bar at 0 minutes.
    assert ">—</text>" in html and ">0 mnt</text>" not in html
    table = html[html.index('<table id="backlog">'):]
    table = table[:table.index("</table>")]
    heads = [h.split("</th>")[0] for h in table.split("<th>")[1:]]
    assert heads == ["Kanal", "&lt; 4 h", "1-3 d", "&gt; 7 d", "Jumlah"]
    assert table.count("<tr>") == 3  # the header and one row per channel
    assert "<strong>3</strong>" in table and "<strong>4</strong>" in table
