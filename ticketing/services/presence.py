"""Use cases of agents' presence and profiles, and the routing tick.

Agents report ``online`` / ``away`` / ``offline`` and send heartbeats; an online or away agent
silent longer than ``heartbeat_timeout_seconds`` becomes offline.  The routing tick (in the
worker, next to the SLA timer) then returns to the queue the tickets of agents offline longer
than their team's ``offline_return_minutes``, gives a team to tickets that have none (written
before routing existed), and offers waiting tickets of auto-assigning teams to agents who came
online.  On an SLA breach (``escalate_breached``, called by the SLA timer in its transaction) a
ticket escalates to its team's supervisors' queue, and leaves an assignee who is away.  Every
change is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from ticketing.domain.errors import InvalidInput, NotFound
from ticketing.domain.language import detect_language
from ticketing.domain.routing import (CHANNELS, Presence, RoutingConfig, heartbeat_expired,
                                      offline_too_long)
from ticketing.services.clock import Clock
from ticketing.models.ticket import QUEUE_WHERE
from ticketing.services.routing import agent_of, assign_waiting, auto_assign
from ticketing.store import routing as rq
from ticketing.domain import events as ev
from ticketing.store import tables
from ticketing.store.audit import record

t, m, users, profiles = tables.tickets, tables.messages, tables.users, tables.agent_profiles
SYSTEM = "system"


def _user_id(conn: sa.Connection, email: str) -> int:
    uid = conn.execute(sa.select(users.c.id).where(users.c.email == email.strip().lower())
                       ).scalar()
    if uid is None:
        raise NotFound(f"no user {email}")
    return int(uid)


MAX_CAPACITY = 1000


def parse_capacity(text: str) -> dict[str, int]:
    """``webchat=5,email=25`` → {"webchat": 5, "email": 25}."""
    out: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        channel, _, n = part.partition("=")
        channel = channel.strip().lower()
        if channel not in CHANNELS:
            raise InvalidInput(f"capacity: unknown channel {channel!r}; known: "
                               f"{', '.join(CHANNELS)}")
        try:
            out[channel] = int(n)
        except ValueError as exc:
            raise InvalidInput(f"capacity: {part!r} is not channel=number") from exc
        if out[channel] < 0:
            raise InvalidInput(f"capacity: {part!r} must not be negative")
        if out[channel] > MAX_CAPACITY:  # the claim compares it in SQL as an integer
            raise InvalidInput(f"capacity: {part[:40]!r} is over {MAX_CAPACITY}")
    return out


def set_agent(conn: sa.Connection, *, email: str, config: RoutingConfig, by: str,
              teams: Sequence[str] | None = None, capacity: Mapping[str, int] | None = None,
              skills: Sequence[str] | None = None, languages: Sequence[str] | None = None,
              status: str | None = None, now: dt.datetime) -> dict[str, Any]:
    """Change an agent's routing profile (and skills/languages on the account); audited."""
    uid = _user_id(conn, email)
    values: dict[str, Any] = {}
    if teams is not None:
        names = sorted({x.strip() for x in teams if x.strip()})
        for name in names:
            if name not in config.names:
                raise InvalidInput(f"teams: no team named {name!r}; known: "
                                   f"{', '.join(config.names)}")
        values["teams"] = names
    if capacity is not None:
        values["capacity"] = dict(capacity)
    if status is not None:
        values.update(_status_values(status, now))
    account: dict[str, Any] = {}
    if skills is not None:
        account["skills"] = sorted({s.strip().lower() for s in skills if s.strip()})
    if languages is not None:
        account["languages"] = sorted({x.strip().lower() for x in languages if x.strip()}) or ["id"]
    if account:
        conn.execute(users.update().where(users.c.id == uid).values(**account))
    rq.upsert_profile(conn, uid, values, now)
    record(conn, ev.AgentProfileChanged(at=now, actor=by, user_id=uid,
                                        details={**values, **account}))
    return agent_view(conn, uid, config)


def _status_values(status: str, now: dt.datetime) -> dict[str, Any]:
    try:
        presence = Presence(status)
    except ValueError as exc:
        raise InvalidInput(f"status must be one of {', '.join(Presence)}") from exc
    return {"status": str(presence), "status_changed_at": now, "last_heartbeat_at": now}


