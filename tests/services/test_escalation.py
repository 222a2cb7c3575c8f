"""SLA escalation on real tickets: each step once per ticket and target across repeated timer
passes, in-app notifications to the assignee and to every supervisor (never an agent), the
priority raised one level up to a cap, supervisors' e-mail only when configured, and a delayed
step woken by ``sla_check_at``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa

from ticketing.app import App
from ticketing.services import updates
from ticketing.services.accounts import Principal, Role
from ticketing.services.clock import FixedClock
from ticketing.services.outbox import deliver_due
from ticketing.services.ports import Delivery
from ticketing.entrypoints.jobs import sla_tick
from ticketing.store import tables
from tests.helpers import ingest_one, message, reply
from tests.services.conftest import (BREACHED, FRIDAY_1630, WARNED, WIB, assign, at, audit_rows,
                                     notified, ticket, user)

def test_each_step_fires_once_across_repeated_ticks(app: App, friday: FixedClock) -> None:
    agent = user(app, "agen@example.id", "agent")
    boss = user(app, "spv@example.id", "supervisor")
    tid = ingest_one(app, message("OTP tidak masuk", email="sari@example.id",
                                  sent_at=FRIDAY_1630)).ticket_id or 0
    assign(app, tid, "agen@example.id")
    sla_tick(app)
    assert notified(app) == []

    at(friday, WARNED)
    assert sla_tick(app)["escalations"] == 1
    assert sla_tick(app)["escalations"] == 0
    assert notified(app) == [(agent, "sla.warning", "first_response")]

    at(friday, BREACHED)
    assert sla_tick(app)["escalations"] == 2
    for _ in range(3):
        assert sla_tick(app)["escalations"] == 0
    assert notified(app)[1:] == [(boss, "sla.breached", "first_response")]
    steps = [(d["target"], d["step"], d["outcome"]) for d in audit_rows(app, "sla.escalated")]
    assert steps == [("first_response", "warning:notify_assignee", "notified"),
                     ("first_response", "breach:notify_supervisors", "notified"),
                     ("first_response", "breach:raise_priority", "raised")]
    assert ticket(app, tid).priority == "high"
    assert audit_rows(app, "ticket.priority_changed") == [
        {"previous": "normal", "priority": "high",
         "reason": "sla escalation breach:raise_priority on first_response"}]


def test_priority_is_raised_once_per_target_and_never_past_the_cap(
        app: App, friday: FixedClock) -> None:
    tid = ingest_one(app, message("OTP tidak masuk", email="sari@example.id",
                                  sent_at=FRIDAY_1630)).ticket_id or 0
    at(friday, BREACHED)
    sla_tick(app)
    assert ticket(app, tid).priority == "high"  # first response breached: normal → high
    # Weeks later the resolution is breached too: high → urgent; nothing goes past urgent.
    at(friday, dt.datetime(2026, 3, 30, 9, 0, tzinfo=WIB))
    sla_tick(app)
    assert ticket(app, tid).priority == "urgent"
    raises = [d for d in audit_rows(app, "sla.escalated") if d["action"] == "raise_priority"]
    assert [(d["target"], d["outcome"]) for d in raises] == [("first_response", "raised"),
                                                             ("resolution", "raised")]
    with app.engine.begin() as conn:  # an urgent ticket whose next target breaches is capped
        conn.execute(tables.tickets.update().where(tables.tickets.c.id == tid).values(
            sla_signals={}, sla_check_at=app.clock.now()))
    sla_tick(app)
    assert ticket(app, tid).priority == "urgent"
    capped = [d for d in audit_rows(app, "sla.escalated") if d.get("outcome") == "capped"]
    assert {d["target"] for d in capped} == {"first_response", "resolution"}
    assert len(audit_rows(app, "ticket.priority_changed")) == 2


def test_a_lower_cap_stops_the_raise_early(app: App, friday: FixedClock,
                                           configured: Callable[..., App]) -> None:
    capped = configured(lambda text: text.replace(
        '{ on = "breach", action = "raise_priority", up_to = "urgent" }',
        '{ on = "breach", action = "raise_priority", up_to = "normal" }'))
    tid = ingest_one(capped, message("OTP tidak masuk", email="sari@example.id",
                                     sent_at=FRIDAY_1630)).ticket_id or 0
    at(friday, BREACHED)
    sla_tick(capped)
    assert ticket(capped, tid).priority == "normal"
    assert [d["outcome"] for d in audit_rows(capped, "sla.escalated")
            if d["action"] == "raise_priority"] == ["capped"]


def test_supervisors_are_notified_every_one_and_no_agent(app: App, friday: FixedClock) -> None:
    user(app, "agen@example.id", "agent")
    user(app, "admin@example.id", "admin")
    first = user(app, "spv1@example.id", "supervisor")
    second = user(app, "spv2@example.id", "supervisor")
    user(app, "old-spv@example.id", "supervisor", active=False)
    tid = ingest_one(app, message("OTP tidak masuk", email="sari@example.id",
                                  sent_at=FRIDAY_1630)).ticket_id or 0
    at(friday, BREACHED)
    sla_tick(app)
    assert sorted(notified(app)) == [(first, "sla.breached", "first_response"),
                                     (second, "sla.breached", "first_response")]
    sent = [d for d in audit_rows(app, "sla.escalated") if d["action"] == "notify_supervisors"]
    assert sent[0]["recipients"] == [first, second]
    # No e-mail unless configured.
    with app.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.outbox).where(
            tables.outbox.c.kind == "notification")).scalar_one() == 0
    assert ticket(app, tid).first_response_state == "breached"


def test_notify_assignee_without_an_assignee_is_skipped_and_audited(
        app: App, friday: FixedClock) -> None:
    ingest_one(app, message("OTP tidak masuk", email="sari@example.id", sent_at=FRIDAY_1630))
    at(friday, WARNED)
    sla_tick(app)
    assert notified(app) == []
    assert audit_rows(app, "sla.escalated") == [
        {"step": "warning:notify_assignee", "target": "first_response",
         "action": "notify_assignee", "due_at": "2026-03-09T04:30:00+00:00",
         "policy": "standard", "policy_version": 1, "outcome": "skipped",
         "reason": "no assignee"}]


def test_a_late_timer_still_runs_the_warning_step_with_the_breach(
        app: App, friday: FixedClock) -> None:
    agent = user(app, "agen@example.id", "agent")
    tid = ingest_one(app, message("OTP tidak masuk", email="sari@example.id",
                                  sent_at=FRIDAY_1630)).ticket_id or 0
    assign(app, tid, "agen@example.id")
    at(friday, BREACHED)  # the worker was down through the warning
    sla_tick(app)
    assert (agent, "sla.warning", "first_response") in notified(app)


def test_supervisors_get_mail_through_the_outbox_only_when_configured(
        app: App, friday: FixedClock, configured: Callable[..., App]) -> None:
    mailing = configured(sla_escalation_email=True)
    user(app, "agen@example.id", "agent")
    user(app, "spv1@example.id", "supervisor")
    user(app, "spv2@example.id", "supervisor")
    tid = ingest_one(mailing, message("OTP tidak masuk, NIK saya 3224 2819 0887 6385, WA "
                                      "0812-3456-7890", email="sari@example.id",
                                      sent_at=FRIDAY_1630)).ticket_id or 0
    at(friday, WARNED)
    sla_tick(mailing)
    at(friday, BREACHED)
    sla_tick(mailing)
    sla_tick(mailing)
    o = tables.outbox
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(o).where(o.c.kind == "notification")
                            .order_by(o.c.id)).all()
    assert [r.recipient["email"] for r in rows] == ["spv1@example.id", "spv2@example.id"]
    mail = rows[0].payload
    assert rows[0].status == "pending" and rows[0].channel == "email"
    assert mail["from"] == mailing.settings.support_address
    assert f"T-{tid:06d}" in mail["subject"]
    assert "2026-03-09 11:30 WIB" in mail["body"] and f"/tickets/{tid}" in mail["body"]
    assert "first_response" in mail["body"]
    for secret in ("3224", "0812", "sari", "OTP"):
        assert secret not in mail["body"] + mail["subject"]
    # The outbox worker delivers them like any other mail.
    delivered: list[Delivery] = []

    def sender(item: Delivery) -> str | None:
        delivered.append(item)
        return None
    assert deliver_due(mailing.uow, {"email": sender}, mailing.clock) == 2
    assert [d.kind for d in delivered] == ["notification", "notification"]
    with app.engine.connect() as conn:
        assert set(conn.execute(sa.select(o.c.status).where(o.c.kind == "notification"))
                   .scalars()) == {"sent"}


def test_a_delayed_step_wakes_the_timer_and_stops_once_answered(
        app: App, friday: FixedClock, configured: Callable[..., App]) -> None:
    delayed = configured(lambda text: text.replace(
        '  { on = "breach", action = "raise_priority", up_to = "urgent" },\n',
        '  { on = "breach", action = "raise_priority", up_to = "urgent" },\n'
        '  { on = "breach", after = 60, targets = ["first_response"], '
        'action = "notify_supervisors" },\n'))
    boss = user(app, "spv@example.id", "supervisor")
    tid = ingest_one(delayed, message("OTP tidak masuk", email="sari@example.id",
                                      sent_at=FRIDAY_1630)).ticket_id or 0
    second = ingest_one(delayed, message("Insentif belum cair", channel="email",
                                         email="budi@example.id",
                                         sent_at=FRIDAY_1630)).ticket_id or 0
    at(friday, BREACHED)
    sla_tick(delayed)
    # Breached at 11:30; +60 business minutes crosses the lunch break: 13:30.
    assert ticket(delayed, tid).sla_check_at == dt.datetime(2026, 3, 9, 13, 30, tzinfo=WIB)
    # The second ticket is answered before then: its delayed step never fires.
    agent = Principal(user_id=boss, email="spv@example.id", name="spv", role=Role.SUPERVISOR)
    at(friday, dt.datetime(2026, 3, 9, 13, 0, tzinfo=WIB))
    reply(delayed, second, "Sedang kami cek.", by=agent)  # and the relay accepts it
    at(friday, dt.datetime(2026, 3, 9, 13, 29, tzinfo=WIB))
    sla_tick(delayed)
    assert [x for x in notified(delayed) if x[2] == "first_response"] == [
        (boss, "sla.breached", "first_response")] * 2
    at(friday, dt.datetime(2026, 3, 9, 13, 31, tzinfo=WIB))
    sla_tick(delayed)
    sla_tick(delayed)
    late = [d for d in audit_rows(delayed, "sla.escalated")
            if d["step"] == "breach+60:notify_supervisors"]
    assert len(late) == 1 and late[0]["recipients"] == [boss]
    with delayed.engine.connect() as conn:
        who = conn.execute(sa.select(tables.audit.c.ticket_id).where(
            tables.audit.c.kind == "sla.escalated")).scalars().all()
    assert who.count(tid) == 4 and who.count(second) == 3


def test_an_edited_policy_leaves_existing_tickets_alone(
        app: App, friday: FixedClock, configured: Callable[..., App]) -> None:
    old = ingest_one(app, message("OTP tidak masuk", email="sari@example.id",
                                  sent_at=FRIDAY_1630)).ticket_id or 0
    stricter = configured(lambda text: text.replace(
        "[policies.standard]\nversion = 1", "[policies.standard]\nversion = 2").replace(
        "first_response = 240                # 4 business hours",
        "first_response = 120                # 2 business hours"))
    new = ingest_one(stricter, message("Insentif belum cair", email="budi@example.id",
                                       sent_at=FRIDAY_1630)).ticket_id or 0
    # Something happens on the old ticket; the timer re-measures it from its history.
    at(friday, dt.datetime(2026, 3, 9, 9, 30, tzinfo=WIB))
    boss = Principal(user_id=0, email="x@example.id", name="x", role=Role.SUPERVISOR)
    with stricter.engine.begin() as conn:
        updates.update_ticket(conn, old, {"priority": "low"}, by=boss, topics=(),
                              now=stricter.clock.now())
    sla_tick(stricter)
    kept, fresh = ticket(stricter, old), ticket(stricter, new)
    assert (kept.sla_policy_version, kept.sla_terms["first_response"]) == (1, 240)
    assert kept.first_response_due_at == dt.datetime(2026, 3, 9, 11, 30, tzinfo=WIB)
    assert kept.first_response_state == "running"
    assert (fresh.sla_policy_version, fresh.sla_terms["first_response"]) == (2, 120)
    assert fresh.first_response_due_at == dt.datetime(2026, 3, 9, 9, 30, tzinfo=WIB)
    assert audit_rows(stricter, "sla.recomputed") == []


def test_a_breach_seen_only_after_the_late_answer_pushes_nothing(
        app: App, friday: FixedClock) -> None:
    boss = user(app, "spv@example.id", "supervisor")
    tid = ingest_one(app, message("OTP tidak masuk", channel="email", email="sari@example.id",
                                  sent_at=FRIDAY_1630)).ticket_id or 0
    at(friday, dt.datetime(2026, 3, 9, 11, 40, tzinfo=WIB))  # ten minutes late; no timer ran
    by = Principal(user_id=boss, email="spv@example.id", name="spv", role=Role.SUPERVISOR)
    reply(app, tid, "Sedang kami cek.", by=by)  # delivered at once
    assert sla_tick(app)["breaches"] == 1
    assert ticket(app, tid).priority == "normal" and notified(app) == []
    assert {(d["step"], d["outcome"], d.get("reason")) for d in audit_rows(app, "sla.escalated")
            } == {(key, "skipped", "target already answered") for key in (
                "warning:notify_assignee", "breach:notify_supervisors", "breach:raise_priority")}
