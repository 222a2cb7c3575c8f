"""Routing end to end: a new ticket's language and team, auto-assignment (least loaded, round
robin), release, offline return, heartbeats, and escalation on an SLA breach."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import sqlalchemy as sa

from ticketing.app import App
from ticketing.services import accounts
from ticketing.entrypoints.jobs import routing_tick
from ticketing.services.presence import escalate_breached, set_status
from ticketing.services.routing import release
from tests.routing_helpers import claim_next
from ticketing.store import tables
from tests.helpers import ingest_one, message
from tests.routing_helpers import agent, assignee, tickets

t, audit = tables.tickets, tables.audit


def _ticket(app: App, tid: int) -> Any:
    with app.engine.connect() as conn:
        return conn.execute(sa.select(t).where(t.c.id == tid)).one()


def _events(app: App, tid: int) -> list[tuple[str, dict[str, Any]]]:
    with app.engine.connect() as conn:
        return [(r.kind, r.data) for r in conn.execute(
            sa.select(audit.c.kind, audit.c.data).where(audit.c.ticket_id == tid)
            .order_by(audit.c.id))]


def _principal(uid: int, role: str = "agent") -> accounts.Principal:
    return accounts.Principal(user_id=uid, email=f"{uid}@x", name="x", role=accounts.Role(role))


def test_new_ticket_gets_language_team_and_queue_order(app: App) -> None:
    out = ingest_one(app, message("Hello, I have not received the OTP code on my phone, "
                                  "please help me", phone="081234567890"))
    row = _ticket(app, out.ticket_id or 0)
    assert (row.language, row.team) == ("en", "english")
    assert row.queue_due_at == row.first_response_due_at
    assert row.priority_rank == 2
    indo = ingest_one(app, message("OTP tidak masuk sudah tiga kali kirim ulang",
                                   phone="081298765432"))
    assert (_ticket(app, indo.ticket_id or 0).language,
            _ticket(app, indo.ticket_id or 0).team) == ("id", "akun")


def test_team_named_in_an_sla_rule_gets_that_policy(app: App) -> None:
    # config/sla.toml measures team "papua" by the WIT calendar: a team routed at creation
    # must choose the clocks, not the team-less default.
    from ticketing.domain.routing import RoutingConfig, Team
    routing = RoutingConfig(teams=(Team(name="papua", topics=frozenset({"otp"})),
                                   Team(name="umum")), default_team="umum")
    app.__dict__["routing"] = routing
    app.__dict__.pop("ingest_policy", None)
    out = ingest_one(app, message("OTP tidak masuk", phone="081234500000"))
    assert (_ticket(app, out.ticket_id or 0).team,
            _ticket(app, out.ticket_id or 0).sla_policy) == ("papua", "timur")


def test_least_loaded_auto_assignment_when_a_ticket_opens(app: App) -> None:
    busy = agent(app, skills=["insentif"])
    idle = agent(app, skills=["insentif"])
    agent(app, skills=["insentif"], status="away")
    tickets(app, [{"team": "keuangan", "topic": "insentif", "assignee_id": busy}])
    out = ingest_one(app, message("dana insentif saya belum cair", phone="081234567890"))
    assert _ticket(app, out.ticket_id or 0).team == "keuangan"
    assert assignee(app, out.ticket_id or 0) == idle
    kinds = [k for k, _ in _events(app, out.ticket_id or 0)]
    assert kinds == ["ticket.created", "ticket.assigned"]
    assert _events(app, out.ticket_id or 0)[-1][1]["mode"] == "least_loaded"


def test_round_robin_is_fair_across_live_messages(app: App) -> None:
    team = [agent(app, skills=["otp", "nik", "akun"], capacity={"webchat": 50})
            for _ in range(3)]
    given = []
    for i in range(12):
        out = ingest_one(app, message("OTP tidak masuk", phone=f"0812345670{i:02d}"))
        given.append(assignee(app, out.ticket_id or 0))
    assert given == team * 4
    assert Counter(given) == {uid: 4 for uid in team}


def test_team_that_does_not_auto_assign_leaves_tickets_in_the_queue(app: App) -> None:
    agent(app, skills=["pelatihan"])
    out = ingest_one(app, message("sertifikat pelatihan belum muncul", phone="081234567890"))
    assert _ticket(app, out.ticket_id or 0).team == "program"
    assert assignee(app, out.ticket_id or 0) is None


def test_nobody_eligible_online_means_the_ticket_waits_then_goes_to_who_comes_online(
        app: App) -> None:
    later = agent(app, skills=["insentif"], status="offline")
    out = ingest_one(app, message("dana insentif belum cair", phone="081234567890"))
    assert assignee(app, out.ticket_id or 0) is None
    with app.engine.begin() as conn:
        set_status(conn, later, "online", config=app.routing, now=app.clock.now())
    assert assignee(app, out.ticket_id or 0) == later


def test_release_returns_the_ticket_and_offers_it_to_someone_else(app: App) -> None:
    a = agent(app, skills=["otp"])
    b = agent(app, skills=["otp"])
    (tid,) = tickets(app, [{"assignee_id": a}])
    with app.engine.begin() as conn:
        result = release(conn, tid, by=_principal(a), config=app.routing, now=app.clock.now())
    assert result["released_from"] == a and assignee(app, tid) == b
    assert [k for k, _ in _events(app, tid)] == ["ticket.released", "ticket.assigned"]


def test_an_agent_may_not_release_someone_elses_ticket(app: App) -> None:
    import pytest
    from ticketing.domain.errors import PermissionDenied
    a, b = agent(app), agent(app)
    (tid,) = tickets(app, [{"assignee_id": a}])
    with pytest.raises(PermissionDenied), app.engine.begin() as conn:
        release(conn, tid, by=_principal(b), config=app.routing, now=app.clock.now())


def test_offline_agent_tickets_return_to_the_queue_after_the_team_limit(app: App) -> None:
    gone = agent(app, skills=["pelatihan"])
    waiting, pending = tickets(app, [
        {"team": "program", "topic": "pelatihan", "assignee_id": gone},
        {"team": "program", "topic": "pelatihan", "assignee_id": gone,
         "status": "pending_customer"}])
    with app.engine.begin() as conn:
        set_status(conn, gone, "offline", config=app.routing, now=app.clock.now())
    app.clock.advance(minutes=29)  # program: offline_return_minutes = 30
    routing_tick(app)
    assert assignee(app, waiting) == gone
    app.clock.advance(minutes=1)
    assert routing_tick(app)["returned"] == 1
    assert assignee(app, waiting) is None
    assert assignee(app, pending) == gone  # waiting on the citizen: nothing to do yet
    kind, data = _events(app, waiting)[-1]
    assert kind == "ticket.returned_to_queue" and data["previous"] == gone
    assert data["reason"] == "assignee offline"


def test_silent_agents_go_offline_and_their_tickets_return(app: App) -> None:
    silent = agent(app, skills=["pelatihan"])
    (tid,) = tickets(app, [{"team": "program", "topic": "pelatihan", "assignee_id": silent}])
    app.clock.advance(seconds=app.routing.heartbeat_timeout_seconds + 1)
    assert routing_tick(app)["went_offline"] == 1
    app.clock.advance(minutes=30)
    routing_tick(app)
    assert assignee(app, tid) is None


def test_breach_escalates_and_leaves_an_away_assignee(app: App) -> None:
    away = agent(app, skills=["otp"], status="away")
    here = agent(app, skills=["otp"])
    with_away, with_here, nobody = tickets(app, [{"assignee_id": away},
                                                 {"assignee_id": here}, {}])
    with app.engine.begin() as conn:
        changed = escalate_breached(conn, [with_away, with_here, nobody], app.routing,
                                    app.clock.now())
    assert sorted(changed) == sorted([with_away, with_here, nobody])
    assert {_ticket(app, x).team for x in changed} == {"supervisors"}
    assert assignee(app, with_away) is None and assignee(app, with_here) == here
    assert [k for k, _ in _events(app, with_away)] == ["ticket.escalated",
                                                       "ticket.returned_to_queue"]
    sup = agent(app, role="supervisor")
    got = claim_next(app, sup)
    assert got is not None and got.id in (with_away, nobody)


def test_sla_timer_breach_escalates_through_the_worker_tick(app: App) -> None:
    from ticketing.entrypoints.worker import sla_tick
    away = agent(app, skills=["otp", "nik", "akun"], status="away")
    out = ingest_one(app, message("OTP tidak masuk", phone="081234567890"))
    tid = out.ticket_id or 0
    with app.engine.begin() as conn:
        conn.execute(t.update().where(t.c.id == tid).values(assignee_id=away))
    app.clock.advance(days=3)
    sla_tick(app)
    row = _ticket(app, tid)
    assert row.team == "supervisors" and row.assignee_id is None
    assert row.queue_due_at is not None and row.queue_due_at <= app.clock.now()


def test_claim_by_an_offline_agent_marks_them_online(app: App) -> None:
    uid = agent(app, status="offline")
    tickets(app, [{}])
    assert claim_next(app, uid) is not None
    with app.engine.connect() as conn:
        status = conn.execute(sa.select(tables.agent_profiles.c.status)
                              .where(tables.agent_profiles.c.user_id == uid)).scalar()
    assert status == "online"


def test_tickets_from_before_routing_get_a_team_at_the_tick(app: App) -> None:
    (tid,) = tickets(app, [{"team": None, "language": None, "topic": "rekening"}])
    routing_tick(app)
    row = _ticket(app, tid)
    assert (row.team, row.language) == ("keuangan", "id")


def test_queue_due_follows_the_sla_clock_after_a_first_response(app: App) -> None:
    out = ingest_one(app, message("sertifikat belum muncul", channel="email",
                                  email="warga@example.id"))
    tid = out.ticket_id or 0
    first = _ticket(app, tid)
    assert first.queue_due_at == first.first_response_due_at
    from tests.helpers import reply
    uid = agent(app)
    reply(app, tid, "Baik, kami cek", by=_principal(uid))  # the relay accepts it at once
    from ticketing.entrypoints.jobs import sla_tick
    sla_tick(app)
    row = _ticket(app, tid)
    assert row.first_response_at is not None
    assert row.queue_due_at == row.resolution_due_at


def test_a_topic_correction_moves_the_ticket_to_that_topics_team(app: App) -> None:
    from ticketing.services.updates import update_ticket
    (tid,) = tickets(app, [{"topic": "lainnya", "team": "umum"}])
    sup = agent(app, role="supervisor")
    with app.engine.begin() as conn:
        update_ticket(conn, tid, {"topic": "pelatihan"}, by=_principal(sup, "supervisor"),
                      topics=app.evidence_policy.classifier.topics, now=app.clock.now(),
                      routing=app.routing)
    assert _ticket(app, tid).team == "program"
    assert [k for k, _ in _events(app, tid)] == ["ticket.topic_changed", "ticket.team_changed"]


def test_a_follow_up_naming_the_topic_moves_a_vague_ticket_to_its_team(app: App) -> None:
    first = ingest_one(app, message("halo min, tolong dibantu ya", phone="081234567890"))
    tid = first.ticket_id or 0
    assert _ticket(app, tid).team == "umum"
    helper = agent(app, skills=["otp", "nik", "akun"])
    again = ingest_one(app, message("OTP tidak masuk dari kemarin", phone="081234567890"))
    assert again.ticket_id == tid
    assert (_ticket(app, tid).topic, _ticket(app, tid).team) == ("otp", "akun")
    assert assignee(app, tid) == helper  # akun assigns round robin
