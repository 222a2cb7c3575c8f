"""Routing rules, pure: which team (queue) a ticket belongs to, which agents may work it, and
whom auto-assignment picks.

The configuration (``config/routing.toml``) is checked once, here, with errors naming the key.
A ticket belongs to the first team whose topics, channels and languages all admit it (an empty
list admits everything), else to the default team.  An agent is eligible for a ticket when the
ticket's team is one of theirs, its topic one of their skills, its language one they read, and
they have spare capacity on its channel; auto-assignment further needs them online.  Nothing here
reads the clock or the database: callers pass what they loaded and the time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ticketing.domain.language import ROUTED
from ticketing.domain.lifecycle import Priority
from ticketing.domain.message import Channel

# The queue's sort key: urgent 0 … low 3 (lifecycle.Priority lists them ascending).
PRIORITY_RANK = {str(p): rank for rank, p in enumerate(reversed(Priority))}
CHANNELS = tuple(str(c) for c in Channel)
DEFAULT_LANGUAGE = "id"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class AutoAssign(StrEnum):
    OFF = "off"
    LEAST_LOADED = "least_loaded"
    ROUND_ROBIN = "round_robin"


class Presence(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True, kw_only=True)
class Team:
    name: str
    topics: frozenset[str] = frozenset()  # empty: every topic
    channels: frozenset[str] = frozenset()  # empty: every channel
    languages: frozenset[str] = frozenset()  # empty: every language
    roles: frozenset[str] = frozenset()  # who may work it; empty: every role
    auto_assign: AutoAssign = AutoAssign.OFF
    offline_return_minutes: int = 15
    supervisors_queue: str | None = None  # where its tickets escalate on an SLA breach

    def admits(self, *, topic: str | None, channel: str, language: str | None) -> bool:
        return ((not self.topics or (topic or "") in self.topics)
                and (not self.channels or channel in self.channels)
                and (not self.languages or (language or DEFAULT_LANGUAGE) in self.languages))


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutingConfig:
    teams: tuple[Team, ...]
    default_team: str
    heartbeat_timeout_seconds: int = 120
    tick_seconds: float = 5.0
    default_capacity: Mapping[str, int] = field(default_factory=dict)
    by_name: Mapping[str, Team] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {t.name: t for t in self.teams})

    def team(self, name: str | None) -> Team:
        """The named team; an unknown or missing name (a team removed from the file, a ticket
        from before routing) is the default team's."""
        return self.by_name.get(name or "", self.by_name[self.default_team])

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.teams)

    def team_for(self, *, topic: str | None, channel: str, language: str | None) -> str:
        for team in self.teams:
            if team.topics or team.channels or team.languages:
                if team.admits(topic=topic, channel=channel, language=language):
                    return team.name
        return self.default_team

    def auto_teams(self) -> tuple[Team, ...]:
        return tuple(t for t in self.teams if t.auto_assign is not AutoAssign.OFF)


def _strings(value: Any, key: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{key}: must be a list of non-empty strings")
    return frozenset(v.strip().lower() for v in value)


def _capacity(value: Any, key: str) -> dict[str, int]:
    if not isinstance(value, dict):
        raise ValueError(f"{key}: must be a table of channel = number")
    out: dict[str, int] = {}
    for channel, n in value.items():
        if channel not in CHANNELS:
            raise ValueError(f"{key}.{channel}: unknown channel; known: {', '.join(CHANNELS)}")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"{key}.{channel}: must be a whole number >= 0")
        out[channel] = n
    return out


_TEAM_KEYS = {"name", "topics", "channels", "languages", "roles", "auto_assign",
              "offline_return_minutes", "supervisors_queue"}


