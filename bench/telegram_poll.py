"""Long polling end to end (issue 12): a feeder pushes updates into the Bot API stand-in at
``--rate`` a second (default 500) for ``--seconds``; ``--workers`` ``ticketing worker`` processes (one
polls at a time, under the lease; all drain the inbox) take with the real python-telegram-bot (getUpdates under its lease, offset committed with the
inbox rows) and turns them into tickets.  A reader in this process polls the database every
20 ms for new messages.

Figures: drained/s = N / (last message visible - first update offered); lag per update =
first seen as a message - pushed into the stand-in (p50/p99, over-estimated by at most one
read interval); the ratio of the drained rate to the offered rate (the baseline: 1.0 means the
worker keeps up).  Also: every update stored exactly once (inbox rows = messages = N).

    .venv/bin/python bench/telegram_poll.py                       # 500/s for 10 s, both databases
    .venv/bin/python bench/telegram_poll.py --quick               # 500/s for 4 s, SQLite
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from telegram_common import (ROOT, TEXTS, TICKETING, database, env_for, median,  # noqa: E402
                             percentile, update)

sys.path.insert(0, str(ROOT))
from tests.channels.telegram.standin import StandIn  # noqa: E402


def run(kind: str, rate: int, seconds: float, workers: int, batch: int,
        stale: bool) -> dict[str, float]:
    n = int(rate * seconds)
    pushed: dict[int, float] = {}
    seen: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
        standin = StandIn().start()
        env = env_for(url, standin.url, TICKETING_TELEGRAM_POLL_TIMEOUT="1",
                      TICKETING_INGEST_BATCH_SIZE=str(batch))
        procs = [subprocess.Popen([str(TICKETING), "worker"], env=env, cwd=tmp)
                 for _ in range(workers)]
        engine = sa.create_engine(url)
        try:
            time.sleep(3.0)  # the worker starts and takes the lease
            done = threading.Event()

            def read() -> None:
                # Every inbound message's id each time: PostgreSQL hands ids out in blocks,
                # so "id above the last seen" would miss rows committed out of id order.
                while len(seen) < n and not done.is_set():
                    with engine.connect() as conn:
                        rows = conn.execute(sa.text(
                            "SELECT external_id FROM messages WHERE direction = 'in'")).all()
                    now = time.monotonic()
                    for (ext,) in rows:
                        seen.setdefault(int(str(ext).split(":")[1]), now)
                    time.sleep(0.05)

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            t0 = time.monotonic()
            for i in range(1, n + 1):
                due = t0 + (i - 1) / rate
                if (wait := due - time.monotonic()) > 0:
                    time.sleep(wait)
                pushed[i] = time.monotonic()
                standin.push(update(i, 200_000 + i % 1000, TEXTS[i % len(TEXTS)],
                                    None if stale else int(time.time())))
            fed = time.monotonic()
            with engine.connect() as conn:
                at_feed_end = conn.execute(sa.text("SELECT count(*) FROM inbox")).scalar_one()
            reader.join(timeout=seconds * 10 + 60)
            done.set()
            with engine.connect() as conn:
                inbox = conn.execute(sa.text("SELECT count(*) FROM inbox")).scalar_one()
                msgs = conn.execute(sa.text("SELECT count(*) FROM messages "
                                            "WHERE direction = 'in'")).scalar_one()
        finally:
            began = time.monotonic()
            for proc in procs:
                proc.terminate()
            stopped = []
            for proc in procs:
                proc.wait(timeout=60)
                stopped.append(time.monotonic() - began)
            engine.dispose()
            standin.stop()
    lags = [seen[i] - pushed[i] for i in pushed if i in seen]
    offered = n / (pushed[n] - pushed[1])
    drained = len(seen) / (max(seen.values()) - pushed[1]) if seen else 0.0
    print(f"  {kind}: inbox rows when the feeder finished: {at_feed_end}/{n}; messages seen "
          f"by then: {sum(1 for t in seen.values() if t <= fed)}", file=sys.stderr)
    return {"offered": offered, "drained": drained, "p50": percentile(lags, 50),
            "p99": percentile(lags, 99), "exact": float(inbox == msgs == n == len(seen)),
            "stop": max(stopped)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rate", type=int, default=500)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes (one polls, under the lease; all drain the inbox)")
    p.add_argument("--kinds", default="sqlite,postgresql")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--stale-dates", action="store_true",
                   help="updates dated 2026-03-02 (as before): every ticket is already past its "
                        "SLA when it opens, so the worker also escalates each one")
    p.add_argument("--batch", type=int, default=0,
                   help="TICKETING_INGEST_BATCH_SIZE of the workers; 0: 100 on SQLite (a "
                        "smaller batch holds the one write lock shorter, so the poller's commits "
                        "get in), the setting's default 500 on PostgreSQL (no such lock; the "
                        "worker's CPU per message falls by a quarter or more from 100 to 500)")
    a = p.parse_args()
    if a.quick:
        a.seconds, a.kinds = 4.0, "sqlite"
    print(f"{a.workers} worker process(es), ingest batch {a.batch or '100 (SQLite) / 500 (PG)'}, "
          f"{a.rate}/s for "
          f"{a.seconds:g} s, updates dated {'2026-03-02' if a.stale_dates else 'now'}; load "
          f"{os.getloadavg()[0]:.1f} (2 cores)")
    print("| database | offered/s (baseline) | drained/s | ratio | lag p50 s | lag p99 s | "
          "stored once | SIGTERM to exit s |")
    print("|---|---:|---:|---:|---:|---:|---|---:|")
    for kind in a.kinds.split(","):
        batch = a.batch or (100 if kind == "sqlite" else 500)
        runs = [run(kind, a.rate, a.seconds, a.workers, batch, a.stale_dates)
                for _ in range(a.runs)]
        offered = median([r["offered"] for r in runs])
        drained = median([r["drained"] for r in runs])
        print(f"| {kind} | {offered:,.0f} | {drained:,.0f} | {drained / offered:.2f} | "
              f"{median([r['p50'] for r in runs]):.2f} | {median([r['p99'] for r in runs]):.2f}"
              f" | {all(r['exact'] for r in runs)} | {max(r['stop'] for r in runs):.1f} | "
              f"load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
