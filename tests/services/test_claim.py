"""Claim next: the most urgent eligible ticket, atomically, on both databases."""

from __future__ import annotations

import datetime as dt

from ticketing.app import App
from ticketing.services.routing import claim_next
from tests.routing_helpers import agent, assignee, tickets


def _claim(app: App, uid: int) -> int | None:
    got = claim_next(uid, engine=app.engine, config=app.routing, clock=app.clock)
    return got.id if got else None


def test_claim_takes_the_ticket_closest_to_breach_then_priority_then_age(app: App) -> None:
    now = app.clock.now()
    later, sooner, urgent_same_due, no_clock = tickets(app, [
        {"queue_due_at": now + dt.timedelta(hours=5)},
        {"queue_due_at": now + dt.timedelta(hours=1)},
        {"queue_due_at": now + dt.timedelta(hours=5), "priority": "urgent", "priority_rank": 0},
        {"queue_due_at": None},
    ])
    uid = agent(app, skills=["otp"])
    assert [_claim(app, uid) for _ in range(5)] == [sooner, urgent_same_due, later, no_clock,
                                                     None]
    assert assignee(app, sooner) == uid
