"""Use cases of the shared queue: claim next, release, auto-assignment, and routing a new (or
newly named) ticket to its team.  The ingest pipeline calls these with plain data
(``services.ingest.route``); nothing here knows the ingest batch.

Who is eligible and whom auto-assignment picks is decided by ``ticketing.domain.routing`` from
what is loaded here; the queries are ``ticketing.store.routing``.  Every assignment, release
and return to the queue is an audit event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ticketing.domain.errors import Conflict, NotFound, PermissionDenied
from ticketing.domain.language import detect_language
from ticketing.domain.redact import redact
from ticketing.domain.routing import (PRIORITY_RANK, Agent, AutoAssign, Presence, QueuedTicket,
                                      RoutingConfig, assign_batch, claim_filter, rerouted)
from ticketing.services.accounts import Principal, Role, sees_personal_data
from ticketing.services.clock import Clock
from ticketing.services.sla import SlaSetup, opening_clocks
from ticketing.store import routing as rq
from ticketing.domain import events as ev
from ticketing.store import tables
from ticketing.store.audit import record
from ticketing.store.locking import for_update, has_row_locks

t = tables.tickets


def agent_of(row: Any, config: RoutingConfig, load: Mapping[str, int] | None = None) -> Agent:
    """The domain's view of a user row joined with its profile (none: offline, defaults)."""
    capacity = row.capacity or config.default_capacity
    return Agent(user_id=int(row.id), role=str(row.role), teams=frozenset(row.teams or ()),
                 skills=frozenset(row.skills or ()), languages=frozenset(row.languages or ()),
                 capacity={str(k): int(v) for k, v in capacity.items()},
                 status=Presence(row.status or Presence.OFFLINE), load=dict(load or {}),
                 last_assigned_at=row.last_assigned_at)


# ---------------------------------------------------------------- claim next


@dataclass(frozen=True, slots=True, kw_only=True)
class _Claimer:
    """An agent as the claim needs them: presence, and the claim statement's parameters for
    their eligibility (None: nothing they could take)."""

    status: Presence
    params: Mapping[str, Any] | None


class AgentCache:
    """A process's memo of agents' eligibility for claims, keyed by user id, each entry valid
    for one ``claim_seq``: the claim statement itself checks that sequence, and every claim,
    assignment and profile change bumps it, so a stale entry costs a failed statement and a
    fresh read — never a wrong claim.  It saves the profile read before each claim."""

    def __init__(self, size: int = 50_000) -> None:
        self._entries: dict[int, tuple[_Claimer, int]] = {}
        self._size = size

    def get(self, user_id: int) -> tuple[_Claimer, int] | None:
        return self._entries.get(user_id)

    def put(self, user_id: int, claimer: _Claimer, seq: int) -> None:
        if len(self._entries) >= self._size:
            self._entries.clear()
        self._entries[user_id] = (claimer, seq)

    def drop(self, user_id: int) -> None:
        self._entries.pop(user_id, None)


def _claimer(row: Any, config: RoutingConfig) -> _Claimer:
    agent = agent_of(row, config)
    wanted = claim_filter(agent, config)
    params = None if wanted is None else rq.claim_params(
        agent.user_id, teams=wanted.teams, capacity=agent.capacity, languages=wanted.languages,
        topics=wanted.topics)
    return _Claimer(status=agent.status, params=params)