def agent_view(conn: sa.Connection, user_id: int, config: RoutingConfig) -> dict[str, Any]:
    row = rq.agent(conn, user_id)
    if row is None:
        raise NotFound(f"no user {user_id}")
    agent = agent_of(row, config, rq.loads(conn, [user_id])[user_id])
    return {"user_id": user_id, "role": agent.role, "status": str(agent.status),
            "teams": sorted(agent.teams) or list(config.names), "skills": sorted(agent.skills),
            "languages": sorted(agent.languages), "capacity": dict(agent.capacity),
            "load": dict(agent.load),
            "last_heartbeat_at": row.last_heartbeat_at.isoformat()
            if row.last_heartbeat_at else None}


def agent_by_email(conn: sa.Connection, email: str, config: RoutingConfig) -> dict[str, Any]:
    return agent_view(conn, _user_id(conn, email), config)


def set_status(conn: sa.Connection, user_id: int, status: str, *, config: RoutingConfig,
               now: dt.datetime) -> dict[str, Any]:
    """The agent says they are online, away or offline (also a heartbeat); audited when it
    changes.  Coming online offers them the waiting tickets of auto-assigning teams."""
    values = _status_values(status, now)
    row = rq.agent(conn, user_id)
    if row is None:
        raise NotFound(f"no user {user_id}")
    previous = row.status or str(Presence.OFFLINE)
    if previous == values["status"] and row.status is not None:
        del values["status_changed_at"]
    rq.upsert_profile(conn, user_id, values, now)
    if previous != values["status"]:
        record(conn, ev.AgentStatusChanged(at=now, actor=f"user:{user_id}", user_id=user_id,
                                           status=values["status"],
                                           details={"previous": previous}))
        if values["status"] == Presence.ONLINE:
            assign_waiting(conn, config=config, now=now)
    return agent_view(conn, user_id, config)


def status_of(conn: sa.Connection, user_id: int) -> str:
    """The agent's presence as stored (``offline`` without a profile)."""
    value = conn.execute(sa.select(profiles.c.status).where(profiles.c.user_id == user_id)
                         ).scalar()
    return str(value or Presence.OFFLINE)


def heartbeat(conn: sa.Connection, user_id: int, *, now: dt.datetime) -> None:
    """Keeps the agent's current status alive (an offline agent stays offline)."""
    conn.execute(profiles.update().where(profiles.c.user_id == user_id)
                 .values(last_heartbeat_at=now))


# ---------------------------------------------------------------- the routing tick


def expire_heartbeats(conn: sa.Connection, config: RoutingConfig, now: dt.datetime) -> list[int]:
    rows = conn.execute(sa.select(profiles.c.user_id, profiles.c.status,
                                  profiles.c.last_heartbeat_at)
                        .where(profiles.c.status != str(Presence.OFFLINE))).all()
    gone = [int(r.user_id) for r in rows
            if heartbeat_expired(Presence(r.status), r.last_heartbeat_at, now,
                                 config.heartbeat_timeout_seconds)]
    events = []
    for uid in gone:
        res = conn.execute(profiles.update().where(profiles.c.user_id == uid,
                                                   profiles.c.status != str(Presence.OFFLINE))
                           .values(status=str(Presence.OFFLINE), status_changed_at=now,
                                   updated_at=now, claim_seq=profiles.c.claim_seq + 1))
        if res.rowcount:
            events.append(ev.AgentStatusChanged(
                at=now, user_id=uid, status=str(Presence.OFFLINE),
                details={"reason": f"no heartbeat for {config.heartbeat_timeout_seconds} s"}))
    record(conn, events)
    return gone


