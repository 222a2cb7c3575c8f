"""The web chat's message limits live in the database: two web processes (two ``App``s on one
database, each with its own raw sink) share one limit per session and per address; a refused
frame is neither stored nor charged; buckets fill again with time and are forgotten once
idle."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from ticketing.app import App
from ticketing.domain.raw import RawDelivery
from ticketing.domain.throttle import Bucket
from ticketing.services import webchat_rates
from ticketing.services.clock import FixedClock
from ticketing.services.intake import GroupCommitSink, Limited
from ticketing.services.webchat_rates import ChatLimits
from ticketing.store import tables

LIMITS = ChatLimits(per_session=Bucket(per_minute=6, burst=3),
                    per_ip=Bucket(per_minute=60, burst=5))


@pytest.fixture
def other(app: App, clock: FixedClock) -> Iterator[App]:
    """A second web process on the same database."""
    second = App(settings=app.settings, clock=clock)
    yield second
    second.close()


def delivery(n: int) -> RawDelivery:
    return RawDelivery(channel="webchat", key=f"webchat:s1:{n}", payload=b"{}",
                       content_type="application/json", meta={})


def test_two_processes_share_one_session_limit(app: App, other: App, clock: FixedClock) -> None:
    sinks = [GroupCommitSink(a.uow, a.clock, gate=LIMITS.take) for a in (app, other)]
    keys = LIMITS.keys("s1", "10.0.0.1")
    try:
        outcomes = []
        for n in range(6):  # alternating between the two processes
            future = sinks[n % 2].submit(delivery(n), keys)
            try:
                outcomes.append(future.result(timeout=10))
            except Limited as exc:
                assert 0 < exc.retry_after <= 10
                outcomes.append(None)
        assert outcomes == [True, True, True, None, None, None]  # burst 3, across both
        with app.engine.connect() as conn:
            stored = conn.execute(sa.select(sa.func.count()).select_from(tables.inbox)
                                  ).scalar_one()
        assert stored == 3  # refused frames are not stored
        clock.advance(seconds=10)  # 6 a minute: one token back every 10 s
        assert sinks[1].submit(delivery(6), keys).result(timeout=10) is True
        with pytest.raises(Limited):
            sinks[0].submit(delivery(7), keys).result(timeout=10)
    finally:
        for sink in sinks:
            sink.close()


def test_a_refused_frame_takes_nothing_from_its_other_limits(app: App) -> None:
    ip = "10.0.0.2"
    wanted = [LIMITS.keys(s, ip) for s in ("s0", "s0", "s0", "s0", "s1", "s2", "s3")]
    waits = app.write(LIMITS.take, wanted, app.clock.now())
    # s0's fourth is refused by its session's bucket (burst 3) and takes none of the
    # address's 5: s1 and s2 still pass, s3 is the address's sixth.
    assert [w == 0 for w in waits] == [True, True, True, False, True, True, False]
    assert waits[3] == pytest.approx(10.0) and waits[6] == pytest.approx(1.0)


def test_idle_buckets_are_forgotten(app: App, clock: FixedClock) -> None:
    app.write(LIMITS.take, [LIMITS.keys("s9", "10.0.0.3")], app.clock.now())
    assert app.write(webchat_rates.forget, app.clock.now()) == 0
    clock.advance(hours=2)
    assert app.write(webchat_rates.forget, app.clock.now()) == 2


def test_a_bucket_fills_at_its_rate_up_to_its_burst() -> None:
    bucket = Bucket(per_minute=30, burst=10)
    then = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    assert bucket.level(0.0, then, then + dt.timedelta(seconds=4)) == pytest.approx(2.0)
    assert bucket.level(9.5, then, then + dt.timedelta(hours=1)) == 10.0
    assert bucket.wait(0.5) == pytest.approx(1.0)
    assert bucket.wait(1.0) == 0.0
