"""SLA clocks on real tickets: due times stored at opening, met by a human reply, paused while
waiting on the citizen, and a timer that warns and declares breaches exactly once."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from ticketing.app import App
from ticketing.domain.zones import WIB
from ticketing.services import updates
from ticketing.services.accounts import Principal, Role
from ticketing.services.clock import FixedClock
from ticketing.entrypoints.jobs import sla_tick
from ticketing.store import tables
from tests.helpers import ingest_one, message, reply

AGENT = Principal(user_id=1, email="agen@example.id", name="Agen", role=Role.AGENT)
FRIDAY_1630 = "2026-03-06T16:30:00+07:00"


@pytest.fixture
def friday(clock: FixedClock) -> FixedClock:
    clock.at = dt.datetime(2026, 3, 6, 16, 31, tzinfo=WIB).astimezone(dt.UTC)
    return clock


def _ticket(app: App, tid: int) -> sa.Row[tuple[object, ...]]:
    with app.engine.connect() as conn:
        return conn.execute(sa.select(tables.tickets).where(tables.tickets.c.id == tid)).one()


def _signals(app: App, kind: str) -> list[dict[str, object]]:
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(tables.audit.c.data)
                                 .where(tables.audit.c.kind == kind)).scalars())


def _agent(app: App) -> None:
    with app.engine.begin() as conn:
        conn.execute(tables.users.insert().values(
            id=1, email="agen@example.id", name="Agen", role="agent", password_hash="x",
            skills=[], languages=["id"], active=True, created_at=app.clock.now()))


def test_opening_a_ticket_on_friday_afternoon_stores_business_time_due_dates(
        app: App, friday: FixedClock) -> None:
    out = ingest_one(app, message("OTP tidak masuk", email="sari@example.id",
                                  sent_at=FRIDAY_1630))
    t = _ticket(app, out.ticket_id or 0)
    # 30 minutes on Friday, then Monday 08:00-11:30: 240 business minutes.
    assert t.first_response_due_at == dt.datetime(2026, 3, 9, 11, 30, tzinfo=WIB)
    # 24 business hours: Fri 30 min + Mon 480 + Tue 480 + Wed 08-12, 13-16:30.
    assert t.resolution_due_at == dt.datetime(2026, 3, 11, 16, 30, tzinfo=WIB)
    assert (t.sla_policy, t.sla_calendar, t.first_response_state) == ("standard", "wib",
                                                                      "running")
    # The timer looks again at the warning: 80% of 240 minutes, Monday 10:42.
    assert t.sla_check_at == dt.datetime(2026, 3, 9, 10, 42, tzinfo=WIB)


def test_timer_warns_then_breaches_once_each(app: App, friday: FixedClock) -> None:
    out = ingest_one(app, message("OTP tidak masuk", email="sari@example.id",
                                  sent_at=FRIDAY_1630))
    assert sla_tick(app)["warnings"] == 0
    friday.at = dt.datetime(2026, 3, 9, 10, 45, tzinfo=WIB).astimezone(dt.UTC)
    assert sla_tick(app)["warnings"] == 1
    assert sla_tick(app)["warnings"] == 0
    friday.at = dt.datetime(2026, 3, 9, 11, 31, tzinfo=WIB).astimezone(dt.UTC)
    assert sla_tick(app)["breaches"] == 1
    assert sla_tick(app)["breaches"] == 0
    assert [s["target"] for s in _signals(app, "sla.breached")] == ["first_response"]
    assert _ticket(app, out.ticket_id or 0).first_response_state == "breached"


def test_a_human_reply_in_time_meets_the_first_response(app: App, friday: FixedClock) -> None:
    _agent(app)
    out = ingest_one(app, message("OTP tidak masuk", channel="email", email="sari@example.id",
                                  sent_at=FRIDAY_1630))
    friday.at = dt.datetime(2026, 3, 9, 9, 0, tzinfo=WIB).astimezone(dt.UTC)
    reply(app, out.ticket_id or 0, "Sedang kami cek.", by=AGENT)  # and the relay accepts it
    sla_tick(app)
    t = _ticket(app, out.ticket_id or 0)
    assert t.first_response_state == "met" and t.resolution_state == "running"
    friday.at = dt.datetime(2026, 3, 20, 9, 0, tzinfo=WIB).astimezone(dt.UTC)
    counts = sla_tick(app)
    assert counts["breaches"] == 1  # the resolution, not the met first response


def test_waiting_on_the_citizen_pauses_and_their_reply_resumes(
        app: App, friday: FixedClock) -> None:
    _agent(app)
    out = ingest_one(app, message("OTP tidak masuk", channel="email", email="sari@example.id",
                                  sent_at=FRIDAY_1630))
    tid = out.ticket_id or 0
    friday.at = dt.datetime(2026, 3, 9, 9, 0, tzinfo=WIB).astimezone(dt.UTC)
    reply(app, tid, "Mohon kirim foto KTP.", by=AGENT, status="pending_customer")
    sla_tick(app)
    paused = _ticket(app, tid)
    assert paused.resolution_state == "paused" and paused.resolution_due_at is None
    # Two business days later the citizen answers: the clock resumes, due moves later.
    friday.at = dt.datetime(2026, 3, 11, 9, 0, tzinfo=WIB).astimezone(dt.UTC)
    ingest_one(app, message("Ini foto KTP saya", channel="email", email="sari@example.id",
                            sent_at="2026-03-11T09:00:00+07:00"))
    sla_tick(app)
    resumed = _ticket(app, tid)
    assert resumed.status == "open" and resumed.resolution_state == "running"
    # Used before the pause: Fri 30 + Mon 60 = 90 minutes; 1350 left from Wed 09:00.
    assert resumed.resolution_due_at == dt.datetime(2026, 3, 13, 16, 30, tzinfo=WIB)


def test_sla_tick_from_the_command_line(app: App, friday: FixedClock,
                                        monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from ticketing.entrypoints.cli import main
    from tests.conftest import ROOT

    ingest_one(app, message("OTP tidak masuk", email="sari@example.id", sent_at=FRIDAY_1630))
    monkeypatch.setenv("TICKETING_DATABASE_URL", app.settings.database_url)
    monkeypatch.setenv("TICKETING_CONFIG_DIR", str(ROOT / "config"))
    assert main(["sla", "tick"]) == 0
    assert '"evaluated"' in capsys.readouterr().out


def test_opening_shortcut_agrees_with_the_full_replay(app: App) -> None:
    """``opening_clocks`` adds business time directly instead of replaying a one-event history:
    it must give exactly what ``evaluate`` gives."""
    import random

    from ticketing.domain.sla import EventKind, TicketEvent, evaluate
    from ticketing.services.sla import columns, opening_clocks

    setup = app.sla_setup
    rng = random.Random(3)
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for _ in range(200):
        start = base + dt.timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        now = start + dt.timedelta(minutes=rng.choice([0, 1, 90, 3000]))
        channel = rng.choice(["email", "phone", "telegram"])
        fast = opening_clocks(setup, channel=channel, topic="otp", priority="normal", team=None,
                              first_message_at=start, now=now)
        policy, calendar = setup.policy_for(channel=channel, topic="otp", priority="normal",
                                            team=None)
        full = columns(evaluate(policy, calendar,
                                [TicketEvent(at=start, kind=EventKind.CUSTOMER_MESSAGE)], now))
        for key in ("first_response_due_at", "resolution_due_at", "sla_policy"):
            assert fast[key] == full[key], (start, now, key)
        if full["sla_check_at"] is not None and full["first_response_state"] == "running":
            assert fast["sla_check_at"] == full["sla_check_at"], (start, now)


def test_a_stopping_worker_leaves_the_sla_backlog_between_batches(app: App,
                                                                   friday: FixedClock) -> None:
    """``stop`` is asked between two batches: a worker told to stop does not work through a
    backlog of due tickets first (thousands at once took a loaded worker past 60 s)."""
    for n in range(3):
        ingest_one(app, message(f"OTP tidak masuk {n}", email=f"warga{n}@example.id",
                                sent_at=FRIDAY_1630))
    friday.at = dt.datetime(2026, 3, 9, 11, 31, tzinfo=WIB).astimezone(dt.UTC)
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 1  # after the first batch

    assert sla_tick(app, limit=1, stop=stop)["breaches"] == 1
    assert sla_tick(app, limit=1)["breaches"] == 2  # the rest, on the next worker's tick
