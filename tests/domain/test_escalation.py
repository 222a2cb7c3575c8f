"""Escalation steps: read from config/sla.toml with errors naming the key, stored on a ticket in
a compact form that reads back identically, and the rules saying which steps are due."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ticketing.domain.calendar import calendars_from_config
from ticketing.domain.escalation import (Action, EscalationStep, TargetSignals, Trigger,
                                         due_steps, raised)
from ticketing.domain.sla_policy import policy_from_terms, sla_config_from
from tests.conftest import ROOT

with (ROOT / "config" / "sla.toml").open("rb") as _fh:
    DOC: dict[str, Any] = tomllib.load(_fh)
CALENDARS = list(calendars_from_config(DOC))
T0 = datetime(2026, 3, 9, 4, 30, tzinfo=UTC)


def test_the_sample_config_escalates_warning_to_assignee_breach_to_supervisors_and_priority(
        ) -> None:
    config = sla_config_from(DOC, CALENDARS)
    for policy in config.policies.values():
        assert [s.key for s in policy.escalation] == [
            "warning:notify_assignee", "breach:notify_supervisors", "breach:raise_priority"]


def test_a_policy_may_have_its_own_steps_or_none() -> None:
    policies = {**DOC["policies"],
                "quiet": {**DOC["policies"]["standard"], "escalation": []},
                "loud": {**DOC["policies"]["standard"], "escalation": [
                    {"on": "breach", "after": 30, "targets": ["resolution"],
                     "action": "notify_supervisors"}]}}
    config = sla_config_from({**DOC, "policies": policies}, CALENDARS)
    assert config.policies["quiet"].escalation == ()
    [step] = config.policies["loud"].escalation
    assert (step.key, step.targets) == ("breach+30:notify_supervisors",
                                        frozenset({"resolution"}))


def _with_steps(steps: Any) -> dict[str, Any]:
    return {**DOC, "escalation": {"steps": steps}}


@pytest.mark.parametrize(("doc", "message"), [
    (_with_steps([{"on": "late", "action": "notify_assignee"}]),
     r"escalation\.steps\[0\]\.on: must be one of \['warning', 'breach'\], not 'late'"),
    (_with_steps([{"on": "breach", "action": "email_everyone"}]),
     r"escalation\.steps\[0\]\.action: must be one of"),
    (_with_steps([{"on": "warning", "action": "notify_assignee", "after": 10}]),
     r"escalation\.steps\[0\]: after is only allowed with on = \"breach\""),
    (_with_steps([{"on": "breach", "action": "notify_assignee", "after": -5}]),
     r"escalation\.steps\[0\]\.after: must be a whole number"),
    (_with_steps([{"on": "breach", "action": "notify_assignee", "targets": ["lunch"]}]),
     r"escalation\.steps\[0\]\.targets: must be a list of some of"),
    (_with_steps([{"on": "breach", "action": "raise_priority", "up_to": "critical"}]),
     r"escalation\.steps\[0\]\.up_to: must be one of"),
    (_with_steps([{"on": "breach", "action": "notify_assignee", "up_to": "high"}]),
     r"escalation\.steps\[0\]\.up_to: only applies to action = \"raise_priority\""),
    (_with_steps([{"on": "breach", "action": "notify_assignee", "when": "now"}]),
     r"escalation\.steps\[0\]: unknown key\(s\) \['when'\]"),
    (_with_steps([{"on": "breach", "action": "notify_supervisors"},
                  {"on": "breach", "action": "notify_supervisors"}]),
     r"escalation\.steps\[1\]: duplicate step"),
    (_with_steps("notify everyone"), r"escalation\.steps: must be a list"),
    ({**DOC, "escalation": {"step": []}}, r"escalation: must be a table with steps"),
    ({**DOC, "policies": {**DOC["policies"], "standard": {
        **DOC["policies"]["standard"], "escalation": [{"on": "breach"}]}}},
     r"policies\.standard\.escalation\[0\]\.action: must be one of"),
])
def test_bad_escalation_config_names_the_key(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sla_config_from(doc, CALENDARS)


def test_the_app_refuses_to_start_with_a_bad_step(tmp_path: Any) -> None:
    import shutil

    from ticketing.app import App
    from ticketing.domain.errors import InvalidInput
    from ticketing.services.clock import FixedClock
    from ticketing.settings import Settings

    shutil.copytree(ROOT / "config", tmp_path / "config")
    path = tmp_path / "config" / "sla.toml"
    path.write_text(path.read_text().replace('action = "notify_assignee"',
                                             'action = "notify_assigne"'))
    app = App(settings=Settings(config_dir=str(tmp_path / "config")), clock=FixedClock(T0))
    with pytest.raises(InvalidInput, match=r"sla\.toml: .*escalation\.steps\[0\]\.action"):
        app.sla_setup


@pytest.mark.parametrize("step", [
    EscalationStep(on=Trigger.WARNING, action=Action.NOTIFY_ASSIGNEE),
    EscalationStep(on=Trigger.BREACH, action=Action.RAISE_PRIORITY, up_to="high",
                   after_minutes=90, targets=frozenset({"first_response", "resolution"})),
    EscalationStep(on=Trigger.BREACH, action=Action.NOTIFY_SUPERVISORS,
                   targets=frozenset({"next_response"})),
])
def test_a_stored_step_reads_back_identically(step: EscalationStep) -> None:
    assert EscalationStep.decode(step.encode()) == step


def test_stored_terms_rebuild_the_policy_whatever_the_config_says_later() -> None:
    policy = sla_config_from(DOC, CALENDARS).policies["standard"]
    assert policy_from_terms("standard", policy.terms()) == policy


@pytest.mark.parametrize(("now", "cap", "after"), [
    ("low", "urgent", "normal"), ("normal", "urgent", "high"), ("high", "urgent", "urgent"),
    ("urgent", "urgent", None), ("high", "high", None), ("urgent", "high", None),
    ("normal", "normal", None)])
def test_raise_goes_one_level_up_to_the_cap(now: str, cap: str, after: str | None) -> None:
    assert raised(now, cap) == after


STEPS = (EscalationStep(on=Trigger.WARNING, action=Action.NOTIFY_ASSIGNEE),
         EscalationStep(on=Trigger.BREACH, action=Action.NOTIFY_SUPERVISORS),
         EscalationStep(on=Trigger.BREACH, action=Action.RAISE_PRIORITY, after_minutes=60,
                        targets=frozenset({"resolution"})))


def _plan(target: str, *, warned: bool = False, breached: datetime | None = None,
          outstanding: bool = True, fired: frozenset[str] = frozenset(),
          now: datetime = T0) -> tuple[list[str], datetime | None]:
    plan = due_steps(STEPS, TargetSignals(target=target, warned=warned, breached_at=breached,
                                          outstanding=outstanding),
                     fired.__contains__, now, lambda at, minutes: at + timedelta(minutes=minutes))
    return [s.key for s in plan.due], plan.next_at


def test_nothing_is_due_before_the_warning() -> None:
    assert _plan("resolution") == ([], None)


def test_the_warning_runs_warning_steps_only() -> None:
    assert _plan("resolution", warned=True) == (["warning:notify_assignee"], None)


def test_a_breach_runs_what_is_due_and_schedules_the_delayed_step() -> None:
    assert _plan("resolution", warned=True, breached=T0) == (
        ["warning:notify_assignee", "breach:notify_supervisors"], T0 + timedelta(minutes=60))
    assert _plan("first_response", breached=T0) == (
        ["warning:notify_assignee", "breach:notify_supervisors"], None)  # not its target


def test_fired_steps_do_not_run_again_and_the_delayed_one_comes_due() -> None:
    done = frozenset({"warning:notify_assignee", "breach:notify_supervisors"})
    later = T0 + timedelta(minutes=61)
    assert _plan("resolution", breached=T0, fired=done, now=later) == (
        ["breach+60:raise_priority"], None)
    assert _plan("resolution", breached=T0, fired=done | {"breach+60:raise_priority"},
                 now=later) == ([], None)


def test_an_answered_target_drops_its_pending_delayed_step() -> None:
    done = frozenset({"warning:notify_assignee", "breach:notify_supervisors"})
    assert _plan("resolution", breached=T0, fired=done, outstanding=False,
                 now=T0 + timedelta(hours=5)) == ([], None)
