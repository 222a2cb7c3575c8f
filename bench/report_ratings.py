"""The chat ratings in the SLA report: what they add to a report's time.

Seeds N tickets with ``sla_scale.seed`` (30 days of first contacts), rates a share of them
(--rated, default 5 %: the web chat's share; 1-5, rated within a day of the first contact),
then times, on the same database in the same run, the whole report (with the ratings) and the
ratings' grouped pass alone, for each grouping: medians and p99 of --repeat runs, and the
ratio ratings ÷ whole report.  Prints the load average: the machine is shared.

    .venv/bin/python bench/report_ratings.py [--n 200000] [--kinds sqlite,postgresql]
        [--repeat 20] [--rated 0.05]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dedup_scale import database  # noqa: E402
from sla_scale import START, seed  # noqa: E402

from ticketing.app import App  # noqa: E402
from ticketing.services.clock import FixedClock  # noqa: E402
from ticketing.services.reports import ratings, sla_report  # noqa: E402
from ticketing.settings import Settings  # noqa: E402
from ticketing.store import migrate, tables  # noqa: E402
from ticketing.store.db import make_engine  # noqa: E402


def rate(engine: sa.Engine, share: float, seed_value: int = 7) -> int:
    """Rate ``share`` of the tickets (every k-th id), 1-5 skewed to 4-5, within a day."""
    t = tables.tickets
    rng = random.Random(seed_value)
    with engine.begin() as conn:
        rows = conn.execute(sa.select(t.c.id, t.c.first_message_at)).all()
        step = max(1, round(1 / share)) if share > 0 else 0
        picked = rows[::step] if step else []
        conn.execute(t.update().where(t.c.id == sa.bindparam("tid")).values(
            rating=sa.bindparam("r"), rated_at=sa.bindparam("at")),
            [{"tid": r.id, "r": rng.choice((1, 2, 3, 4, 4, 5, 5, 5)),
              "at": r.first_message_at + dt.timedelta(minutes=rng.randint(5, 1440))}
             for r in picked])
    return len(picked)


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def p99(xs: list[float]) -> float:
    return sorted(xs)[min(len(xs) - 1, int(round(0.99 * (len(xs) - 1))))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200_000)
    p.add_argument("--kinds", default="sqlite,postgresql")
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--rated", type=float, default=0.05)
    p.add_argument("--groups", default="channel,topic,team,agent,day")
    args = p.parse_args(argv)
    now = START + dt.timedelta(days=30)
    setup = App(settings=Settings(config_dir=str(ROOT / "config")),
                clock=FixedClock(now)).sla_setup
    start, end = dt.date(2026, 3, 1), dt.date(2026, 4, 1)
    lines = []
    for kind in args.kinds.split(","):
        url, drop = database(kind, f"bench_ratings_{args.n}")
        engine = make_engine(url)
        migrate.upgrade(engine)
        seconds = seed(engine, args.n, setup.calendars["wib"])
        n_rated = rate(engine, args.rated)
        print(f"[{kind}] seeded {args.n:,} tickets in {seconds:.0f} s, {n_rated:,} rated",
              flush=True)
        with engine.connect() as conn:
            for group in args.groups.split(","):
                whole = timed(lambda: sla_report(conn, start=start, end=end, group_by=group,
                                                 now=now), args.repeat)
                part = timed(lambda: ratings(conn, start=start, end=end, group_by=group),
                             args.repeat)
                load = " ".join(f"{x:.2f}" for x in os.getloadavg())
                line = (f"| {kind} | {args.n:,} | {n_rated:,} | {group} | "
                        f"{statistics.median(whole) * 1000:.1f} / {p99(whole) * 1000:.1f} ms | "
                        f"{statistics.median(part) * 1000:.1f} / {p99(part) * 1000:.1f} ms | "
                        f"{statistics.median(part) / statistics.median(whole):.1%} | {load} |")
                print(line, flush=True)
                lines.append(line)
        engine.dispose()
        drop()
    print("\n| database | tickets | rated | group | whole report p50 / p99 | ratings pass "
          "p50 / p99 | ratings ÷ report | load (1/5/15 min) |\n|---|---:|---:|---|---:|---:|"
          "---:|---|")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