def claim_with(conn: sa.Connection, agent_id: int, *, config: RoutingConfig,
               clock: Clock, cache: AgentCache | None = None,
               attempts: int = 20) -> rq.Claim | None:
    """The most urgent ticket this agent is eligible for — by time to SLA breach, then
    priority, then age — assigned to them atomically; None when nothing is eligible.

    The caller gives the connection from ``store.locking.statement_transactions``: where
    several writers run (PostgreSQL) it is in autocommit mode and the claim is one statement,
    its own transaction; on SQLite it is one ``BEGIN IMMEDIATE`` transaction."""
    if not has_row_locks(conn):
        return _claim_sqlite(conn, agent_id, config=config, now=clock.now())
    for _ in range(attempts):
        entry = cache.get(agent_id) if cache is not None else None
        if entry is None:
            row = rq.agent(conn, agent_id)
            if row is None or not row.active:
                raise NotFound(f"no active user {agent_id}")
            if row.claim_seq is None:  # no profile yet: the claim sequence needs its row
                try:
                    rq.upsert_profile(conn, agent_id, {}, clock.now())
                except sa.exc.IntegrityError:
                    pass  # a concurrent first claim of the same agent created it
                continue
            entry = (_claimer(row, config), int(row.claim_seq))
        claimer, seq = entry
        if claimer.params is None:  # not kept: nothing would tell the cache when that changes
            if cache is not None:
                cache.drop(agent_id)
            return None
        now = clock.now()
        try:
            claimed = rq.claim_pg(conn, claimer.params, seq=seq, now=now)
        except rq.Contended:
            if cache is not None:
                cache.drop(agent_id)
            continue  # changed meanwhile (another claim, a profile change): read again
        if claimed is not None and claimer.status is not Presence.ONLINE:
            _sign_of_life(conn, agent_id, now)  # bumps the sequence once more
            if cache is not None:
                cache.drop(agent_id)
        elif cache is not None:
            cache.put(agent_id, claimer, seq + 1)
        return claimed
    raise Conflict(f"agent {agent_id} is claiming in too many places at once")


def _sign_of_life(conn: sa.Connection, agent_id: int, now: dt.datetime) -> None:
    """Taking work shows the agent is there: an offline agent's tickets would otherwise go
    back to the queue at the next routing tick."""
    rq.upsert_profile(conn, agent_id, {"status": str(Presence.ONLINE), "status_changed_at": now,
                                       "last_heartbeat_at": now}, now)
    record(conn, ev.AgentStatusChanged(at=now, actor=f"user:{agent_id}", user_id=agent_id,
                                       status=str(Presence.ONLINE),
                                       details={"reason": "claimed a ticket"}))


def _claim_sqlite(conn: sa.Connection, agent_id: int, *, config: RoutingConfig,
                  now: dt.datetime) -> rq.Claim | None:
    """BEGIN IMMEDIATE made this the only writer: read, count, pick, assign, audit."""
    row = rq.agent(conn, agent_id)
    if row is None or not row.active:
        raise NotFound(f"no active user {agent_id}")
    agent = agent_of(row, config, rq.loads(conn, [agent_id])[agent_id])
    wanted = claim_filter(agent, config)
    if wanted is None:
        return None
    tid = rq.pick_sqlite(conn, teams=wanted.teams, channels=wanted.channels,
                         languages=wanted.languages, topics=wanted.topics)
    claimed = rq.assign(conn, tid, agent_id, now) if tid is not None else None
    if claimed is None:
        return None
    record(conn, ev.TicketAssigned(at=now, actor=f"user:{agent_id}", ticket_id=claimed.id,
                                   customer_id=claimed.customer_id, previous=None,
                                   assignee=agent_id,
                                   details={"via": "claim", "team": claimed.team}))
    if agent.status is not Presence.ONLINE:
        _sign_of_life(conn, agent_id, now)
    return claimed


# ---------------------------------------------------------------- release


def release(conn: sa.Connection, ticket_id: int, *, by: Principal, config: RoutingConfig,
            now: dt.datetime) -> dict[str, Any]:
    """The assignee (or a supervisor) puts a ticket back in the shared queue; a team that
    auto-assigns then offers it to someone else at once."""
    row = conn.execute(for_update(
        conn, sa.select(t.c.id, t.c.assignee_id, t.c.customer_id, t.c.merged_into_id)
        .where(t.c.id == ticket_id), key_share=True)).first()
    if row is None:
        raise NotFound(f"no ticket {ticket_id}")
    if row.merged_into_id is not None:
        raise Conflict(f"ticket {ticket_id} is merged into {row.merged_into_id}")
    if row.assignee_id is None:
        raise Conflict(f"ticket {ticket_id} is not assigned")
    if row.assignee_id != by.user_id and by.role == Role.AGENT:
        raise PermissionDenied("agents may only release their own tickets")
    rq.unassign(conn, [(ticket_id, int(row.assignee_id))], now)
    record(conn, ev.TicketReleased(at=now, actor=f"user:{by.user_id}", ticket_id=ticket_id,
                                   customer_id=row.customer_id, previous=int(row.assignee_id)))
    given = auto_assign(conn, [ticket_id], config=config, now=now,
                        exclude={int(row.assignee_id)})
    return {"ticket_id": ticket_id, "released_from": int(row.assignee_id),
            "assignee_id": given[0][1] if given else None}


