"""``ticketing sla recompute``: existing tickets move to the current policy version only when
asked, only the ones asked for, audited with the old and new versions and due times; a dry run
counts and writes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from ticketing.app import App
from ticketing.entrypoints.cli import main
from ticketing.services.clock import FixedClock
from ticketing.entrypoints.jobs import remeasure
from ticketing.services.remeasure import Selection
from ticketing.entrypoints.jobs import sla_tick
from ticketing.store import tables
from tests.helpers import ingest_one, message
from tests.services.conftest import FRIDAY_1630, WIB, at, audit_rows, ticket


def stricter(text: str) -> str:
    return text.replace("[policies.standard]\nversion = 1",
                        "[policies.standard]\nversion = 2").replace(
        "first_response = 240                # 4 business hours",
        "first_response = 120                # 2 business hours")


def three_tickets(app: App) -> list[int]:
    return [ingest_one(app, message(body, email=email, sent_at=FRIDAY_1630)).ticket_id or 0
            for body, email in (("OTP tidak masuk", "a@example.id"),
                                ("Insentif belum cair", "b@example.id"),
                                ("Akun saya terblokir", "c@example.id"))]


def test_recompute_moves_only_the_tickets_it_is_told(
        app: App, friday: FixedClock, configured: Callable[..., App]) -> None:
    first, second, third = three_tickets(app)
    new = configured(stricter)
    at(friday, dt.datetime(2026, 3, 9, 9, 0, tzinfo=WIB))
    counts = remeasure(new, Selection(ticket_ids=(second,)))
    assert counts == {"considered": 1, "changed": 1, "unchanged": 0, "unmeasurable": 0,
                      "dry_run": False}
    moved = ticket(new, second)
    assert moved.sla_policy_version == 2 and moved.sla_terms["first_response"] == 120
    assert moved.first_response_due_at == dt.datetime(2026, 3, 9, 9, 30, tzinfo=WIB)
    assert moved.sla_check_at == new.clock.now()  # the timer signals what is now due
    for tid in (first, third):
        assert ticket(new, tid).sla_policy_version == 1
        assert ticket(new, tid).first_response_due_at == dt.datetime(2026, 3, 9, 11, 30,
                                                                     tzinfo=WIB)
    [event] = audit_rows(new, "sla.recomputed")
    assert event["previous"]["sla_policy_version"] == 1  # type: ignore[index]
    assert event["current"]["sla_policy_version"] == 2  # type: ignore[index]
    assert event["previous"]["first_response_due_at"] == "2026-03-09T04:30:00+00:00"  # type: ignore[index]
    assert event["current"]["first_response_due_at"] == "2026-03-09T02:30:00+00:00"  # type: ignore[index]
    assert event["previous"]["terms"]["first_response"] == 240  # type: ignore[index]
    # Again: nothing left to change for that ticket.
    again = remeasure(new, Selection(ticket_ids=(second,)))
    assert (again["changed"], again["unchanged"]) == (0, 1)


def test_recompute_of_open_tickets_skips_closed_ones_and_feeds_the_timer(
        app: App, friday: FixedClock, configured: Callable[..., App]) -> None:
    first, second, third = three_tickets(app)
    with app.engine.begin() as conn:
        conn.execute(tables.tickets.update().where(tables.tickets.c.id == third)
                     .values(status="closed"))
    new = configured(stricter)
    at(friday, dt.datetime(2026, 3, 9, 10, 0, tzinfo=WIB))
    seen: list[int] = []
    counts = remeasure(new, Selection(open_tickets=True),
                       batch_size=1, progress=seen.append)
    assert (counts["considered"], counts["changed"]) == (2, 2) and seen == [1, 1]
    assert ticket(new, third).sla_policy_version == 1
    # Under the new terms both are already breached (due 09:30): the next pass says so, once.
    assert sla_tick(new)["breaches"] == 2
    assert sla_tick(new)["breaches"] == 0
    assert {ticket(new, t).first_response_state for t in (first, second)} == {"breached"}


def test_a_dry_run_counts_and_changes_nothing(
        app: App, friday: FixedClock, configured: Callable[..., App]) -> None:
    ids = three_tickets(app)
    new = configured(stricter)
    with new.engine.connect() as conn:
        before = conn.execute(sa.select(tables.tickets).order_by(tables.tickets.c.id)).all()
    counts = remeasure(new, Selection(open_tickets=True),
                       dry_run=True)
    assert (counts["considered"], counts["changed"], counts["dry_run"]) == (3, 3, True)
    with new.engine.connect() as conn:
        after = conn.execute(sa.select(tables.tickets).order_by(tables.tickets.c.id)).all()
    assert before == after and len(ids) == 3
    assert audit_rows(new, "sla.recomputed") == []


def test_recompute_with_an_unchanged_config_changes_nothing(app: App, friday: FixedClock) -> None:
    three_tickets(app)
    counts = remeasure(app, Selection(open_tickets=True))
    assert (counts["changed"], counts["unchanged"]) == (0, 3)


def test_sla_recompute_from_the_command_line(
        app: App, friday: FixedClock, configured: Callable[..., App],
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    first, second, _ = three_tickets(app)
    new = configured(stricter)
    monkeypatch.setenv("TICKETING_DATABASE_URL", app.settings.database_url)
    monkeypatch.setenv("TICKETING_CONFIG_DIR", new.settings.config_dir)
    assert main(["sla", "recompute", "--open", "--dry-run"]) == 0
    assert '"would_change": 3' in capsys.readouterr().out
    assert main(["sla", "recompute", "--ticket", str(first), "--ticket", str(second),
                 "--quiet"]) == 0
    assert '"changed": 2' in capsys.readouterr().out
    assert len(audit_rows(app, "sla.recomputed")) == 2

    assert main(["sla", "recompute", "--ticket", "999999"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ticketing: ") and "999999" in err and len(err.splitlines()) == 1
    for usage in (["sla", "recompute"], ["sla", "recompute", "--open", "--ticket", "1"],
                  ["sla", "recompute", "--ticket", "x"],
                  ["sla", "recompute", "--open", "--batch-size", "0"]):
        with pytest.raises(SystemExit) as exit_info:
            main(usage)
        assert exit_info.value.code == 2


def test_a_changed_calendar_reaches_running_clocks_audited_once(
        app: App, friday: FixedClock, configured: Callable[..., App]) -> None:
    """Calendars are not stored per ticket: the desk's real opening hours apply to the time
    left, and the move to the new calendar version is said once in the ticket's trail."""
    [tid, *_] = three_tickets(app)
    closed_monday = configured(lambda text: text.replace(
        "[calendars.wib]                     # the contract's default: Mon-Fri 08-12 and 13-17 WIB\n"
        "version = 1",
        "[calendars.wib]                     # the contract's default: Mon-Fri 08-12 and 13-17 WIB\n"
        "version = 2") + '\n[[overrides]]\ndate = 2026-03-09\nclosed = true\nreason = "x"\n')
    with closed_monday.engine.begin() as conn:
        conn.execute(tables.tickets.update().where(tables.tickets.c.id == tid)
                     .values(sla_check_at=closed_monday.clock.now()))
    sla_tick(closed_monday)
    sla_tick(closed_monday)
    moved = ticket(closed_monday, tid)
    assert moved.sla_calendar_version == 2 and moved.sla_policy_version == 1
    assert moved.first_response_due_at == dt.datetime(2026, 3, 10, 11, 30, tzinfo=WIB)
    assert audit_rows(closed_monday, "sla.calendar_changed") == [
        {"calendar": "wib", "previous_version": 1, "version": 2}]
