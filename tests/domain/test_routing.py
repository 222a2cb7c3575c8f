"""Routing rules: the configuration's checks, teams, eligibility and auto-assignment choice."""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ticketing.domain.routing import (Agent, AutoAssign, Presence, QueuedTicket, assign_batch,
                                      choose_agent, claim_filter, eligible, queue_due,
                                      routing_config_from)

CONFIG = Path(__file__).resolve().parents[2] / "config" / "routing.toml"
TOPICS = ["insentif", "otp", "nik", "akun", "pelatihan", "rekening", "gelombang", "lainnya"]
AT = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def _doc() -> dict[str, Any]:
    with CONFIG.open("rb") as fh:
        return tomllib.load(fh)


CFG = routing_config_from(_doc(), topics=TOPICS)


def _agent(uid: int, **kw: Any) -> Agent:
    base: dict[str, Any] = {"user_id": uid, "role": "agent", "teams": frozenset(),
                            "skills": frozenset(), "languages": frozenset({"id"}),
                            "capacity": {"webchat": 5, "email": 25}, "status": Presence.ONLINE}
    base.update(kw)
    return Agent(**base)


def _ticket(tid: int, **kw: Any) -> QueuedTicket:
    base: dict[str, Any] = {"id": tid, "team": "akun", "topic": "otp", "channel": "webchat",
                            "language": "id"}
    base.update(kw)
    return QueuedTicket(**base)


def test_the_sample_config_loads() -> None:
    assert CFG.default_team == "umum"
    assert CFG.team("akun").auto_assign is AutoAssign.ROUND_ROBIN
    assert CFG.team("keuangan").supervisors_queue == "supervisors"


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["teams"][1].update(auto_assign="sometimes"),
     "teams[1] (keuangan).auto_assign: must be one of off, least_loaded, round_robin"),
    (lambda d: d["teams"][2].update(topics=["otp", "bogus"]),
     "teams[2] (akun).topics: unknown topic 'bogus'"),
    (lambda d: d["teams"][2].update(topics=["otp", "insentif"]),
     "teams[2] (akun).topics: 'insentif' is already routed to team 'keuangan'"),
    (lambda d: d["teams"][0].update(supervisors_queue="nobody"),
     "teams[0] (english).supervisors_queue: no team named 'nobody'"),
    (lambda d: d["routing"].update(default_team="nobody"),
     "routing.default_team: no team named 'nobody'"),
    (lambda d: d["defaults"]["capacity"].update(fax=3),
     "defaults.capacity.fax: unknown channel"),
    (lambda d: d["teams"][0].update(languages=["jv"]),
     "teams[0] (english).languages: 'jv' is not routed"),
    (lambda d: d["teams"][3].update(offline_return_minutes=-1),
     "teams[3] (program).offline_return_minutes: must be a whole number >= 0"),
    (lambda d: d["teams"][3].update(colour="red"), "teams[3] (program).colour: unknown key"),
    (lambda d: d["routing"].update(heartbeat_timeout_seconds=0),
     "routing.heartbeat_timeout_seconds: must be a whole number > 0"),
])
def test_config_errors_name_the_key(mutate: Any, message: str) -> None:
    doc = copy.deepcopy(_doc())
    mutate(doc)
    with pytest.raises(ValueError) as err:
        routing_config_from(doc, topics=TOPICS)
    assert str(err.value).startswith(message)


def test_team_follows_language_then_topic_then_default() -> None:
    assert CFG.team_for(topic="insentif", channel="email", language="en") == "english"
    assert CFG.team_for(topic="insentif", channel="email", language="id") == "keuangan"
    assert CFG.team_for(topic="nik", channel="webchat", language="id") == "akun"
    assert CFG.team_for(topic="lainnya", channel="webchat", language="id") == "umum"
    assert CFG.team_for(topic=None, channel="phone", language=None) == "umum"


def test_eligibility_is_skills_and_language_and_team_and_spare_capacity() -> None:
    ticket = _ticket(1)
    assert eligible(_agent(1), ticket, CFG)
    assert not eligible(_agent(1, skills=frozenset({"nik"})), ticket, CFG)
    assert not eligible(_agent(1, languages=frozenset({"en"})), ticket, CFG)
    assert not eligible(_agent(1, teams=frozenset({"keuangan"})), ticket, CFG)
    assert not eligible(_agent(1, load={"webchat": 5}), ticket, CFG)
    assert eligible(_agent(1, load={"webchat": 5}), _ticket(1, channel="email"), CFG)
    assert not eligible(_agent(1), _ticket(1, team="supervisors"), CFG)
    assert eligible(_agent(1, role="supervisor"), _ticket(1, team="supervisors"), CFG)


def test_no_spare_capacity_anywhere_means_nothing_to_claim() -> None:
    full = _agent(1, load={"webchat": 5, "email": 25})
    assert claim_filter(full, CFG) is None
    half = claim_filter(_agent(1, load={"webchat": 5}), CFG)
    assert half is not None and half.channels == ("email",)


def test_auto_assignment_needs_an_online_agent() -> None:
    away = _agent(1, status=Presence.AWAY)
    assert choose_agent(_ticket(1), [away], AutoAssign.LEAST_LOADED, CFG) is None
    assert choose_agent(_ticket(1), [_agent(2)], AutoAssign.OFF, CFG) is None


def test_least_loaded_takes_the_smallest_share_of_capacity() -> None:
    busy = _agent(1, load={"webchat": 3})
    idle_big = _agent(2, load={"webchat": 2}, capacity={"webchat": 10})
    chosen = choose_agent(_ticket(1), [busy, idle_big], AutoAssign.LEAST_LOADED, CFG)
    assert chosen is not None and chosen.user_id == 2


def test_round_robin_is_fair_among_equals() -> None:
    agents = [_agent(uid, capacity={"webchat": 100}) for uid in (11, 12, 13, 14)]
    tickets = [_ticket(i, team="akun") for i in range(40)]
    given = assign_batch(tickets, agents, CFG, AT)
    order = [a.user_id for _, a in given]
    assert order[:8] == [11, 12, 13, 14, 11, 12, 13, 14]
    assert Counter(order) == {11: 10, 12: 10, 13: 10, 14: 10}


def test_round_robin_skips_whoever_is_not_eligible_and_stays_fair_among_the_rest() -> None:
    agents = [_agent(1, capacity={"webchat": 100}), _agent(2, capacity={"webchat": 1}),
              _agent(3, capacity={"webchat": 100}, skills=frozenset({"nik"}))]
    given = assign_batch([_ticket(i) for i in range(9)], agents, CFG, AT)
    assert Counter(a.user_id for _, a in given) == {1: 8, 2: 1}


def test_queue_due_is_the_earliest_clock_still_to_be_met() -> None:
    first, resolution = AT + dt.timedelta(hours=4), AT + dt.timedelta(hours=24)
    assert queue_due(first, None, resolution) == first
    assert queue_due(None, None, resolution) == resolution
    assert queue_due(None, None, None) is None
