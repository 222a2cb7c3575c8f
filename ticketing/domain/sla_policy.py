"""SLA policies: the targets a ticket is measured against, and which policy applies to it.

Owns ``SlaPolicy`` (targets in business minutes, warning share, escalation steps, the calendar
it counts on), the ordered rules that choose a policy (``choose_policy``: first match wins, an
explicit default) and the checker that builds them from ``config/sla.toml``
(``sla_config_from``).  The clock that measures a ticket against a policy is
``ticketing.domain.sla``.

Pure: no clock, env, files or database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ticketing.domain.escalation import EscalationStep, steps_from

CONDITION_KEYS: Final = ("channel", "topic", "priority", "team")


def _fail(where: str, message: str) -> ValueError:
    return ValueError(f"invalid SLA config: {where}: {message}")


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