def routing_config_from(doc: Mapping[str, Any], *, topics: Collection[str] | None = None,
                        roles: Collection[str] = ("agent", "supervisor", "admin")
                        ) -> RoutingConfig:
    """Check a parsed ``routing.toml``; every error names the offending key."""
    unknown = set(doc) - {"routing", "defaults", "teams"}
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]}: unknown section")
    general = doc.get("routing", {})
    if not isinstance(general, dict):
        raise ValueError("routing: must be a table")
    for key in set(general) - {"default_team", "heartbeat_timeout_seconds", "tick_seconds"}:
        raise ValueError(f"routing.{key}: unknown key")
    defaults = doc.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ValueError("defaults: must be a table")
    for key in set(defaults) - {"capacity"}:
        raise ValueError(f"defaults.{key}: unknown key")
    capacity = _capacity(defaults.get("capacity", {}), "defaults.capacity")
    raw_teams = doc.get("teams")
    if not isinstance(raw_teams, list) or not raw_teams:
        raise ValueError("teams: at least one [[teams]] entry is required")
    teams: list[Team] = []
    seen_topics: dict[str, str] = {}
    for i, raw in enumerate(raw_teams):
        key = f"teams[{i}]"
        if not isinstance(raw, dict):
            raise ValueError(f"{key}: must be a table")
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 60:
            raise ValueError(f"{key}.name: a name of 1 to 60 characters is required")
        key = f"teams[{i}] ({name})"
        for extra in sorted(set(raw) - _TEAM_KEYS):
            raise ValueError(f"{key}.{extra}: unknown key")
        if any(t.name == name for t in teams):
            raise ValueError(f"{key}.name: another team has this name")
        team_topics = _strings(raw.get("topics", []), f"{key}.topics")
        if topics is not None:
            for topic in sorted(team_topics - set(topics)):
                raise ValueError(f"{key}.topics: unknown topic {topic!r} "
                                 f"(not in topics.toml)")
        for topic in team_topics:
            if topic in seen_topics:
                raise ValueError(f"{key}.topics: {topic!r} is already routed to team "
                                 f"{seen_topics[topic]!r}")
            seen_topics[topic] = name
        channels = _strings(raw.get("channels", []), f"{key}.channels")
        for channel in sorted(channels - set(CHANNELS)):
            raise ValueError(f"{key}.channels: unknown channel {channel!r}")
        languages = _strings(raw.get("languages", []), f"{key}.languages")
        for language in sorted(languages - set(ROUTED)):
            raise ValueError(f"{key}.languages: {language!r} is not routed; use "
                             f"{' or '.join(ROUTED)}")
        team_roles = _strings(raw.get("roles", []), f"{key}.roles")
        for role in sorted(team_roles - set(roles)):
            raise ValueError(f"{key}.roles: unknown role {role!r}")
        try:
            mode = AutoAssign(raw.get("auto_assign", "off"))
        except ValueError:
            raise ValueError(f"{key}.auto_assign: must be one of "
                             f"{', '.join(AutoAssign)}") from None
        minutes = raw.get("offline_return_minutes", 15)
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
            raise ValueError(f"{key}.offline_return_minutes: must be a whole number >= 0")
        escalate = raw.get("supervisors_queue")
        if escalate is not None and not isinstance(escalate, str):
            raise ValueError(f"{key}.supervisors_queue: must be a team name")
        teams.append(Team(name=name, topics=team_topics, channels=channels, languages=languages,
                          roles=team_roles, auto_assign=mode, offline_return_minutes=minutes,
                          supervisors_queue=escalate))
    names = {t.name for t in teams}
    for i, team in enumerate(teams):
        if team.supervisors_queue is not None and team.supervisors_queue not in names:
            raise ValueError(f"teams[{i}] ({team.name}).supervisors_queue: no team named "
                             f"{team.supervisors_queue!r}")
    default_team = general.get("default_team", teams[-1].name)
    if default_team not in names:
        raise ValueError(f"routing.default_team: no team named {default_team!r}")
    timeout = general.get("heartbeat_timeout_seconds", 120)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
        raise ValueError("routing.heartbeat_timeout_seconds: must be a whole number > 0")
    tick = general.get("tick_seconds", 5)
    if isinstance(tick, bool) or not isinstance(tick, (int, float)) or tick <= 0:
        raise ValueError("routing.tick_seconds: must be a number > 0")
    return RoutingConfig(teams=tuple(teams), default_team=default_team,
                         heartbeat_timeout_seconds=timeout, tick_seconds=float(tick),
                         default_capacity=capacity)


# ---------------------------------------------------------------- agents and tickets


@dataclass(frozen=True, slots=True, kw_only=True)
class Agent:
    """What routing knows of an agent at one instant."""

    user_id: int
    role: str
    teams: frozenset[str]  # empty: every team their role may work
    skills: frozenset[str]  # empty: every topic
    languages: frozenset[str]
    capacity: Mapping[str, int]  # channel → most unfinished tickets at once
    status: Presence
    load: Mapping[str, int] = field(default_factory=dict)  # channel → unfinished tickets
    last_assigned_at: dt.datetime | None = None

    def spare(self, channel: str) -> int:
        return self.capacity.get(channel, 0) - self.load.get(channel, 0)

    def with_one_more(self, channel: str, at: dt.datetime) -> Agent:
        load = dict(self.load)
        load[channel] = load.get(channel, 0) + 1
        return Agent(user_id=self.user_id, role=self.role, teams=self.teams, skills=self.skills,
                     languages=self.languages, capacity=self.capacity, status=self.status,
                     load=load, last_assigned_at=at)


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedTicket:
    id: int
    team: str | None
    topic: str | None
    channel: str
    language: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimFilter:
    """The tickets an agent may take now, as the claim query's WHERE: one index walk per team."""

    teams: tuple[str, ...]
    topics: frozenset[str] | None  # None: any topic
    languages: frozenset[str]
    channels: tuple[str, ...]  # with spare capacity


