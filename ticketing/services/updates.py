"""Use case: an agent or supervisor changes a ticket's status, priority, topic or assignee.

Each change is checked (lifecycle transitions, known topics, who may assign whom) and audited
with the previous value, so a topic correction by an agent is visible in the trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa

from ticketing.domain.errors import Conflict, InvalidInput, PermissionDenied
from ticketing.domain.lifecycle import Priority, TicketStatus, check_transition
from ticketing.domain.routing import PRIORITY_RANK, RoutingConfig, rerouted
from ticketing.services.accounts import Principal, Role
from ticketing.domain import events as ev
from ticketing.store import tickets as q
from ticketing.store.audit import record
from ticketing.store.queries import users

t = q.tickets
FIELDS = ("status", "priority", "topic", "assignee")


def update_ticket(conn: sa.Connection, ticket_id: int, changes: dict[str, Any], *,
                  by: Principal, topics: Collection[str], now: dt.datetime,
                  routing: RoutingConfig | None = None) -> None:
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}")
    row = q.locked_ticket(conn, ticket_id)
    if row.merged_into_id is not None:
        raise Conflict(f"ticket {ticket_id} is merged into {row.merged_into_id}")
    values: dict[str, Any] = {}
    events: list[ev.Event] = []
    who = {"at": now, "actor": f"user:{by.user_id}", "ticket_id": ticket_id,
           "customer_id": row.customer_id}
    if "status" in changes and changes["status"] != row.status:
        new = check_transition(row.status, str(changes["status"]))
        values["status"] = str(new)
        if new == TicketStatus.RESOLVED:
            values["resolved_at"] = now
        elif new == TicketStatus.CLOSED:
            values["closed_at"] = now
        elif row.status == TicketStatus.RESOLVED:
            values["resolved_at"] = None
        events.append(ev.TicketStatusChanged(**who, previous=row.status, status=str(new)))
    if "priority" in changes and changes["priority"] != row.priority:
        try:
            prio = Priority(changes["priority"])
        except ValueError as exc:
            raise InvalidInput(f"priority must be one of {', '.join(Priority)}") from exc
        values["priority"] = str(prio)
        values["priority_rank"] = PRIORITY_RANK[str(prio)]  # the shared queue's order
        events.append(ev.TicketPriorityChanged(**who, previous=row.priority,
                                               priority=str(prio)))
    if "topic" in changes and changes["topic"] != row.topic:
        topic = str(changes["topic"])
        if topic not in topics:
            raise InvalidInput(f"unknown topic {topic!r}; known: {', '.join(topics)}")
        values["topic"] = topic
        events.append(ev.TicketTopicChanged(**who, previous=row.topic, topic=topic,
                                            details={"reason": "corrected by staff"}))
        team = rerouted(routing, team=row.team, topic=topic, channel=row.channel,
                        language=row.language)
        if team is not None:
            values["team"] = team
            events.append(ev.TicketTeamChanged(**who, previous=row.team, team=team,
                                               reason="topic corrected"))
    if "assignee" in changes:
        assignee = changes["assignee"]
        new_id = None
        if assignee is not None:
            new_id = conn.execute(sa.select(users.c.id).where(
                users.c.email == str(assignee).lower(), users.c.active.is_(True))).scalar()
            if new_id is None:
                raise InvalidInput(f"no active user {assignee}")
        if new_id != row.assignee_id:
            if by.role == Role.AGENT and new_id not in (None, by.user_id):
                raise PermissionDenied("agents may only take a ticket themselves or release it")
            if by.role == Role.AGENT and row.assignee_id not in (None, by.user_id):
                raise Conflict("the ticket is assigned to another agent")
            values["assignee_id"] = new_id
            events.append(ev.TicketAssigned(**who, previous=row.assignee_id, assignee=new_id))
    if not values:
        return
    values["updated_at"] = now
    values["sla_check_at"] = now  # the SLA timer re-reads the history (pauses, resolution)
    conn.execute(t.update().where(t.c.id == ticket_id).values(**values))
    record(conn, events)
