"""The SLA report's fast path (stored business-minute measures, per-minute histograms, distinct
counts, per-day ranges) agrees with a straightforward computation over the same tickets, on
both databases; the measures are what the SLA clock says; the migration backfills them."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ticketing.app import App
from ticketing.domain.histogram import percentile
from ticketing.domain.zones import WIB
from ticketing.services import updates
from ticketing.services.accounts import Principal, Role
from ticketing.services.clock import FixedClock
from ticketing.services.reports import GROUPS, sla_report
from ticketing.entrypoints.jobs import sla_tick
from ticketing.store import migrate, tables
from ticketing.store.db import make_engine
from tests.helpers import ingest_one, message, reply

ROOT = Path(__file__).resolve().parents[2]
START = dt.datetime(2026, 3, 1, tzinfo=WIB)
CHANNELS = ("email", "phone", "telegram", "webchat")
TOPICS = ("otp", "insentif", None)


def _seed(engine: sa.Engine, n: int = 400) -> list[dict[str, Any]]:
    rng = random.Random(5)
    users = [{"id": i, "email": f"agen{i}@example.id", "name": f"Agen {i}", "role": "agent",
              "password_hash": "x", "skills": [], "languages": ["id"], "active": True,
              "created_at": START} for i in (1, 2, 3)]
    customers = [{"id": i, "display_name": None, "name_key": None, "created_at": START,
                  "merged_into_id": None} for i in range(1, n // 3)]
    tickets = []
    for i in range(1, n + 1):
        # Some first contacts fall outside the period (before, after, and at its edges).
        first = START + dt.timedelta(minutes=rng.randrange(-2 * 1440, 12 * 1440))
        state = rng.choice(["met", "breached", "running", "paused"])
        answered = state in ("met", "breached") and rng.random() < 0.9
        resolved = answered and rng.random() < 0.5
        tickets.append({
            "id": i, "customer_id": rng.randrange(1, n // 3), "status":
            "resolved" if resolved else rng.choice(["new", "open", "pending_customer"]),
            "priority": "normal", "topic": rng.choice(TOPICS), "channel": rng.choice(CHANNELS),
            "team": rng.choice([None, "tim-a"]), "assignee_id": rng.choice([None, 1, 2, 3]),
            "merged_into_id": None, "message_count": 1, "created_at": first,
            "updated_at": first, "first_message_at": first, "last_message_at": first,
            "first_response_at": first + dt.timedelta(hours=1) if answered else None,
            "resolved_at": first + dt.timedelta(days=1) if resolved else None,
            "first_response_state": state,
            "resolution_state": rng.choice(["met", "breached"]) if resolved else
            rng.choice(["running", "breached"]),
            "first_response_business_minutes": rng.choice([0, 5, 60, 61, 240, rng.randrange(900)])
            if answered else None,
            "resolution_business_minutes": rng.randrange(2000) if resolved else None,
            "sla_signals": {}})
    for row in rng.sample(tickets, 20):  # merged away: never counted
        row["merged_into_id"] = 1 if row["id"] != 1 else None
    with engine.begin() as conn:
        conn.execute(tables.users.insert(), users)
        conn.execute(tables.customers.insert(), customers)
        conn.execute(tables.tickets.insert(), tickets)
    return tickets


def _cont(values: list[int], p: float) -> float | None:
    """percentile_cont written out plainly: sort, interpolate between the two nearest ranks."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * p
    lo, hi = math.floor(pos), math.ceil(pos)
    return round(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo), 1)