# ---------------------------------------------------------------- auto-assignment


def _queued(row: Any) -> QueuedTicket:
    return QueuedTicket(id=int(row.id), team=row.team, topic=row.topic, channel=str(row.channel),
                        language=row.language)


def _give(conn: sa.Connection, rows: Sequence[Any], config: RoutingConfig, now: dt.datetime,
          exclude: Collection[int], reason: str, online: Sequence[Any] | None = None
          ) -> list[tuple[int, int]]:
    """Auto-assign these queued tickets (most urgent first) among the online agents.

    The choice is made on plain reads; only the agents chosen are then locked (sorted) and
    their load read again, so a batch does not hold every online agent's claims while it
    commits, and an agent who filled up meanwhile is skipped (the ticket waits for the next
    tick or a claim)."""
    wanted = [r for r in rows if config.team(r.team).auto_assign is not AutoAssign.OFF]
    if not wanted:
        return []
    agents = [a for a in (rq.online_agents(conn) if online is None else online)
              if int(a.id) not in exclude]
    if not agents:
        return []
    ids = [int(a.id) for a in agents]
    load = rq.loads(conn, ids)
    pool = {int(a.id): agent_of(a, config, load[int(a.id)]) for a in agents}
    chosen = assign_batch([_queued(r) for r in wanted], pool.values(), config, now)
    if not chosen:
        return []
    picked = sorted({agent.user_id for _, agent in chosen})
    if has_row_locks(conn):
        rq.lock_agents(conn, picked)  # no claim for them can commit until we do
        fresh = rq.loads(conn, picked)
    else:
        fresh = {uid: load[uid] for uid in picked}  # the only writer: nothing changed
    customer = {int(r.id): r.customer_id for r in wanted}
    given: list[tuple[int, int]] = []
    last: dict[int, dt.datetime] = {}
    events = []
    for ticket, agent in chosen:
        used = fresh[agent.user_id].get(ticket.channel, 0)
        if used >= agent.capacity.get(ticket.channel, 0):
            continue
        if rq.assign(conn, ticket.id, agent.user_id, now) is None:
            continue
        fresh[agent.user_id][ticket.channel] = used + 1
        given.append((ticket.id, agent.user_id))
        last[agent.user_id] = agent.last_assigned_at or now
        events.append(ev.TicketAssigned(
            at=now, ticket_id=ticket.id, customer_id=customer[ticket.id], previous=None,
            assignee=agent.user_id,
            details={"via": "auto_assign", "mode": str(config.team(ticket.team).auto_assign),
                     "team": ticket.team, "reason": reason}))
    rq.touch_assigned(conn, last)
    record(conn, events)
    return given


def auto_assign(conn: sa.Connection, ticket_ids: Sequence[int], *, config: RoutingConfig,
                now: dt.datetime, exclude: Collection[int] = (),
                reason: str = "opened") -> list[tuple[int, int]]:
    """Offer these tickets, if waiting in a queue that auto-assigns, to an eligible online
    agent with spare capacity; returns (ticket, agent) pairs.  Others keep waiting."""
    if not ticket_ids or not config.auto_teams():
        return []
    online = rq.online_agents(conn)
    if not online:
        return []  # nobody to give to: the tickets wait in the queue (no need to read them)
    return _give(conn, rq.queued(conn, ticket_ids), config, now, exclude, reason, online)


