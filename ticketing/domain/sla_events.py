"""The SLA's events: a target's warning and breach, an escalation step, a changed calendar, a
re-measured ticket (the audit trail's records; the base and the rest are in
``ticketing.domain.events``).

Pure: no database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ticketing.domain.events import Event

@dataclass(frozen=True, slots=True, kw_only=True)
class SlaSignal(Event):
    """A target's warning or breach, under the policy (and version) it was measured by."""

    target: str
    due_at: dt.datetime | None
    policy: str
    policy_version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaWarned(SlaSignal):
    KIND = "sla.warning"


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaBreached(SlaSignal):
    KIND = "sla.breached"


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaEscalated(Event):
    KIND = "sla.escalated"
    details: Mapping[str, Any] = field(default_factory=dict)  # step, target, outcome, ...


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaCalendarChanged(Event):
    KIND = "sla.calendar_changed"
    calendar: str
    previous_version: int | None
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaRecomputed(Event):
    KIND = "sla.recomputed"
    previous: Mapping[str, Any]
    current: Mapping[str, Any]
