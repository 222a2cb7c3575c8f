"""Micro-benchmark of the SLA time math on the shipped config/sla.toml (wib calendar).

Prints the median (and p90) microseconds per call of ``add_business_minutes`` for 240 and 1440
business minutes and of ``business_minutes_between`` for a week, from random starts across 2026
(holidays and the Lebaran week included), and of ``evaluate()`` on a 10-event history.  Usage:

    .venv/bin/python bench/sla_math.py [--n 20000] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ticketing.domain.calendar import (  # noqa: E402
    BusinessCalendar,
    add_business_minutes,
    business_minutes_between,
    calendars_from_config,
)
from ticketing.domain.sla import EventKind, TicketEvent, evaluate  # noqa: E402
from ticketing.domain.sla_policy import sla_config_from  # noqa: E402


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - t0) / 1000


def _report(label: str, samples: list[float]) -> None:
    samples.sort()
    p90 = samples[int(len(samples) * 0.9)]
    print(f"{label:<44} median {statistics.median(samples):7.1f} us   p90 {p90:7.1f} us")


def _history(start: datetime) -> list[TicketEvent]:
    h = timedelta(hours=1)
    kinds = [(0 * h, EventKind.CUSTOMER_MESSAGE, None), (2 * h, EventKind.AGENT_RESPONSE, None),
             (2 * h, EventKind.STATUS_CHANGE, "pending_customer"),
             (30 * h, EventKind.CUSTOMER_MESSAGE, None), (31 * h, EventKind.AGENT_RESPONSE, None),
             (32 * h, EventKind.CUSTOMER_MESSAGE, None), (50 * h, EventKind.AGENT_RESPONSE, None),
             (51 * h, EventKind.RESOLVED, None), (75 * h, EventKind.REOPENED, None),
             (76 * h, EventKind.RESOLVED, None)]
    return [TicketEvent(at=start + d, kind=k, to=to) for d, k, to in kinds]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with (ROOT / "config" / "sla.toml").open("rb") as fh:
        doc = tomllib.load(fh)
    t0 = time.perf_counter()
    calendars = calendars_from_config(doc)
    print(f"config load incl. holidays 2024-2030: {(time.perf_counter() - t0) * 1000:.1f} ms")
    cal: BusinessCalendar = calendars["wib"]
    policy = sla_config_from(doc, list(calendars)).policies["standard"]
    rnd = random.Random(args.seed)
    year = datetime(2026, 1, 1, tzinfo=UTC)
    starts = [year + timedelta(seconds=rnd.randrange(365 * 86400)) for _ in range(args.n)]
    for minutes in (240, 1440):
        _report(f"add_business_minutes({minutes})",
                [_timed(lambda s=s: add_business_minutes(cal, s, minutes)) for s in starts])
    _report("business_minutes_between(start, start+7d)",
            [_timed(lambda s=s: business_minutes_between(cal, s, s + timedelta(days=7)))
             for s in starts])
    _report("add_business_minutes(100000) (~1 year)",
            [_timed(lambda s=s: add_business_minutes(cal, s, 100_000)) for s in starts[:2000]])
    histories = [(_history(s), s + timedelta(hours=80)) for s in starts[: args.n // 4]]
    _report("evaluate(10-event history)",
            [_timed(lambda h=h, now=now: evaluate(policy, cal, h, now)) for h, now in histories])


if __name__ == "__main__":
    main()