def assign_waiting(conn: sa.Connection, *, config: RoutingConfig, now: dt.datetime,
                   per_team: int = 200) -> list[tuple[int, int]]:
    """The routing tick's pass over the queues that auto-assign: their most urgent waiting
    tickets, for agents who came online or freed capacity since."""
    given: list[tuple[int, int]] = []
    if not config.auto_teams() or not rq.online_agents(conn):
        return given  # nobody to give to: leave the queue's heads unlocked for claims
    for team in config.auto_teams():
        rows = rq.queue_heads(conn, team.name, per_team)
        if rows:
            given += _give(conn, rows, config, now, (), "waiting")
    return given


# ---------------------------------------------------------------- new and renamed tickets


def route_new_ticket(config: RoutingConfig, sla: SlaSetup | None, *, topic: str | None,
                     channel: str,
                     first_text: str, first_message_at: dt.datetime, now: dt.datetime,
                     clocks: dict[str, Any] | None
                     ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A new ticket's language (from the citizen's first message), team and the queue's
    ordering columns; and its SLA clocks again when the team names another SLA policy."""
    guess = detect_language(first_text)
    team = config.team_for(topic=topic, channel=channel, language=guess.code)
    routing = {"language": guess.code, "team": team, "priority_rank": PRIORITY_RANK["normal"]}
    if sla is not None and clocks is not None:
        policy, _ = sla.policy_for(channel=channel, topic=topic, priority="normal", team=team)
        if policy.name != clocks.get("sla_policy"):
            clocks = opening_clocks(sla, channel=channel, topic=topic, priority="normal",
                                    team=team, first_message_at=first_message_at, now=now)
    return routing, clocks


def reroute_named_topics(conn: sa.Connection, topics: Mapping[int, str], *,
                         config: RoutingConfig, now: dt.datetime) -> list[int]:
    """Tickets whose topic was just named (a vague ticket's follow-up) join that topic's team;
    returns the tickets that moved (each move audited)."""
    if not topics:
        return []
    rows = conn.execute(sa.select(t.c.id, t.c.team, t.c.channel, t.c.language,
                                  t.c.customer_id).where(t.c.id.in_(sorted(topics))))
    moved: list[int] = []
    events: list[ev.Event] = []
    for r in rows:
        team = rerouted(config, team=r.team, topic=topics[int(r.id)], channel=r.channel,
                        language=r.language)
        if team is not None:
            conn.execute(t.update().where(t.c.id == r.id).values(team=team))
            events.append(ev.TicketTeamChanged(at=now, ticket_id=int(r.id),
                                               customer_id=r.customer_id, previous=r.team,
                                               team=team, reason="topic named"))
            moved.append(int(r.id))
    record(conn, events)
    return moved


def waiting_for(conn: sa.Connection, agent_id: int, *, config: RoutingConfig,
                limit: int = 50) -> dict[str, Any]:
    """What this agent could claim, most urgent first (capacity aside: shown even when full).
    Subjects are masked for roles that may not see personal data, as in ``views``."""
    row = rq.agent(conn, agent_id)
    if row is None:
        raise NotFound(f"no user {agent_id}")
    agent = agent_of(row, config, rq.loads(conn, [agent_id])[agent_id])
    wanted = claim_filter(agent_of(row, config), config)
    private = not sees_personal_data(str(row.role))
    items: list[dict[str, Any]] = []
    if wanted is not None:
        for r in rq.waiting(conn, teams=wanted.teams, channels=wanted.channels,
                            languages=wanted.languages, topics=wanted.topics, limit=limit):
            item = r._asdict()
            if private and item.get("subject"):
                item["subject"] = redact(item["subject"])
            items.append({k: v.isoformat() if isinstance(v, dt.datetime) else v
                          for k, v in item.items()})
    return {"items": items, "load": dict(agent.load), "capacity": dict(agent.capacity),
            "can_claim": claim_filter(agent, config) is not None}