def agent_teams(agent: Agent, config: RoutingConfig) -> tuple[str, ...]:
    allowed = [t.name for t in config.teams if not t.roles or agent.role in t.roles]
    return tuple(n for n in allowed if not agent.teams or n in agent.teams)


def claim_filter(agent: Agent, config: RoutingConfig) -> ClaimFilter | None:
    """None when the agent can take nothing (no team, language or spare capacity)."""
    teams = agent_teams(agent, config)
    channels = tuple(sorted(c for c in agent.capacity if agent.spare(c) > 0))
    languages = agent.languages or frozenset({DEFAULT_LANGUAGE})
    if not teams or not channels:
        return None
    return ClaimFilter(teams=teams, topics=agent.skills or None, languages=languages,
                       channels=channels)


def eligible(agent: Agent, ticket: QueuedTicket, config: RoutingConfig) -> bool:
    """May this agent take this ticket now (presence aside)?"""
    team = config.team(ticket.team).name
    return (team in agent_teams(agent, config)
            and (not agent.skills or (ticket.topic or "") in agent.skills)
            and (ticket.language or DEFAULT_LANGUAGE) in (agent.languages or {DEFAULT_LANGUAGE})
            and agent.spare(ticket.channel) > 0)


def choose_agent(ticket: QueuedTicket, agents: Iterable[Agent], mode: AutoAssign,
                 config: RoutingConfig) -> Agent | None:
    """Auto-assignment among online, eligible agents.  Least loaded: the smallest share of
    capacity used on the ticket's channel, then the fewest tickets overall; round robin: the
    agent given a ticket longest ago.  Equals are always ordered by who waited longest, then by
    id, so the choice is deterministic and fair."""
    if mode is AutoAssign.OFF:
        return None
    pool = [a for a in agents if a.status is Presence.ONLINE and eligible(a, ticket, config)]
    if not pool:
        return None

    def waited(a: Agent) -> tuple[dt.datetime, int]:
        return (a.last_assigned_at or _EPOCH, a.user_id)

    if mode is AutoAssign.ROUND_ROBIN:
        return min(pool, key=waited)
    return min(pool, key=lambda a: (a.load.get(ticket.channel, 0) / a.capacity[ticket.channel],
                                    sum(a.load.values()), *waited(a)))


def assign_batch(tickets: Sequence[QueuedTicket], agents: Iterable[Agent],
                 config: RoutingConfig, at: dt.datetime) -> list[tuple[QueuedTicket, Agent]]:
    """Auto-assign tickets (given most urgent first) one after another, each choice seeing
    the load the previous ones added.  Returns each ticket with its agent as updated by that
    assignment; assignment instants strictly increase (a microsecond apart if the clock did
    not move), so round robin keeps its turn across batches and within one."""
    pool = {a.user_id: a for a in agents}
    latest = max((a.last_assigned_at for a in pool.values() if a.last_assigned_at), default=None)
    out: list[tuple[QueuedTicket, Agent]] = []
    for ticket in tickets:
        mode = config.team(ticket.team).auto_assign
        chosen = choose_agent(ticket, pool.values(), mode, config)
        if chosen is None:
            continue
        stamp = at if latest is None or latest < at else latest + dt.timedelta(microseconds=1)
        latest = stamp
        pool[chosen.user_id] = chosen.with_one_more(ticket.channel, stamp)
        out.append((ticket, pool[chosen.user_id]))
    return out


def queue_due(*pending: dt.datetime | None) -> dt.datetime | None:
    """The time to breach the queue orders by: the earliest due time among the clocks still
    to be met (a breached one not yet answered stays: it is the most urgent of all)."""
    return min((t for t in pending if t is not None), default=None)


def rerouted(config: RoutingConfig | None, *, team: str | None, topic: str | None,
             channel: str, language: str | None) -> str | None:
    """The team a ticket moves to when its topic changes; None when it stays (same team, or
    escalated to a supervisors' queue, which only a supervisor moves it out of)."""
    if config is None or team in {t.supervisors_queue for t in config.teams}:
        return None
    new = config.team_for(topic=topic, channel=channel, language=language)
    return new if new != team else None


def offline_too_long(status: Presence, since: dt.datetime, now: dt.datetime,
                     minutes: int) -> bool:
    return status is Presence.OFFLINE and now - since >= dt.timedelta(minutes=minutes)


def heartbeat_expired(status: Presence, last_heartbeat_at: dt.datetime | None,
                      now: dt.datetime, timeout_seconds: int) -> bool:
    return (status is not Presence.OFFLINE and
            (last_heartbeat_at is None
             or now - last_heartbeat_at > dt.timedelta(seconds=timeout_seconds)))