def _expected(tickets: list[dict[str, Any]], group_by: str, lo: dt.datetime,
              hi: dt.datetime) -> dict[Any, dict[str, Any]]:
    def key(r: dict[str, Any]) -> Any:
        if group_by == "day":
            return r["first_message_at"].astimezone(WIB).date().isoformat()
        if group_by == "agent":
            return f"agen{r['assignee_id']}@example.id" if r["assignee_id"] else "(unassigned)"
        return {"channel": r["channel"], "topic": r["topic"] or "lainnya",
                "team": r["team"] or "-"}[group_by]

    by: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in tickets:
        if r["merged_into_id"] is None and lo <= r["first_message_at"] < hi:
            by[key(r)].append(r)
    out = {}
    for grp, rows in by.items():
        fr = [r["first_response_business_minutes"] for r in rows
              if r["first_response_business_minutes"] is not None]
        res = [r["resolution_business_minutes"] for r in rows
               if r["resolution_business_minutes"] is not None]
        met = [r for r in rows if r["first_response_state"] == "met"]
        out[grp] = {
            "tickets": len(rows), "first_response_met": len(met),
            "first_response_breached": sum(r["first_response_state"] == "breached" for r in rows),
            "resolution_breached": sum(r["resolution_state"] == "breached" for r in rows),
            "resolved": sum(r["resolved_at"] is not None for r in rows),
            "citizens": len({r["customer_id"] for r in rows}),
            "citizens_served": len({r["customer_id"] for r in met}),
            "first_response_p50_min": _cont(fr, 0.5), "first_response_p90_min": _cont(fr, 0.9),
            "resolution_p50_min": _cont(res, 0.5), "resolution_p90_min": _cont(res, 0.9),
            "first_response_avg_min": round(sum(fr) / len(fr), 1) if fr else None,
            "resolution_avg_min": round(sum(res) / len(res), 1) if res else None,
        }
    return out


@pytest.mark.parametrize("group_by", GROUPS)
def test_fast_report_agrees_with_a_plain_computation(app: App, group_by: str) -> None:
    tickets = _seed(app.engine)
    start, end = dt.date(2026, 3, 1), dt.date(2026, 3, 9)
    lo = dt.datetime.combine(start, dt.time(), WIB)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), WIB)
    with app.engine.connect() as conn:
        report = sla_report(conn, start=start, end=end, group_by=group_by,
                            now=START + dt.timedelta(days=12))
    got = {g["grp"]: g for g in report["groups"]}
    expected = _expected(tickets, group_by, lo, hi)
    assert set(got) == set(expected)
    for grp, want in expected.items():
        assert {k: got[grp][k] for k in want} == want, grp
    assert [g["grp"] for g in report["groups"]] == sorted(got)
    fr_total = sum(g["first_response_met"] for g in report["groups"])
    assert fr_total == sum(want["first_response_met"] for want in expected.values())
    bands = [d for d in report["distribution"] if d["measure"] == "first_response"]
    assert sum(d["tickets"] for d in bands) == sum(
        1 for r in tickets if r["merged_into_id"] is None and lo <= r["first_message_at"] < hi
        and r["first_response_business_minutes"] is not None)


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.pg)],
                         indirect=True)
def test_histogram_percentiles_equal_postgresql_percentile_cont(app: App) -> None:
    _seed(app.engine)
    t = tables.tickets
    with app.engine.connect() as conn:
        for column in (t.c.first_response_business_minutes, t.c.resolution_business_minutes):
            counts = {int(v): int(n) for v, n in conn.execute(
                sa.select(column, sa.func.count()).where(column.is_not(None)).group_by(column))}
            for p in (0.1, 0.5, 0.9, 0.99):
                want = conn.execute(sa.select(sa.func.percentile_cont(p).within_group(column))
                                    .where(column.is_not(None))).scalar_one()
                assert percentile(counts, p) == pytest.approx(float(want), abs=1e-9)


def test_histogram_percentile_edges() -> None:
    assert percentile({}, 0.5) is None
    assert percentile({7: 1}, 0.9) == 7
    assert percentile({0: 3, 10: 1}, 0.5) == 0
    assert percentile({1: 1, 2: 1}, 0.5) == 1.5
    with pytest.raises(ValueError):
        percentile({1: 1}, 1.5)


