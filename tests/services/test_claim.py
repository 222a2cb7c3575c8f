"""Claim next: the most urgent eligible ticket, atomically, on both databases."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
import sqlalchemy as sa

from ticketing.app import App
from ticketing.services.routing import waiting_for
from tests.routing_helpers import claim_next
from ticketing.store import tables
from ticketing.store.db import make_engine
from tests.routing_helpers import agent, assignee, tickets


def _claim(app: App, uid: int, engine: sa.Engine | None = None) -> int | None:
    got = claim_next(app, uid, engine=engine)
    return got.id if got else None


def test_claim_takes_the_ticket_closest_to_breach_then_priority_then_age(app: App) -> None:
    now = app.clock.now()
    later, sooner, urgent_same_due, no_clock, older_same = tickets(app, [
        {"queue_due_at": now + dt.timedelta(hours=5)},
        {"queue_due_at": now + dt.timedelta(hours=1)},
        {"queue_due_at": now + dt.timedelta(hours=5), "priority": "urgent", "priority_rank": 0},
        {"queue_due_at": None},
        {"queue_due_at": now + dt.timedelta(hours=5)},
    ])
    uid = agent(app, skills=["otp"])
    assert [_claim(app, uid) for _ in range(6)] == [sooner, urgent_same_due, later, older_same,
                                                     no_clock, None]
    assert assignee(app, sooner) == uid


def test_an_overdue_ticket_comes_before_every_running_one(app: App) -> None:
    now = app.clock.now()
    running, breached = tickets(app, [{"queue_due_at": now + dt.timedelta(minutes=5)},
                                      {"queue_due_at": now - dt.timedelta(hours=2)}])
    assert _claim(app, agent(app)) == breached


def test_claim_respects_skills_language_team_and_channel(app: App) -> None:
    otp, insentif, english, email, other_team = tickets(app, [
        {"topic": "otp"}, {"topic": "insentif", "team": "keuangan"},
        {"topic": "otp", "language": "en"}, {"topic": "otp", "channel": "email"},
        {"topic": "otp", "team": "program"}])
    uid = agent(app, skills=["otp"], languages=["id"], teams=["akun"],
                capacity={"webchat": 5})
    assert _claim(app, uid) == otp
    assert _claim(app, uid) is None  # the rest is another skill, language, channel or team
    polyglot = agent(app, skills=["otp", "insentif"], languages=["id", "en"],
                     teams=["akun", "keuangan"], capacity={"webchat": 5, "email": 5})
    assert {_claim(app, polyglot) for _ in range(3)} == {insentif, english, email}
    assert assignee(app, other_team) is None


def test_claim_stops_at_capacity_per_channel(app: App) -> None:
    chats = tickets(app, [{"channel": "webchat"}] * 3)
    mails = tickets(app, [{"channel": "email"}] * 2)
    uid = agent(app, capacity={"webchat": 2, "email": 1})
    got = [_claim(app, uid) for _ in range(4)]
    assert sorted(g for g in got if g is not None) == sorted(chats[:2] + mails[:1])
    assert got[-1] is None
    # Finishing a chat frees one place on that channel only.
    with app.engine.begin() as conn:
        conn.execute(tables.tickets.update().where(tables.tickets.c.id == chats[0])
                     .values(status="resolved"))
    assert _claim(app, uid) == chats[2]
    assert _claim(app, uid) is None


def test_claimed_ticket_is_audited_once(app: App) -> None:
    (tid,) = tickets(app, [{}])
    uid = agent(app)
    assert _claim(app, uid) == tid
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(tables.audit.c.kind, tables.audit.c.actor,
                                      tables.audit.c.data)
                            .where(tables.audit.c.ticket_id == tid)).all()
    assert [(r.kind, r.actor, r.data["via"], r.data["assignee"]) for r in rows] == [
        ("ticket.assigned", f"user:{uid}", "claim", uid)]


def test_supervisors_queue_is_only_for_supervisors(app: App) -> None:
    (tid,) = tickets(app, [{"team": "supervisors"}])
    assert _claim(app, agent(app)) is None
    assert _claim(app, agent(app, role="supervisor")) == tid


def _drain_concurrently(app: App, claimers: int, total: int) -> None:
    """``claimers`` agents (half with skills otp+nik, half akun) drain ``total`` tickets at
    once; some tickets fit nobody and must stay.  Every eligible ticket ends claimed exactly
    once, every claim by an eligible agent."""
    topics = ("otp", "nik", "akun")
    specs = [{"topic": topics[i % 3], "channel": ("webchat", "email")[i % 2],
              "queue_due_at": app.clock.now() + dt.timedelta(minutes=i % 977)}
             for i in range(total)]
    specs += [{"topic": "otp", "language": "en"}] * 20  # nobody reads English here
    ids = tickets(app, specs)
    eligible, unfit = set(ids[:total]), set(ids[total:])
    skills = {}
    for i in range(claimers):
        s = ["otp", "nik"] if i % 2 else ["akun"]
        uid = agent(app, skills=s, capacity={"webchat": total, "email": total})
        skills[uid] = set(s)
    engine = make_engine(app.settings.database_url, pool_size=claimers)
    got: dict[int, list[int]] = {uid: [] for uid in skills}
    errors: list[BaseException] = []
    start = threading.Barrier(claimers)

    def run(uid: int) -> None:
        try:
            start.wait()
            while (tid := _claim(app, uid, engine)) is not None:
                got[uid].append(tid)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(uid,)) for uid in skills]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    engine.dispose()
    assert errors == []
    claimed = [tid for tids in got.values() for tid in tids]
    assert len(claimed) == len(set(claimed)) == len(eligible)
    assert set(claimed) == eligible
    t = tables.tickets
    with app.engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(sa.select(t.c.id, t.c.topic, t.c.assignee_id))}
        events = Counter(conn.execute(sa.select(tables.audit.c.ticket_id).where(
            tables.audit.c.kind == "ticket.assigned")).scalars())
    for uid, tids in got.items():
        for tid in tids:
            assert rows[tid].assignee_id == uid
            assert rows[tid].topic in skills[uid]
    assert all(rows[tid].assignee_id is None for tid in unfit)
    assert set(events.values()) == {1} and set(events) == eligible


@pytest.mark.pg
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_32_concurrent_claimers_drain_1200_tickets_exactly_once_on_postgresql(app: App) -> None:
    _drain_concurrently(app, claimers=32, total=1200)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_8_concurrent_claimers_drain_1200_tickets_exactly_once_on_sqlite(app: App) -> None:
    _drain_concurrently(app, claimers=8, total=1200)


@pytest.mark.pg
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_claim_is_a_walk_down_the_queue_index_not_a_sort(app: App) -> None:
    from ticketing.store.routing import _pg_claim_sql
    now = app.clock.now()
    tickets(app, [{"queue_due_at": now + dt.timedelta(minutes=i)} for i in range(2000)])
    uid = agent(app)
    with app.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE tickets")
        plan = "\n".join(conn.execute(sa.text("EXPLAIN " + _pg_claim_sql(1)), {
            "team0": "akun", "channels": ["webchat"], "limits": [5], "languages": ["id"],
            "any_topic": True, "topics": [], "me": uid, "seq": 0, "actor": "x",
            "now": now}).scalars())
    assert "Index Scan using ix_tickets_queue on tickets" in plan, plan
    assert "Seq Scan on tickets" not in plan and "Bitmap" not in plan, plan
    assert "Sort Key: tickets" not in plan, plan  # only the heads of the teams are sorted


def test_one_agent_claiming_in_many_places_at_once_stays_within_capacity(app: App) -> None:
    tickets(app, [{}] * 30)
    uid = agent(app, capacity={"webchat": 3})
    engine = make_engine(app.settings.database_url, pool_size=8)
    got: list[int | None] = []
    start = threading.Barrier(8)

    def run() -> None:
        start.wait()
        for _ in range(3):
            got.append(_claim(app, uid, engine))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    engine.dispose()
    assert len([g for g in got if g is not None]) == 3


def test_raising_the_priority_moves_a_ticket_up_the_queue(app: App) -> None:
    from ticketing.services import accounts
    from ticketing.services.updates import update_ticket
    first, second = tickets(app, [{}, {}])
    sup = agent(app, role="supervisor")
    with app.engine.begin() as conn:
        update_ticket(conn, second, {"priority": "high"},
                      by=accounts.Principal(user_id=sup, email="s@x", name="s",
                                            role=accounts.Role.SUPERVISOR),
                      topics=["otp"], now=app.clock.now())
    assert _claim(app, agent(app)) == second


def test_the_claim_memo_never_outlives_a_profile_change(app: App) -> None:
    from ticketing.services.presence import set_agent
    from ticketing.services.routing import AgentCache
    tickets(app, [{}] * 4)
    uid = agent(app, email="memo@example.id", capacity={"webchat": 5})
    cache = AgentCache()

    def claim() -> int | None:
        got = claim_next(app, uid, cache=cache)
        return got.id if got else None

    assert claim() is not None and claim() is not None  # the second from the memo
    with app.engine.begin() as conn:
        set_agent(conn, email="memo@example.id", config=app.routing, by="test",
                  capacity={"webchat": 2}, now=app.clock.now())
    assert claim() is None  # the memo said 5; the statement saw the new sequence and re-read
    with app.engine.begin() as conn:
        set_agent(conn, email="memo@example.id", config=app.routing, by="test",
                  teams=["keuangan"], capacity={"webchat": 5}, now=app.clock.now())
    assert claim() is None  # another team now


def test_the_waiting_list_masks_personal_data_in_subjects_for_agents_only(app: App) -> None:
    nik = "3224 2819 0887 6385"
    (tid,) = tickets(app, [{"subject": f"OTP tidak masuk, NIK saya {nik}"}])
    agent_id = agent(app)
    supervisor_id = agent(app, role="supervisor")
    with app.engine.connect() as conn:
        seen_by_agent = waiting_for(conn, agent_id, config=app.routing)["items"]
        seen_by_supervisor = waiting_for(conn, supervisor_id, config=app.routing)["items"]
    assert [i["ticket_id"] for i in seen_by_agent] == [tid]
    assert nik not in seen_by_agent[0]["subject"]
    assert seen_by_agent[0]["subject"].startswith("OTP tidak masuk, NIK saya 32")
    assert seen_by_supervisor[0]["subject"] == f"OTP tidak masuk, NIK saya {nik}"
