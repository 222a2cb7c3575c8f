"""SLA policies and the SLA clock, rebuilt from a ticket's event history.

Owns which policy applies to a ticket (``choose_policy``: ordered rules, first match wins, an
explicit default), the event vocabulary the clock understands (``TicketEvent``) and ``evaluate``,
which replays the history up to ``now`` and gives, for first response, next response and
resolution, the due and warning instants, the consumed business time and the state.

Rules of the clock (all business time on the policy's calendar):
* every target starts at the first contact: the earliest citizen message or, for a ticket other
  tickets were merged into, the earliest first contact among them;
* first response stops at the first ``agent_response`` (a human reply, or a call in which an
  agent spoke); next response starts at a citizen message that follows an agent response and
  stops at the next agent response; resolution stops at ``resolved`` and resumes on ``reopened``
  (or on a citizen message to a resolved ticket);
* time in ``pending_customer`` does not count; a citizen message or leaving that status resumes;
  a resolved ticket's response clocks are paused too;
* while running, the due time is the remaining target added from the resume point, so a pause
  never makes a due time earlier; a target is breached when it is fulfilled (or still open) after
  its due instant, met otherwise; ``warn_at`` is where ``warning_share`` of the target is used.

Pure: no clock, env, files or database; ``now`` is an argument.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from ticketing.domain.calendar import BusinessCalendar, add_business_time, business_time_between
from ticketing.domain.escalation import EscalationStep, steps_from

CONDITION_KEYS: Final = ("channel", "topic", "priority", "team")


def _fail(where: str, message: str) -> ValueError:
    return ValueError(f"invalid SLA config: {where}: {message}")


def _aware(at: datetime, what: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} {at.isoformat()} is naive; SLA times must be timezone-aware")
    return at


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaPolicy:
    name: str
    version: int
    first_response_minutes: int
    next_response_minutes: int | None
    resolution_minutes: int
    warning_share: float = 0.8
    calendar_name: str
    escalation: tuple[EscalationStep, ...] = ()

    def __post_init__(self) -> None:
        for label, value in (("first_response", self.first_response_minutes),
                             ("next_response", self.next_response_minutes),
                             ("resolution", self.resolution_minutes), ("version", self.version)):
            if value is None and label == "next_response":
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"policy {self.name!r}: {label} must be a positive integer")
        if not 0 < self.warning_share < 1:
            raise ValueError(f"policy {self.name!r}: warning_share must be between 0 and 1")

    def terms(self) -> dict[str, Any]:
        """What the policy promised, as stored on a ticket measured under it (JSON), so a later
        edit of the policy cannot change how that ticket is measured (``policy_from_terms``)."""
        return {"version": self.version, "calendar": self.calendar_name,
                "first_response": self.first_response_minutes,
                "next_response": self.next_response_minutes,
                "resolution": self.resolution_minutes, "warning_share": self.warning_share,
                "escalation": [s.encode() for s in self.escalation]}


def policy_from_terms(name: str, terms: Mapping[str, Any]) -> SlaPolicy:
    """The policy a ticket recorded (``SlaPolicy.terms``), whatever the config says today."""
    return SlaPolicy(name=name, version=int(terms["version"]),
                     calendar_name=str(terms["calendar"]),
                     first_response_minutes=int(terms["first_response"]),
                     next_response_minutes=(None if terms.get("next_response") is None
                                            else int(terms["next_response"])),
                     resolution_minutes=int(terms["resolution"]),
                     warning_share=float(terms.get("warning_share", 0.8)),
                     escalation=tuple(EscalationStep.decode(str(x))
                                      for x in terms.get("escalation") or ()))


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyRule:
    """A condition per key is a set of accepted values (OR); keys combine with AND.  A key left
    ``None`` accepts anything.  The default rule has no conditions and ``default=True``."""

    policy: SlaPolicy
    channel: frozenset[str] | None = None
    topic: frozenset[str] | None = None
    priority: frozenset[str] | None = None
    team: frozenset[str] | None = None
    default: bool = False

    def __post_init__(self) -> None:
        conditions = [getattr(self, k) for k in CONDITION_KEYS]
        if self.default and any(c is not None for c in conditions):
            raise ValueError("the default rule takes no conditions")
        if not self.default and all(c is None for c in conditions):
            raise ValueError(f"a rule for {self.policy.name!r} without conditions would hide the "
                             "default; mark it default = true")
        for key in CONDITION_KEYS:
            value = getattr(self, key)
            if value is not None:
                object.__setattr__(self, key, frozenset(v.casefold() for v in value))

    def matches(self, *, channel: str | None, topic: str | None, priority: str | None,
                team: str | None) -> bool:
        if self.default:
            return True
        for accepted, value in ((self.channel, channel), (self.topic, topic),
                                (self.priority, priority), (self.team, team)):
            if accepted is not None and (value is None or value.casefold() not in accepted):
                return False
        return True


def check_rules(rules: Sequence[PolicyRule]) -> None:
    """Exactly one default rule, and it comes last (a rule after it could never match)."""
    defaults = [i for i, r in enumerate(rules) if r.default]
    if len(defaults) != 1:
        raise ValueError(f"SLA rules need exactly one default rule, found {len(defaults)}")
    if defaults[0] != len(rules) - 1:
        raise ValueError("the default SLA rule must be the last one")


def choose_policy(policies: Sequence[PolicyRule], *, channel: str | None, topic: str | None,
                  priority: str | None, team: str | None) -> SlaPolicy:
    """The policy of the first matching rule, in list order (file order, not by name)."""
    for rule in policies:
        if rule.matches(channel=channel, topic=topic, priority=priority, team=team):
            return rule.policy
    raise ValueError("no SLA rule matched and there is no default rule")


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaConfig:
    policies: Mapping[str, SlaPolicy]
    rules: tuple[PolicyRule, ...]

    def choose(self, *, channel: str | None, topic: str | None, priority: str | None,
               team: str | None) -> SlaPolicy:
        return choose_policy(self.rules, channel=channel, topic=topic, priority=priority, team=team)


def _minutes(table: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> Any:
    value = table.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise _fail(where, f"{key} must be a positive number of business minutes")
    return value


def sla_config_from(doc: Mapping[str, Any], calendar_names: Sequence[str]) -> SlaConfig:
    """The ``[policies.*]`` and ``[[rules]]`` sections of a parsed config/sla.toml."""
    tables = doc.get("policies")
    if not isinstance(tables, Mapping) or not tables:
        raise _fail("policies", "at least one [policies.<name>] table is needed")
    policies: dict[str, SlaPolicy] = {}
    allowed = {"version", "calendar", "first_response", "next_response", "resolution",
               "warning_share", "description", "escalation"}
    section = doc.get("escalation", {})
    if not isinstance(section, Mapping) or set(section) - {"steps"}:
        raise _fail("escalation", "must be a table with steps = [...] (the default steps)")
    default_steps = steps_from(section.get("steps", []), "escalation.steps")
    for name, table in tables.items():
        where = f"policies.{name}"
        if not isinstance(table, Mapping):
            raise _fail(where, "must be a table")
        if set(table) - allowed:
            raise _fail(where, f"unknown key(s) {sorted(set(table) - allowed)}")
        calendar = table.get("calendar")
        if calendar not in calendar_names:
            raise _fail(where, f"calendar {calendar!r} is not one of {sorted(calendar_names)}")
        share = table.get("warning_share", 0.8)
        if not isinstance(share, (int, float)) or isinstance(share, bool):
            raise _fail(where, "warning_share must be a number")
        steps = (steps_from(table["escalation"], f"{where}.escalation")
                 if "escalation" in table else default_steps)
        try:
            policies[name] = SlaPolicy(
                name=name, version=table.get("version", 1), calendar_name=str(calendar),
                first_response_minutes=_minutes(table, "first_response", where),
                next_response_minutes=_minutes(table, "next_response", where, optional=True),
                resolution_minutes=_minutes(table, "resolution", where),
                warning_share=float(share), escalation=steps)
        except ValueError as exc:
            raise _fail(where, str(exc)) from exc
    entries = doc.get("rules")
    if not isinstance(entries, Sequence) or isinstance(entries, str) or not entries:
        raise _fail("rules", "an ordered [[rules]] list ending with a default rule is needed")
    rules = []
    for i, entry in enumerate(entries):
        where = f"rules[{i}]"
        if not isinstance(entry, Mapping) or set(entry) - {"when", "policy", "default"}:
            raise _fail(where, "a rule has policy = \"...\" and either when = {...} or "
                               "default = true")
        if entry.get("policy") not in policies:
            raise _fail(where, f"unknown policy {entry.get('policy')!r}")
        when = entry.get("when", {})
        if not isinstance(when, Mapping) or set(when) - set(CONDITION_KEYS):
            raise _fail(where, f"when may only test {CONDITION_KEYS}")
        conditions: dict[str, frozenset[str]] = {}
        for key, values in when.items():
            values = [values] if isinstance(values, str) else values
            if (not isinstance(values, Sequence) or not values
                    or not all(isinstance(v, str) and v for v in values)):
                raise _fail(where, f"when.{key} must be a string or a list of strings")
            conditions[key] = frozenset(values)
        default = entry.get("default", False)
        if not isinstance(default, bool):
            raise _fail(where, "default must be true or false")
        try:
            rules.append(PolicyRule(policy=policies[entry["policy"]], default=default,
                                    **conditions))
        except ValueError as exc:
            raise _fail(where, str(exc)) from exc
    try:
        check_rules(rules)
    except ValueError as exc:
        raise _fail("rules", str(exc)) from exc
    return SlaConfig(policies=policies, rules=tuple(rules))


# -- events and the clock --------------------------------------------------------------------------

class EventKind(StrEnum):
    CUSTOMER_MESSAGE = "customer_message"
    AGENT_RESPONSE = "agent_response"  # a human reply, or a phone call in which an agent spoke
    STATUS_CHANGE = "status_change"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    MERGED = "merged"  # other tickets were merged into this one


PENDING_CUSTOMER: Final = "pending_customer"


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketEvent:
    at: datetime
    kind: EventKind
    to: str | None = None  # STATUS_CHANGE: the new status
    first_contact_at: datetime | None = None  # MERGED: earliest first contact of the merged tickets

    def __post_init__(self) -> None:
        _aware(self.at, "event time")
        object.__setattr__(self, "kind", EventKind(self.kind))
        if self.kind is EventKind.STATUS_CHANGE and not self.to:
            raise ValueError("a status_change event needs to=<status>")
        if self.kind is EventKind.MERGED:
            if self.first_contact_at is None:
                raise ValueError("a merged event needs first_contact_at")
            _aware(self.first_contact_at, "first_contact_at")


class Target(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaClock:
    target: Target
    target_minutes: int
    state: ClockState
    started_at: datetime
    due_at: datetime | None  # None while paused; the breach instant once breached
    warn_at: datetime | None
    consumed_minutes: int  # business minutes used, up to completion or ``now``
    met_at: datetime | None = None
    breached_at: datetime | None = None
    completed_at: datetime | None = None  # the response / resolution, in time or late


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaClocks:
    policy_name: str
    policy_version: int
    calendar_name: str
    calendar_version: int
    evaluated_at: datetime
    first_contact_at: datetime
    first_response: SlaClock
    next_response: SlaClock | None  # the latest cycle; None if not configured or none started
    next_response_breaches: int  # cycles breached so far, the latest included
    resolution: SlaClock

    @property
    def clocks(self) -> tuple[SlaClock, ...]:
        return tuple(c for c in (self.first_response, self.next_response, self.resolution)
                     if c is not None)

    @property
    def next_wakeup(self) -> datetime | None:
        """The next warning or due instant after ``evaluated_at`` among running clocks."""
        times = [t for c in self.clocks if c.state is ClockState.RUNNING
                 for t in (c.warn_at, c.due_at) if t is not None and t > self.evaluated_at]
        return min(times, default=None)


class _Timer:
    """Mutable replay state of one target (internal to ``evaluate``)."""

    def __init__(self, target: Target, minutes: int, share: float, calendar: BusinessCalendar,
                 started_at: datetime) -> None:
        self.target, self.minutes, self.cal, self.started_at = target, minutes, calendar, started_at
        self.amount = timedelta(minutes=minutes)
        self.warn_amount = timedelta(microseconds=round(self.amount / timedelta(microseconds=1)
                                                        * share))
        self.consumed = timedelta(0)
        self.since: datetime | None = None  # start of the running segment
        self.last_due: datetime | None = None
        self.last_warn: datetime | None = None
        self.warned_at: datetime | None = None
        self.breached_at: datetime | None = None
        self.completed_at: datetime | None = None

    def _projection(self, since: datetime) -> tuple[datetime, datetime | None]:
        due = self.breached_at or add_business_time(self.cal, since, self.amount - self.consumed)
        warn = self.warned_at
        if warn is None and self.consumed < self.warn_amount:
            warn = add_business_time(self.cal, since, self.warn_amount - self.consumed)
        return due, warn

    def run(self, at: datetime) -> None:
        if self.since is None and self.completed_at is None:
            self.since = at

    def pause(self, at: datetime) -> None:
        if self.since is None:
            return
        due, warn = self._projection(self.since)
        if self.warned_at is None and warn is not None and warn <= at:
            self.warned_at = warn
        if self.breached_at is None and at > due:
            self.breached_at = due
        self.consumed += business_time_between(self.cal, self.since, at)
        self.last_due, self.last_warn, self.since = due, warn, None

    def complete(self, at: datetime) -> None:
        if self.completed_at is None:
            self.pause(at)
            self.completed_at = at

    def reopen(self) -> None:
        self.completed_at = None

    def snapshot(self, now: datetime) -> SlaClock:
        consumed, due, warn = self.consumed, None, None
        breached_at = self.breached_at
        if self.since is not None:
            due, warn = self._projection(self.since)
            consumed += business_time_between(self.cal, self.since, now)
            if breached_at is None and now > due:
                breached_at = due
        elif self.completed_at is not None:
            due, warn = self.last_due, self.last_warn
        if breached_at is not None:
            state, due = ClockState.BREACHED, breached_at
            warn = self.warned_at or warn
        elif self.completed_at is not None:
            state = ClockState.MET
        elif self.since is not None:
            state = ClockState.RUNNING
        else:
            state = ClockState.PAUSED
        return SlaClock(target=self.target, target_minutes=self.minutes, state=state,
                        started_at=self.started_at.astimezone(UTC),
                        due_at=_utc(due), warn_at=_utc(warn),
                        consumed_minutes=consumed // timedelta(minutes=1),
                        met_at=_utc(self.completed_at) if state is ClockState.MET else None,
                        breached_at=_utc(breached_at), completed_at=_utc(self.completed_at))


def _utc(at: datetime | None) -> datetime | None:
    return None if at is None else at.astimezone(UTC)


def evaluate(policy: SlaPolicy, calendar: BusinessCalendar, events: Sequence[TicketEvent],
             now: datetime, *, first_contact_at: datetime | None = None) -> SlaClocks:
    """Replay ``events`` (those after ``now`` are ignored) and give each target's clock at ``now``.

    ``first_contact_at`` (or ``merged`` events carrying it) moves the start earlier, to the
    earliest first contact of merged tickets.  Without any citizen contact there is nothing to
    measure: ``ValueError``.
    """
    _aware(now, "now")
    if calendar.name != policy.calendar_name:
        raise ValueError(f"policy {policy.name!r} is measured on calendar "
                         f"{policy.calendar_name!r}, not {calendar.name!r}")
    history = sorted((e for e in events if e.at <= now), key=lambda e: e.at)  # stable on ties
    starts = [e.at for e in history if e.kind is EventKind.CUSTOMER_MESSAGE]
    starts += [e.first_contact_at for e in history
               if e.kind is EventKind.MERGED and e.first_contact_at is not None]
    if first_contact_at is not None:
        starts.append(_aware(first_contact_at, "first_contact_at"))
    if not starts:
        raise ValueError("no citizen contact in the history: nothing to measure")
    start = min(starts)
    if start > now:
        raise ValueError("the first contact is after now")

    first = _Timer(Target.FIRST_RESPONSE, policy.first_response_minutes, policy.warning_share,
                   calendar, start)
    resolution = _Timer(Target.RESOLUTION, policy.resolution_minutes, policy.warning_share,
                        calendar, start)
    nxt: _Timer | None = None
    next_breaches = 0
    pending = resolved = False

    def sync(at: datetime) -> None:
        for timer in (first, nxt, resolution):
            if timer is None:
                continue
            if pending or resolved:
                timer.pause(at)
            else:
                timer.run(at)

    sync(start)
    for event in history:
        at = max(event.at, start)
        kind = event.kind
        if kind is EventKind.CUSTOMER_MESSAGE:
            if resolved:
                resolution.reopen()
            pending = resolved = False
            if (first.completed_at is not None and policy.next_response_minutes is not None
                    and (nxt is None or nxt.completed_at is not None)):
                if nxt is not None and nxt.breached_at is not None:
                    next_breaches += 1
                nxt = _Timer(Target.NEXT_RESPONSE, policy.next_response_minutes,
                             policy.warning_share, calendar, at)
        elif kind is EventKind.AGENT_RESPONSE:
            if event.at < start:
                continue  # a reply before any contact is not a response to it
            if first.completed_at is None:
                first.complete(at)
            elif nxt is not None:
                nxt.complete(at)
        elif kind is EventKind.RESOLVED or (kind is EventKind.STATUS_CHANGE
                                            and event.to in ("resolved", "closed")):
            resolution.complete(at)
            resolved, pending = True, False
        elif kind is EventKind.REOPENED:
            resolution.reopen()
            resolved = pending = False
        elif kind is EventKind.STATUS_CHANGE:
            if resolved:
                resolution.reopen()
            resolved, pending = False, event.to == PENDING_CUSTOMER
        sync(at)

    next_clock = None
    if nxt is not None:
        next_clock = nxt.snapshot(now)
        if next_clock.state is ClockState.BREACHED:
            next_breaches += 1
    return SlaClocks(policy_name=policy.name, policy_version=policy.version,
                     calendar_name=calendar.name, calendar_version=calendar.version,
                     evaluated_at=now.astimezone(UTC), first_contact_at=start.astimezone(UTC),
                     first_response=first.snapshot(now), next_response=next_clock,
                     next_response_breaches=next_breaches,
                     resolution=resolution.snapshot(now))
