"""The queue page's list (``services.workqueue``) on both databases: the SLA state comes from
the generated columns of migration 0035_page_speed and follows every write of the clocks; the totals are
counted up to a cap; the "due" order puts tickets without a running clock last; the filters'
choices come from the configuration, not from a scan of the tickets."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from ticketing.app import App
from ticketing.services import workqueue as service
from ticketing.services.accounts import Principal, Role
from ticketing.store import tables
from ticketing.store import workqueue
from tests.routing_helpers import tickets

BOSS = Principal(user_id=1, email="sri@example.id", name="Sri", role=Role.SUPERVISOR)


def _list(app: App, filters: dict[str, list[str]], **kw: object) -> dict[str, object]:
    with app.engine.connect() as conn:
        return service.queue_list(conn, BOSS, filters, now=app.clock.now(), **kw)  # type: ignore[arg-type]


def _build(app: App) -> list[int]:
    now = app.clock.now()
    hour = dt.timedelta(hours=1)
    return tickets(app, [
        {"first_response_state": "breached", "first_response_due_at": now - hour},
        {"first_response_state": "met", "resolution_state": "breached",
         "resolution_due_at": now - hour},
        {"first_response_state": "running", "first_response_due_at": now + hour / 3},
        {"first_response_state": "met", "resolution_state": "running",
         "resolution_due_at": now + hour / 2},
        {"first_response_state": "running", "first_response_due_at": now + 5 * hour},
        {"first_response_state": "met", "resolution_state": "met"},  # no clock runs
        {"first_response_state": "paused", "first_response_due_at": now - hour},
    ])


def test_sla_state_filter_totals_and_due_order_follow_the_clocks(app: App) -> None:
    ids = _build(app)
    got = _list(app, {})
    assert got["by_state"] == {"ok": 3, "warning": 2, "breached": 2}
    assert got["total"] == 7 and got["total_capped"] is False
    order = [int(r["ticket_id"]) for r in got["items"]]  # type: ignore[attr-defined]
    # most urgent running clock first, breached ones by their (NULL) running due, none last
    assert order[:3] == [ids[2], ids[3], ids[4]]
    assert set(order[3:]) == {ids[0], ids[1], ids[5], ids[6]}
    states = {int(r["ticket_id"]): r["sla_state"] for r in got["items"]}  # type: ignore[attr-defined]
    assert states[ids[0]] == states[ids[1]] == "breached"
    assert states[ids[2]] == states[ids[3]] == "warning"
    assert states[ids[4]] == states[ids[5]] == states[ids[6]] == "ok"
    warned = _list(app, {"sla": ["warning"]})
    assert {int(r["ticket_id"]) for r in warned["items"]} == {ids[2], ids[3]}  # type: ignore[attr-defined]
    assert warned["by_state"] == {"ok": 0, "warning": 2, "breached": 0}
    # a write of the clocks moves the ticket: the columns are the database's own
    with app.engine.begin() as conn:
        conn.execute(tables.tickets.update().where(tables.tickets.c.id == ids[4])
                     .values(first_response_state="breached"))
    assert {int(r["ticket_id"]) for r in _list(app, {"sla": ["breached"]})["items"]} == {  # type: ignore[attr-defined]
        ids[0], ids[1], ids[4]}


def test_totals_are_counted_up_to_the_cap_and_paging_goes_on(app: App,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _build(app)
    monkeypatch.setattr(workqueue, "COUNT_CAP", 2)
    got = _list(app, {}, per_page=10)
    assert got["by_state"] == {"ok": 2, "warning": 2, "breached": 2}
    assert got["capped"] == {"ok": True, "warning": False, "breached": False}
    assert got["total_capped"] is True and got["more"] is False  # 7 rows fit one page of 10
    first = _list(app, {}, per_page=10, page=1)
    assert len(first["items"]) == 7  # type: ignore[arg-type]
    monkeypatch.setattr(workqueue, "COUNT_CAP", 1)
    small = _list(app, {"sla": ["ok", "warning"]}, per_page=10)
    assert small["total"] == 2 and small["total_capped"] is True


def test_choices_are_the_configured_teams_and_topics(app: App) -> None:
    tickets(app, [{"team": "retired-team", "topic": "retired-topic"}])
    got = _list(app, {}, teams=app.routing.names,
                topics=app.evidence_policy.classifier.topics)
    choices = got["choices"]
    assert choices["team"] == sorted(app.routing.names)  # type: ignore[index]
    assert "retired-topic" not in choices["topic"]  # type: ignore[index]
    # a value no longer configured is still a filter that works (typed or linked)
    assert _list(app, {"topic": ["retired-topic"]})["total"] == 1


def test_the_generated_columns_are_indexed(app: App) -> None:
    with app.engine.connect() as conn:
        names = {i["name"] for i in sa.inspect(conn).get_indexes("tickets")}
    assert {"ix_tickets_sla_due", "ix_tickets_sla_state"} <= names


@pytest.mark.parametrize("timed", [12, 10])
def test_due_order_pages_across_the_tickets_without_a_running_clock(app: App,
                                                                    timed: int) -> None:
    now = app.clock.now()
    ids = tickets(app, [*({"first_response_state": "running",
                           "first_response_due_at": now + dt.timedelta(minutes=90 + n)}
                          for n in range(timed)),
                        *({"first_response_state": "met"} for _ in range(5))])
    seen = []
    for number in (1, 2, 3):
        got = _list(app, {}, per_page=10, page=number)
        seen += [int(r["ticket_id"]) for r in got["items"]]  # type: ignore[attr-defined]
    assert seen == ids  # timed by due time, then the rest by id, each exactly once


def _plans(app: App, filters: dict[str, list[str]], sort: str,
           keep: str) -> list[tuple[str, str]]:
    """The plan of every statement the listing runs.  PostgreSQL, on a handful of rows, would
    read the table whole or take any index: told to avoid sequential scans, with the other
    indexes of ``tickets`` but ``keep`` dropped in a transaction that is rolled back, the plan
    says whether the query *can* walk ``keep``."""
    seen: list[tuple[str, object]] = []

    def record(conn: object, cursor: object, statement: str, params: object,
               context: object, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    sa.event.listen(app.engine, "before_cursor_execute", record)
    try:
        _list(app, filters, sort=sort)
    finally:
        sa.event.remove(app.engine, "before_cursor_execute", record)
    plans = []
    with app.engine.connect() as conn:
        pg = conn.dialect.name == "postgresql"
        if pg:  # a few rows: hide the other indexes (dropped in a transaction rolled back)
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            for index in sa.inspect(conn).get_indexes("tickets"):
                if index["name"] != keep:
                    conn.exec_driver_sql(f'DROP INDEX "{index["name"]}"')
        for statement, params in seen:
            if "tickets" not in statement:
                continue
            word = "EXPLAIN " if pg else "EXPLAIN QUERY PLAN "
            rows = conn.exec_driver_sql(word + statement, params)  # type: ignore[arg-type]
            plans.append((statement, "\n".join(str(r[-1]) for r in rows)))
        conn.rollback()
    return plans


def test_topic_totals_and_the_updated_order_walk_their_indexes(app: App) -> None:
    """Migration 0037_queue_indexes: the totals per SLA state under a topic filter are ranges
    of ``ix_tickets_topic_state``; the "updated" order walks ``ix_tickets_updated``."""
    tickets(app, [{"topic": "otp"}, {"topic": "kyc"}, {"topic": "otp"}])
    plans = _plans(app, {"topic": ["otp"]}, "due", "ix_tickets_topic_state")
    counts = [p for s, p in plans if "count(" in s.lower()]
    assert len(counts) >= 3, plans  # one per SLA state (SQLite: and one of the timed rows)
    assert all("ix_tickets_topic_state" in p for p in counts), counts
    listing = [p for s, p in _plans(app, {}, "updated", "ix_tickets_updated") if "count(" not in s.lower()]
    assert listing and all("ix_tickets_updated" in p for p in listing), listing
    got = _list(app, {"topic": ["otp"]}, sort="updated")
    assert got["total"] == 2
