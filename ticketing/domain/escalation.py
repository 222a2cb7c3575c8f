"""SLA escalation steps: what happens when a target is about to be missed, or has been.

Owns the step vocabulary (trigger, optional delay after a breach, action, targets), its
validation from ``config/sla.toml`` (``[escalation] steps`` and a policy's own ``escalation``
list), the compact text form a step is stored under on a ticket (``"breach+60:raise_priority"``),
and ``due_steps``: given a target's signals, which steps are due now and when the next delayed
one will be.

Rules:
* ``on = "warning"`` fires once the target's warning has been signalled, or its breach (a
  breach implies the warning threshold passed, e.g. when the timer ran late);
* ``on = "breach"`` fires once the breach has been signalled; with ``after = N`` only N
  business minutes (on the policy's calendar) after the breach instant, and only while the
  target is still outstanding (a late answer or the resolution stops a pending delayed step);
* each step fires at most once per ticket and target (the caller remembers it); a step that
  comes due for a target already answered (the timer saw the breach late) is skipped;
* ``raise_priority`` raises one level (low → normal → high → urgent) up to ``up_to``.

Pure: no clock, env, files or database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from ticketing.domain.lifecycle import Priority

TARGETS: Final = ("first_response", "next_response", "resolution")
PRIORITIES: Final = tuple(str(p) for p in Priority)  # ascending


class Trigger(StrEnum):
    WARNING = "warning"
    BREACH = "breach"


class Action(StrEnum):
    NOTIFY_ASSIGNEE = "notify_assignee"
    NOTIFY_SUPERVISORS = "notify_supervisors"
    RAISE_PRIORITY = "raise_priority"


@dataclass(frozen=True, slots=True, kw_only=True)
class EscalationStep:
    on: Trigger
    action: Action
    after_minutes: int = 0  # business minutes after the breach; only with on = breach
    targets: frozenset[str] = frozenset(TARGETS)
    up_to: str = "urgent"  # raise_priority's cap

    def __post_init__(self) -> None:
        object.__setattr__(self, "on", Trigger(self.on))
        object.__setattr__(self, "action", Action(self.action))
        if self.after_minutes and self.on is not Trigger.BREACH:
            raise ValueError("after is only allowed with on = \"breach\"")
        if self.after_minutes < 0:
            raise ValueError("after must be zero or a positive number of business minutes")
        if not self.targets or set(self.targets) - set(TARGETS):
            raise ValueError(f"targets must be some of {list(TARGETS)}")
        if self.up_to not in PRIORITIES:
            raise ValueError(f"up_to must be one of {list(PRIORITIES)}")

    @property
    def key(self) -> str:
        """The step's stored name, unique within a policy: ``breach+60:raise_priority``.
        Targets and the cap are part of the stored form (``encode``), not of the key."""
        delay = f"+{self.after_minutes}" if self.after_minutes else ""
        return f"{self.on}{delay}:{self.action}"

    def encode(self) -> str:
        text = self.key
        if self.targets != frozenset(TARGETS):
            text += "@" + ",".join(t for t in TARGETS if t in self.targets)
        if self.action is Action.RAISE_PRIORITY and self.up_to != "urgent":
            text += "<" + self.up_to
        return text

    @classmethod
    def decode(cls, text: str) -> EscalationStep:
        rest, _, cap = text.partition("<")
        rest, _, targets = rest.partition("@")
        trigger, _, action = rest.partition(":")
        on, _, after = trigger.partition("+")
        return cls(on=Trigger(on), action=Action(action), after_minutes=int(after or 0),
                   targets=frozenset(targets.split(",")) if targets else frozenset(TARGETS),
                   up_to=cap or "urgent")


def raised(priority: str, cap: str) -> str | None:
    """One level up, never past ``cap``; ``None`` when already there (or above)."""
    level = PRIORITIES.index(priority) if priority in PRIORITIES else 1
    if level >= PRIORITIES.index(cap):
        return None
    return PRIORITIES[level + 1]


# -- config ----------------------------------------------------------------------------------------

_STEP_KEYS: Final = {"on", "action", "after", "targets", "up_to"}


def _fail(where: str, message: str) -> ValueError:
    return ValueError(f"invalid SLA config: {where}: {message}")


def steps_from(value: Any, where: str) -> tuple[EscalationStep, ...]:
    """An ordered list of step tables, e.g. ``[{on = "breach", action = "notify_supervisors"}]``."""
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise _fail(where, "must be a list of {on = ..., action = ...} tables")
    steps: list[EscalationStep] = []
    for i, entry in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(entry, Mapping):
            raise _fail(at, "must be a table like {on = \"breach\", action = "
                            "\"notify_supervisors\"}")
        if set(entry) - _STEP_KEYS:
            raise _fail(at, f"unknown key(s) {sorted(set(entry) - _STEP_KEYS)}; allowed "
                            f"{sorted(_STEP_KEYS)}")
        on, action = entry.get("on"), entry.get("action")
        if on not in set(Trigger):
            raise _fail(f"{at}.on", f"must be one of {[str(t) for t in Trigger]}, not {on!r}")
        if action not in set(Action):
            raise _fail(f"{at}.action",
                        f"must be one of {[str(a) for a in Action]}, not {action!r}")
        after = entry.get("after", 0)
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise _fail(f"{at}.after", "must be a whole number of business minutes (>= 0)")
        targets = entry.get("targets", list(TARGETS))
        targets = [targets] if isinstance(targets, str) else targets
        if (not isinstance(targets, Sequence) or not targets
                or not all(isinstance(x, str) and x in TARGETS for x in targets)):
            raise _fail(f"{at}.targets", f"must be a list of some of {list(TARGETS)}")
        up_to = entry.get("up_to", "urgent")
        if "up_to" in entry and action != Action.RAISE_PRIORITY:
            raise _fail(f"{at}.up_to", "only applies to action = \"raise_priority\"")
        if up_to not in PRIORITIES:
            raise _fail(f"{at}.up_to", f"must be one of {list(PRIORITIES)}")
        try:
            step = EscalationStep(on=Trigger(on), action=Action(action), after_minutes=after,
                                  targets=frozenset(targets), up_to=str(up_to))
        except ValueError as exc:
            raise _fail(at, str(exc)) from exc
        if any(s.key == step.key and s.targets & step.targets for s in steps):
            raise _fail(at, f"duplicate step {step.key!r} for the same target")
        steps.append(step)
    return tuple(steps)


# -- which steps are due ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class TargetSignals:
    """One target's situation as the timer sees it after recording warnings and breaches."""

    target: str
    warned: bool
    breached_at: datetime | None  # the breach instant, once signalled
    outstanding: bool  # not yet answered / resolved (running or paused)


@dataclass(frozen=True, slots=True, kw_only=True)
class DueSteps:
    due: tuple[EscalationStep, ...]
    next_at: datetime | None  # when the next delayed step of this target comes due


def due_steps(steps: Sequence[EscalationStep], signals: TargetSignals, fired: Callable[[str], bool],
              now: datetime, after_breach: Callable[[datetime, int], datetime]) -> DueSteps:
    """The steps of ``signals.target`` to run now (in config order) and the next wake-up for a
    delayed one.  ``fired(key)`` says whether a step already ran for this target;
    ``after_breach(breached_at, minutes)`` adds business minutes on the policy's calendar."""
    due: list[EscalationStep] = []
    later: list[datetime] = []
    for step in steps:
        if signals.target not in step.targets or fired(step.key):
            continue
        if step.on is Trigger.WARNING:
            if signals.warned or signals.breached_at is not None:
                due.append(step)
            continue
        if signals.breached_at is None:
            continue
        if not step.after_minutes:
            due.append(step)
        elif signals.outstanding:
            at = after_breach(signals.breached_at, step.after_minutes)
            if at <= now:
                due.append(step)
            else:
                later.append(at)
    return DueSteps(due=tuple(due), next_at=min(later, default=None))
