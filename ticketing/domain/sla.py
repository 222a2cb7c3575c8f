"""The SLA clock, rebuilt from a ticket's event history.

Owns the event vocabulary the clock understands (``TicketEvent``) and ``evaluate``, which
replays the history up to ``now`` and gives, for first response, next response and resolution,
the due and warning instants, the consumed business time and the state, under a policy
(``ticketing.domain.sla_policy``: which policy applies and its targets).

Rules of the clock (all business time on the policy's calendar):
* every target starts at the first contact: the earliest citizen message or, for a ticket other
  tickets were merged into, the earliest first contact among them;
* first response stops at the first ``agent_response`` (a reply the channel's provider accepted,
  or a call in which an agent spoke); next response starts at a citizen message that follows an
  agent response and stops at the next agent response; resolution stops at ``resolved`` and
  resumes on ``reopened`` (or on a citizen message to a resolved ticket);
* time in ``pending_customer`` does not count; a citizen message or leaving that status resumes;
  a resolved ticket's response clocks are paused too;
* while running, the due time is the remaining target added from the resume point, so a pause
  never makes a due time earlier; a target is breached when it is fulfilled (or still open) after
  its due instant, met otherwise; ``warn_at`` is where ``warning_share`` of the target is used.

Pure: no clock, env, files or database; ``now`` is an argument.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

from ticketing.domain.calendar import BusinessCalendar, add_business_time, business_time_between
from ticketing.domain.sla_policy import SlaPolicy


def _aware(at: datetime, what: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} {at.isoformat()} is naive; SLA times must be timezone-aware")
    return at


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
