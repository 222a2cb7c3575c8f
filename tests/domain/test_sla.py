"""The SLA clock rebuilt from event histories, and policy selection, on config/sla.toml.

Policies used: standard (wib) first response 240, next response 480, resolution 1440, warning at
80%; urgent 60/120/480; phone 30/240/1440.  The wib calendar is Mon-Fri 08-12, 13-17 WIB; March
2026: Mon 2, 9, 16, 23, 30; closed 18-24 Mar (Nyepi, Idul Fitri, cuti bersama); Sat 28 Mar open
08-12 by override.  All times in the table are WIB.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketing.domain.calendar import add_business_minutes, calendars_from_config
from ticketing.domain.sla import (
    ClockState,
    EventKind,
    PolicyRule,
    SlaClock,
    SlaPolicy,
    TicketEvent,
    choose_policy,
    evaluate,
    sla_config_from,
)

CONFIG = Path(__file__).resolve().parents[2] / "config" / "sla.toml"
with CONFIG.open("rb") as _fh:
    DOC: dict[str, Any] = tomllib.load(_fh)
CALENDARS = calendars_from_config(DOC)
SLA = sla_config_from(DOC, list(CALENDARS))
WIB = CALENDARS["wib"]
JKT = ZoneInfo("Asia/Jakarta")


def w(text: str) -> datetime:
    """'10 09:00' -> 10 Mar 2026 09:00 WIB; a full 'YYYY-MM-DD HH:MM' also works."""
    if len(text) <= 11:
        text = f"2026-03-{text}"
    return datetime.fromisoformat(text).replace(tzinfo=JKT)


def ev(kind: str, at: str, **extra: Any) -> TicketEvent:
    if "first_contact_at" in extra:
        extra["first_contact_at"] = w(extra["first_contact_at"])
    return TicketEvent(at=w(at), kind=EventKind(kind), **extra)


def C(at: str) -> TicketEvent:  # noqa: N802 - table shorthand: citizen message
    return ev("customer_message", at)


def A(at: str) -> TicketEvent:  # noqa: N802 - agent response
    return ev("agent_response", at)


def PENDING(at: str) -> TicketEvent:  # noqa: N802
    return ev("status_change", at, to="pending_customer")


@dataclass(frozen=True, slots=True, kw_only=True)
class Want:
    state: ClockState
    due: str | None = "-"  # "-" = do not check
    consumed: int | None = None
    warn: str | None = "-"


def check(clock: SlaClock | None, want: Want | None) -> None:
    if want is None:
        assert clock is None
        return
    assert clock is not None
    assert clock.state is want.state, clock
    if want.due != "-":
        assert clock.due_at == (None if want.due is None else w(want.due)), clock
    if want.consumed is not None:
        assert clock.consumed_minutes == want.consumed, clock
    if want.warn != "-":
        assert clock.warn_at == (None if want.warn is None else w(want.warn)), clock
    for at in (clock.due_at, clock.warn_at, clock.met_at, clock.breached_at, clock.completed_at):
        assert at is None or at.tzinfo is UTC


R, P, MET, BR = ClockState.RUNNING, ClockState.PAUSED, ClockState.MET, ClockState.BREACHED

# (id, policy, events, now, first response, next response, resolution) -- each hand-checked.
CASES = [
    # Reply at 12:30 in the lunch break: 180 business minutes used (09-12); due 09:00 + 240 ->
    # 180 before lunch, 60 after -> 14:00.  Met.  Resolution: 180 + 120 (13-15) used by 15:00.
    ("met_in_lunch_break", "standard", [C("10 09:00"), A("10 12:30")], "10 15:00",
     Want(state=MET, due="10 14:00", consumed=180), None, Want(state=R, consumed=300)),
    # No reply: due 14:00 passed -> breached at 14:00; 270 min used by 14:30.
    ("breached_no_reply", "standard", [C("10 09:00")], "10 14:30",
     Want(state=BR, due="10 14:00", consumed=270), None, Want(state=R)),
    # A late reply at 14:05 stays breached; 245 min used.
    ("late_reply", "standard", [C("10 09:00"), A("10 14:05")], "10 16:00",
     Want(state=BR, due="10 14:00", consumed=245), None, Want(state=R)),
    # Warning at 80% = 192 min: 180 to 12:00, 12 after lunch -> 13:12.
    ("warning_at_80_percent", "standard", [C("10 09:00")], "10 10:00",
     Want(state=R, due="10 14:00", consumed=60, warn="10 13:12"), None,
     # resolution 1152 min: 09-17 Tue 420, Wed 480 (900), Thu 252 -> 08-12 240, 13:12.
     Want(state=R, warn="12 13:12")),
    # Friday 16:30: 30 min Friday; due Monday 11:30; warning 192-30 = 162 into Monday -> 10:42.
    ("friday_16_30", "standard", [C("13 16:30")], "13 18:00",
     Want(state=R, due="16 11:30", consumed=30, warn="16 10:42"), None, Want(state=R, consumed=30)),
    # Multi-day pause: 60 min (09-10 Mon 2 Mar), pending until the citizen's reply Thu 5 15:00.
    # Resolution remaining 1380: Thu 120, Fri 480, Mon 9 480 -> 300 left, Tue 10 08-12 240,
    # 13:00 + 60 -> Tue 10 14:00.  Used by Thu 16:00: 60 + 60.  The reply opens a next-response
    # target: 480 from Thu 15:00 -> Thu 120, Fri 08-12 240, 13:00 + 120 -> Fri 6 15:00.
    ("multi_day_pause_resumed_by_citizen", "standard",
     [C("02 09:00"), A("02 10:00"), PENDING("02 10:00"), C("05 15:00")], "05 16:00",
     Want(state=MET, consumed=60), Want(state=R, due="06 15:00", consumed=60),
     Want(state=R, due="10 14:00", consumed=120)),
    # Still pending: resolution paused, no due time, 60 min used.
    ("paused_while_pending", "standard",
     [C("02 09:00"), A("02 10:00"), PENDING("02 10:00")], "03 12:00",
     Want(state=MET), None, Want(state=P, due=None, consumed=60, warn=None)),
    # Agent sets the ticket back to open (Wed 4 Mar 09:00): resumes without a next-response cycle.
    # Resolution 1380 left from Wed 09:00: Wed 420, Thu 480 (900), Fri 6 480 -> Fri 17:00.
    ("agent_resumes_from_pending", "standard",
     [C("02 09:00"), A("02 10:00"), PENDING("02 10:00"), ev("status_change", "04 09:00", to="open")],
     "04 10:00", Want(state=MET), None, Want(state=R, due="06 17:00", consumed=120)),
    # Pending before any reply pauses the first response too: 60 used Tue; resumes Wed 09:00 with
    # 180 left -> Wed 12:00.  (Pending is not a reply: no next-response cycle.)
    ("pending_before_first_response", "standard",
     [C("10 09:00"), PENDING("10 10:00"), C("11 09:00")], "11 10:00",
     Want(state=R, due="11 12:00", consumed=120), None, Want(state=R, consumed=120)),
    # Next response after a citizen reply: cycle starts 11:00; 480 -> Tue 60 + 240, Wed 08:00+180.
    ("next_response_after_citizen_reply", "standard",
     [C("10 09:00"), A("10 09:30"), C("10 11:00")], "10 11:30",
     Want(state=MET, consumed=30), Want(state=R, due="11 11:00", consumed=30), Want(state=R)),
    # Second cycle unanswered past Wed 11:00 -> breached; first cycle (10:00 -> 10:30) was met.
    ("next_response_breached", "standard",
     [C("10 09:00"), A("10 09:30"), C("10 10:00"), A("10 10:30"), C("10 11:00")], "12 12:00",
     Want(state=MET), Want(state=BR, due="11 11:00"), Want(state=R)),
    # Several citizen messages before a reply: the cycle starts at the first of them (10:00);
    # reply 10:45 -> 45 min, met.
    ("next_response_from_first_unanswered", "standard",
     [C("10 09:00"), A("10 09:30"), C("10 10:00"), C("10 10:30"), A("10 10:45")], "10 11:00",
     Want(state=MET), Want(state=MET, consumed=45, due="11 10:00"), Want(state=R)),
    # Merge: this ticket's first message 13:00, but a merged ticket's first contact was 08:30.
    # Due 08:30 + 240 -> 210 to 12:00, 13:30.  Reply 14:30 -> breached, 210 + 90 = 300 min used.
    # Resolution counts from 08:30 too: 210 + 120 (13-15) = 330 by 15:00.
    ("merge_from_earliest_contact", "standard",
     [C("10 13:00"), ev("merged", "10 14:00", first_contact_at="10 08:30"), A("10 14:30")],
     "10 15:00", Want(state=BR, due="10 13:30", consumed=300), None, Want(state=R, consumed=330)),
    # Without the merge the same reply is met (90 min after 13:00).
    ("same_ticket_unmerged", "standard", [C("10 13:00"), A("10 14:30")], "10 15:00",
     Want(state=MET, due="10 17:00", consumed=90), None, Want(state=R)),
    # Phone call answered: the agent spoke 40 s in -> first response met, 0 whole minutes.
    ("phone_call_agent_spoke", "phone", [C("10 10:00"), ev("agent_response", "10 10:00:40")],
     "10 10:05", Want(state=MET, due="10 10:30", consumed=0), None, Want(state=R)),
    # Call with no agent speech (IVR, hung up) is no response: breached at 10:30.
    ("phone_call_no_agent", "phone", [C("10 10:00")], "10 10:45",
     Want(state=BR, due="10 10:30", consumed=45), None, Want(state=R)),
    # Urgent: 60/480.  11:30 + 60 -> 13:30 over lunch; resolution 11:30 + 480 -> Wed 11:30.
    ("urgent_over_lunch", "urgent", [C("10 11:30")], "10 11:40",
     Want(state=R, due="10 13:30", consumed=10), None, Want(state=R, due="11 11:30")),
    # Resolution over the Lebaran week: Tue 17 16:00 + 1440 -> Fri 27 16:00; resolved Fri 15:00:
    # used 60 + 480 + 480 + 360 = 1380; met.
    ("resolution_met_over_holidays", "standard",
     [C("17 16:00"), A("17 16:30"), ev("resolved", "27 15:00")], "30 09:00",
     Want(state=MET, consumed=30), None, Want(state=MET, due="27 16:00", consumed=1380)),
    # Resolved on the override Saturday 09:00: breached at Fri 27 16:00; 60+480*3+60 = 1560 used.
    ("resolution_breached_on_open_saturday", "standard",
     [C("17 16:00"), A("17 16:30"), ev("resolved", "28 09:00")], "30 09:00",
     Want(state=MET), None, Want(state=BR, due="27 16:00", consumed=1560)),
    # Resolved (60 used) then the citizen writes Wed 4 Mar 09:00: resolution resumes (resolved
    # time does not count) -> Wed 420, Thu 480, Fri 480 -> Fri 6 17:00; a next cycle starts.
    ("reopened_by_citizen", "standard",
     [C("02 09:00"), A("02 09:30"), ev("resolved", "02 10:00"), C("04 09:00")], "04 10:00",
     Want(state=MET), Want(state=R, consumed=60), Want(state=R, due="06 17:00", consumed=120)),
    # Explicit reopen by an agent, then resolved again: met with 60 + 60 used.
    ("reopened_and_resolved_again", "standard",
     [C("02 09:00"), A("02 09:30"), ev("resolved", "02 10:00"), ev("reopened", "04 09:00"),
      ev("resolved", "04 10:00")], "05 09:00",
     Want(state=MET), None, Want(state=MET, consumed=120)),
    # Resolved without any reply: the first-response clock stays paused (never met).
    ("resolved_without_reply", "standard", [C("10 09:00"), ev("resolved", "10 09:30")], "10 16:00",
     Want(state=P, due=None, consumed=30), None, Want(state=MET, consumed=30)),
    # Message at 23:59 Tuesday: clock starts Wed 08:00; due 12:00; nothing used by 07:59.
    ("message_at_23_59", "standard", [C("10 23:59")], "11 07:59",
     Want(state=R, due="11 12:00", consumed=0, warn="11 11:12"), None, Want(state=R, consumed=0)),
    # Events after now are ignored (an "as of" evaluation), unsorted input is sorted.
    ("as_of_before_reply", "standard", [A("10 10:00"), C("10 09:00")], "10 09:30",
     Want(state=R, due="10 14:00", consumed=30), None, Want(state=R)),
]


@pytest.mark.parametrize(("policy", "events", "now", "first", "nxt", "resolution"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_sla_clock_table(policy: str, events: list[TicketEvent], now: str, first: Want,
                         nxt: Want | None, resolution: Want) -> None:
    clocks = evaluate(SLA.policies[policy], WIB, events, w(now))
    check(clocks.first_response, first)
    check(clocks.next_response, nxt)
    check(clocks.resolution, resolution)
    assert clocks.policy_name == policy and clocks.calendar_name == "wib"


def test_next_response_breaches_are_counted() -> None:
    # Cycle 1 (10:00) unanswered until Thu 12 09:00 > due Wed 11 10:00: breached; cycle 2 met.
    events = [C("10 09:00"), A("10 09:30"), C("10 10:00"), A("12 09:00"), C("12 10:00"),
              A("12 10:10")]
    clocks = evaluate(SLA.policies["standard"], WIB, events, w("12 11:00"))
    assert clocks.next_response is not None and clocks.next_response.state is MET
    assert clocks.next_response_breaches == 1


def test_breach_records_instants_in_utc() -> None:
    clocks = evaluate(SLA.policies["standard"], WIB, [C("10 09:00"), A("10 14:05")], w("10 16:00"))
    fr = clocks.first_response
    assert fr.breached_at == datetime(2026, 3, 10, 7, 0, tzinfo=UTC)  # 14:00 WIB
    assert fr.completed_at == datetime(2026, 3, 10, 7, 5, tzinfo=UTC)
    assert fr.met_at is None
    assert clocks.first_contact_at == datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


def test_next_wakeup_is_the_nearest_warning_or_due() -> None:
    clocks = evaluate(SLA.policies["standard"], WIB, [C("10 09:00")], w("10 10:00"))
    assert clocks.next_wakeup == w("10 13:12")  # first-response warning


def test_first_contact_argument_for_merged_tickets() -> None:
    clocks = evaluate(SLA.policies["standard"], WIB, [C("10 13:00")], w("10 13:10"),
                      first_contact_at=w("10 08:30"))
    assert clocks.first_response.due_at == w("10 13:30")


def test_evaluate_refuses_naive_and_empty_histories() -> None:
    policy = SLA.policies["standard"]
    with pytest.raises(ValueError, match="naive"):
        evaluate(policy, WIB, [C("10 09:00")], datetime(2026, 3, 10, 10))
    with pytest.raises(ValueError, match="naive"):
        TicketEvent(at=datetime(2026, 3, 10, 10), kind=EventKind.CUSTOMER_MESSAGE)
    with pytest.raises(ValueError, match="no citizen contact"):
        evaluate(policy, WIB, [A("10 09:00")], w("10 10:00"))
    with pytest.raises(ValueError, match="calendar"):
        evaluate(SLA.policies["timur"], WIB, [C("10 09:00")], w("10 10:00"))
    with pytest.raises(ValueError, match="to=<status>"):
        TicketEvent(at=w("10 09:00"), kind=EventKind.STATUS_CHANGE)
    with pytest.raises(ValueError, match="first_contact_at"):
        TicketEvent(at=w("10 09:00"), kind=EventKind.MERGED)


# -- policy choice ------------------------------------------------------------------------------

@pytest.mark.parametrize(("channel", "topic", "priority", "team", "policy"), [
    ("phone", "insentif", "urgent", None, "urgent"),  # urgent is listed first: it wins over phone
    ("phone", "insentif", "normal", None, "phone"),
    ("PHONE", None, "normal", None, "phone"),  # values compare case-insensitively
    ("email", "otp", "normal", "papua", "timur"),
    ("email", "otp", "normal", None, "standard"),  # the explicit default
    (None, None, None, None, "standard"),
])
def test_choose_policy_first_match_in_file_order(channel: str | None, topic: str | None,
                                                 priority: str | None, team: str | None,
                                                 policy: str) -> None:
    chosen = choose_policy(SLA.rules, channel=channel, topic=topic, priority=priority, team=team)
    assert chosen.name == policy


def test_rule_order_not_name_decides() -> None:
    urgent, phone, default = SLA.rules[0], SLA.rules[1], SLA.rules[-1]
    chosen = choose_policy([phone, urgent, default], channel="phone", topic=None,
                           priority="urgent", team=None)
    assert chosen.name == "phone"


def test_conditions_combine_with_and() -> None:
    pol = SLA.policies["urgent"]
    rule = PolicyRule(policy=pol, channel=frozenset({"email"}), topic=frozenset({"otp", "nik"}))
    assert rule.matches(channel="email", topic="nik", priority=None, team=None)
    assert not rule.matches(channel="email", topic="insentif", priority=None, team=None)
    assert not rule.matches(channel="phone", topic="otp", priority=None, team=None)


def _rules_doc(rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {**DOC, "rules": rules}


@pytest.mark.parametrize(("doc", "message"), [
    (_rules_doc([{"when": {"priority": ["urgent"]}, "policy": "urgent"}]), "exactly one default"),
    (_rules_doc([{"default": True, "policy": "standard"},
                 {"when": {"channel": "phone"}, "policy": "phone"}]), "must be the last"),
    (_rules_doc([{"policy": "phone"}, {"default": True, "policy": "standard"}]),
     "without conditions"),
    (_rules_doc([{"when": {"weekday": "mon"}, "policy": "phone"},
                 {"default": True, "policy": "standard"}]), "may only test"),
    (_rules_doc([{"default": True, "policy": "gold"}]), "unknown policy"),
    (_rules_doc([{"default": True, "when": {"channel": "phone"}, "policy": "standard"}]),
     "no conditions"),
    ({**DOC, "policies": {"p": {"calendar": "mars", "first_response": 1, "resolution": 1}}},
     "calendar 'mars'"),
    ({**DOC, "policies": {"p": {"calendar": "wib", "first_response": 0, "resolution": 1}}},
     "first_response must be a positive"),
    ({**DOC, "policies": {"p": {"calendar": "wib", "first_response": 1, "resolution": 1,
                                "warning_share": 1.5}}}, "warning_share"),
])
def test_bad_policy_config_is_a_clear_value_error(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sla_config_from(doc, list(CALENDARS))


# -- properties ---------------------------------------------------------------------------------

STARTS = st.datetimes(min_value=datetime(2025, 6, 1), max_value=datetime(2027, 6, 1),
                      timezones=st.just(UTC))
GAPS = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20))
POLICY = SlaPolicy(name="p", version=1, first_response_minutes=240, next_response_minutes=480,
                   resolution_minutes=1440, calendar_name="wib")


@given(STARTS, GAPS, GAPS, GAPS)
def test_a_pause_never_makes_a_due_time_earlier(start: datetime, before: timedelta,
                                                pause: timedelta, after: timedelta) -> None:
    p1 = start + before
    p2 = p1 + pause
    events = [TicketEvent(at=start, kind=EventKind.CUSTOMER_MESSAGE),
              TicketEvent(at=p1, kind=EventKind.STATUS_CHANGE, to="pending_customer"),
              TicketEvent(at=p2, kind=EventKind.STATUS_CHANGE, to="open")]
    clocks = evaluate(POLICY, WIB, events, p2 + after)
    for clock, minutes in ((clocks.first_response, 240), (clocks.resolution, 1440)):
        assert clock.due_at is not None
        assert clock.due_at >= add_business_minutes(WIB, start, minutes)
        assert clock.due_at >= start


@given(STARTS, GAPS, GAPS)
def test_paused_clock_has_no_due_and_stops_consuming(start: datetime, before: timedelta,
                                                      later: timedelta) -> None:
    p1 = start + before
    events = [TicketEvent(at=start, kind=EventKind.CUSTOMER_MESSAGE),
              TicketEvent(at=p1, kind=EventKind.STATUS_CHANGE, to="pending_customer")]
    a = evaluate(POLICY, WIB, events, p1)
    b = evaluate(POLICY, WIB, events, p1 + later)
    assert a.resolution.consumed_minutes == b.resolution.consumed_minutes
    if b.resolution.state is ClockState.PAUSED:
        assert b.resolution.due_at is None and b.resolution.warn_at is None


@given(STARTS, GAPS)
def test_running_due_equals_plain_addition(start: datetime, elapsed: timedelta) -> None:
    clocks = evaluate(POLICY, WIB, [TicketEvent(at=start, kind=EventKind.CUSTOMER_MESSAGE)],
                      start + elapsed)
    assert clocks.resolution.due_at == add_business_minutes(WIB, start, 1440)
    assert clocks.first_response.warn_at == add_business_minutes(WIB, start, 192)