def return_from_offline(conn: sa.Connection, config: RoutingConfig,
                        now: dt.datetime) -> list[int]:
    """Tickets (new or open) of agents offline longer than their team allows go back."""
    offline = {int(r.user_id): r.status_changed_at for r in conn.execute(
        sa.select(profiles.c.user_id, profiles.c.status_changed_at)
        .where(profiles.c.status == str(Presence.OFFLINE)))}
    held = rq.held_by(conn, sorted(offline))
    due = [r for r in held if offline_too_long(
        Presence.OFFLINE, offline[int(r.assignee_id)], now,
        config.team(r.team).offline_return_minutes)]
    back = set(rq.unassign(conn, [(int(r.id), int(r.assignee_id)) for r in due], now))
    record(conn, (ev.TicketReturnedToQueue(
        at=now, ticket_id=int(r.id), customer_id=r.customer_id, previous=int(r.assignee_id),
        reason="assignee offline",
        details={"offline_since": offline[int(r.assignee_id)].isoformat(),
                 "after_minutes": config.team(r.team).offline_return_minutes})
        for r in due if int(r.id) in back))
    return sorted(back)


def triage_untagged(conn: sa.Connection, config: RoutingConfig, now: dt.datetime,
                    limit: int = 500) -> int:
    """Queued tickets without a team (opened before routing existed) get language and team."""
    rows = conn.execute(sa.select(t.c.id, t.c.topic, t.c.channel, t.c.language, t.c.subject)
                        .where(sa.text(QUEUE_WHERE), t.c.team.is_(None)).limit(limit)).all()
    if not rows:
        return 0
    first: dict[int, str] = {}
    for tid, body in conn.execute(sa.select(m.c.ticket_id, m.c.body)
                                  .where(m.c.ticket_id.in_([r.id for r in rows]),
                                         m.c.direction == "in").order_by(m.c.sent_at)):
        first.setdefault(int(tid), body)
    for r in rows:
        language = r.language or detect_language(first.get(int(r.id), r.subject or "")).code
        team = config.team_for(topic=r.topic, channel=r.channel, language=language)
        conn.execute(t.update().where(t.c.id == r.id).values(language=language, team=team))
    return len(rows)


def routing_tick(conn: sa.Connection, config: RoutingConfig, now: dt.datetime) -> dict[str, int]:
    """One pass in the caller's transaction; safe in several workers (conditional updates,
    SKIP LOCKED heads)."""
    expired = expire_heartbeats(conn, config, now)
    triaged = triage_untagged(conn, config, now)
    back = return_from_offline(conn, config, now)
    given = auto_assign(conn, back, config=config, now=now, reason="returned")
    given += assign_waiting(conn, config=config, now=now)
    return {"went_offline": len(expired), "triaged": triaged, "returned": len(back),
            "assigned": len(given)}


def escalate_breached(conn: sa.Connection, ticket_ids: Sequence[int], config: RoutingConfig,
                      now: dt.datetime) -> list[int]:
    """Breached tickets move to their team's supervisors' queue; one whose assignee is away
    (or offline) also goes back to the queue.  Returns the tickets that changed."""
    if not ticket_ids:
        return []
    assignee = profiles.alias("assignee")
    rows = conn.execute(sa.select(t.c.id, t.c.customer_id, t.c.team, t.c.assignee_id,
                                  t.c.status, assignee.c.status.label("assignee_status"))
                        .select_from(t.outerjoin(assignee, assignee.c.user_id == t.c.assignee_id))
                        .where(t.c.id.in_(list(ticket_ids)), t.c.merged_into_id.is_(None),
                               t.c.status.in_(("new", "open", "pending_customer")))).all()
    changed: list[int] = []
    events: list[ev.Event] = []
    for r in rows:
        values: dict[str, Any] = {}
        target = config.team(r.team).supervisors_queue
        if target is not None and target != r.team:
            values["team"] = target
            events.append(ev.TicketEscalated(at=now, ticket_id=r.id, customer_id=r.customer_id,
                                             previous=r.team, team=target,
                                             reason="sla breached"))
        if r.assignee_id is not None and (r.assignee_status or "offline") != Presence.ONLINE:
            values["assignee_id"] = None
            events.append(ev.TicketReturnedToQueue(
                at=now, ticket_id=r.id, customer_id=r.customer_id, previous=int(r.assignee_id),
                reason=f"sla breached while assignee {r.assignee_status or 'offline'}"))
        if values:
            conn.execute(t.update().where(t.c.id == r.id).values(**values, updated_at=now))
            changed.append(int(r.id))
    record(conn, events)
    return changed
