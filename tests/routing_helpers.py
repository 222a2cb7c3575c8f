"""Builders for routing tests: agents with profiles, and queued tickets written directly."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ticketing.app import App
from ticketing.services import accounts
from ticketing.services.presence import set_agent
from ticketing.store import tables

_n = itertools.count(1)


def agent(app: App, *, role: str = "agent", skills: Sequence[str] = (),
          languages: Sequence[str] = ("id",), teams: Sequence[str] = (),
          capacity: dict[str, int] | None = None, status: str = "online",
          email: str | None = None) -> int:
    email = email or f"agent{next(_n)}@example.id"
    with app.engine.begin() as conn:
        uid = accounts.create_user(conn, email=email, name=email, role=role,
                                   password="secret-password", skills=skills,
                                   languages=languages, clock=app.clock)
        set_agent(conn, email=email, config=app.routing, by="test", teams=teams,
                  capacity=capacity if capacity is not None else None, status=status,
                  now=app.clock.now())
    return uid


def customer(conn: sa.Connection, now: dt.datetime) -> int:
    return int(conn.execute(tables.customers.insert().values(created_at=now)
                            .returning(tables.customers.c.id)).scalar_one())


def tickets(app: App, specs: Sequence[dict[str, Any]]) -> list[int]:
    """Insert open unassigned tickets (one customer) with the given column overrides."""
    now = app.clock.now()
    with app.engine.begin() as conn:
        cid = customer(conn, now)
        rows = []
        for spec in specs:
            row = {"customer_id": cid, "status": "new", "priority": "normal", "topic": "otp",
                   "channel": "webchat", "language": "id", "team": "akun", "message_count": 1,
                   "created_at": now, "updated_at": now, "first_message_at": now,
                   "last_message_at": now, "sla_signals": {}, "priority_rank": 2,
                   "queue_due_at": now + dt.timedelta(hours=4)}
            row.update(spec)
            rows.append(row)
        t = tables.tickets
        ids = [int(conn.execute(t.insert().values(**r).returning(t.c.id)).scalar_one())
               for r in rows]
    return ids


def assignee(app: App, ticket_id: int) -> int | None:
    with app.engine.connect() as conn:
        value = conn.execute(sa.select(tables.tickets.c.assignee_id)
                             .where(tables.tickets.c.id == ticket_id)).scalar()
    return int(value) if value is not None else None


def claim_next(app: App, uid: int, *, engine: sa.Engine | None = None,
               cache: Any = None) -> Any:
    """The claim as the drivers run it (``entrypoints.jobs.claim_next``), with an optional
    other engine (a second process) and memo."""
    from ticketing.services.routing import claim_with
    from ticketing.store.locking import statement_transactions
    with statement_transactions(engine or app.engine) as conn:
        return claim_with(conn, uid, config=app.routing, clock=app.clock, cache=cache)