def test_clock_writes_business_minutes_pauses_excluded(app: App, clock: FixedClock) -> None:
    """Answered at 14:00 WIB for an 08:00 message: 4 h before lunch + 1 h after = 300 business
    minutes; resolved the next morning at 09:00 after waiting on the citizen from 15:00 to
    16:00: 8 h of the first day - 1 h paused + 1 h = 480."""
    clock.at = dt.datetime(2026, 3, 2, 8, 0, tzinfo=WIB)
    with app.engine.begin() as conn:
        conn.execute(tables.users.insert().values(
            id=1, email="agen@example.id", name="Agen", role="agent", password_hash="x",
            skills=[], languages=["id"], active=True, created_at=clock.now()))
    agent = Principal(user_id=1, email="agen@example.id", name="Agen", role=Role.AGENT)
    tid = ingest_one(app, message("OTP tidak masuk", channel="email", email="a@example.id",
                                  sent_at="2026-03-02T08:00:00+07:00")).ticket_id or 0
    t = tables.tickets

    def measures() -> tuple[Any, Any]:
        sla_tick(app)
        with app.engine.connect() as conn:
            row = conn.execute(sa.select(t.c.first_response_business_minutes,
                                         t.c.resolution_business_minutes)
                               .where(t.c.id == tid)).one()
        return row[0], row[1]

    assert measures() == (None, None)
    clock.at = dt.datetime(2026, 3, 2, 14, 0, tzinfo=WIB)
    reply(app, tid, "Kami cek.", by=agent)  # the relay accepts it at 14:00
    assert measures() == (300, None)
    for at, status in ((dt.datetime(2026, 3, 2, 15, 0, tzinfo=WIB), "pending_customer"),
                       (dt.datetime(2026, 3, 2, 16, 0, tzinfo=WIB), "open"),
                       (dt.datetime(2026, 3, 3, 9, 0, tzinfo=WIB), "resolved")):
        clock.at = at
        with app.engine.begin() as conn:
            updates.update_ticket(conn, tid, {"status": status}, by=agent, topics=(),
                                  now=clock.now())
    assert measures() == (300, 480)


def test_migration_backfills_measures_from_history(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETING_CONFIG_DIR", str(ROOT / "config"))
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0005")
    first = dt.datetime(2026, 3, 2, 8, 0, tzinfo=WIB)
    answered = dt.datetime(2026, 3, 2, 10, 30, tzinfo=WIB)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO users (id, email, name, role, password_hash, skills, languages, "
            "active, created_at) VALUES (1, 'a@example.id', 'A', 'agent', 'x', '[]', '[\"id\"]',"
            " 1, '2026-03-01 00:00:00')"))
        conn.execute(sa.text("INSERT INTO customers (id, created_at) VALUES "
                             "(1, '2026-03-01 00:00:00')"))
        conn.execute(sa.text(
            "INSERT INTO tickets (id, customer_id, status, priority, channel, message_count, "
            "created_at, updated_at, first_message_at, last_message_at, first_response_at, "
            "sla_policy, sla_signals) VALUES (1, 1, 'open', 'normal', 'email', 2, :f, :f, :f, "
            ":a, :a, 'standard', '{}')"),
            {"f": first.astimezone(dt.UTC).replace(tzinfo=None),
             "a": answered.astimezone(dt.UTC).replace(tzinfo=None)})
        for mid, direction, at, author in ((1, "in", first, None), (2, "out", answered, 1)):
            conn.execute(sa.text(
                "INSERT INTO messages (id, ticket_id, customer_id, direction, channel, body, "
                "sent_at, received_at, attachments, extra, author_user_id) VALUES "
                "(:id, 1, 1, :d, 'email', 'x', :at, :at, '[]', '{}', :u)"),
                {"id": mid, "d": direction, "u": author,
                 "at": at.astimezone(dt.UTC).replace(tzinfo=None)})
    migrate.upgrade(engine)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT first_response_business_minutes, "
                                   "resolution_business_minutes FROM tickets")).one()
    engine.dispose()
    assert tuple(row) == (150, None)
