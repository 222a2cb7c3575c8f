"""Issue 5 figures: the full SLA report over 1,000,000 tickets (target ≤ 2 s) and the timer's
due-set query among 1,000,000 open tickets (target ≤ 50 ms), on SQLite and PostgreSQL.

Seeds N tickets (with customers, one inbound and, for answered ones, one outbound message each)
by Core bulk inserts with realistic SLA columns: first contacts spread over 30 days, 70 %
answered (most in time), 40 % resolved, due times and states as the clock would store them,
the business-minute measures as the SLA service stores them (WIB calendar of config/sla.toml),
``sla_check_at`` for the running ones.  Then times ``sla_report`` (grouped by channel, topic and
day; median of --repeat runs) and the timer's due-set query (median of 5).

    .venv/bin/python bench/sla_scale.py [--n 1000000] [--kinds sqlite,postgresql] [--repeat 5]
        [--name NAME] [--keep] [--reuse]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dedup_scale import PG_ADMIN, database  # noqa: E402

from ticketing.app import App  # noqa: E402
from ticketing.domain.calendar import BusinessCalendar, business_time_between  # noqa: E402
from ticketing.services.clock import FixedClock  # noqa: E402
from ticketing.services.reports import sla_report  # noqa: E402
from ticketing.store.rollup import fold as fold_rollup  # noqa: E402
from ticketing.settings import Settings  # noqa: E402
from ticketing.store import migrate, tables  # noqa: E402
from ticketing.store.db import make_engine  # noqa: E402

START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
CHANNELS = ("email", "phone", "telegram", "instagram", "webchat")
TOPICS = ("insentif", "otp", "nik", "akun", "pelatihan", "rekening", "gelombang")


def _business_minutes(calendar: BusinessCalendar, start: dt.datetime,
                      end: dt.datetime | None) -> int | None:
    # What the SLA service stores once a target is fulfilled: the clock's consumed business
    # minutes (these histories have no pauses, so it is the business time between the two).
    if end is None:
        return None
    return business_time_between(calendar, start, end) // dt.timedelta(minutes=1)


def seed(engine: sa.Engine, n: int, calendar: BusinessCalendar, chunk: int = 20_000,
         returning: float = 0.0) -> float:
    """``returning``: the share of tickets opened by a citizen who already has one (one of the
    last 50,000 customers), so that distinct citizens differ from tickets."""
    rng = random.Random(9)
    rng_customers = random.Random(10)  # apart, so that the tickets are the same at any share
    customer_of: list[int] = []
    # Tickets are created as first messages arrive: ids and first contacts grow together, as
    # live (and so the report's index on first contacts is filled in order, not at random).
    offsets = sorted(rng.randrange(30 * 86400) for _ in range(n))
    began = time.perf_counter()
    for lo in range(1, n + 1, chunk):
        ids = range(lo, min(lo + chunk, n + 1))
        tickets, customers, messages = [], [], []
        for i in ids:
            first = START + dt.timedelta(seconds=offsets[i - 1])
            answered = rng.random() < 0.7
            late = rng.random() < 0.15
            due = first + dt.timedelta(hours=rng.choice([4, 20, 28, 70]))
            responded = (due + dt.timedelta(minutes=rng.randrange(1, 600)) if late
                         else first + (due - first) * rng.random()) if answered else None
            resolved = responded + dt.timedelta(hours=rng.randrange(1, 96)) \
                if responded and rng.random() < 0.55 else None
            if customer_of and rng_customers.random() < returning:
                cid = rng_customers.choice(customer_of[-50_000:])
            else:
                cid = len(customer_of) + 1
                customer_of.append(cid)
                customers.append({"id": cid, "display_name": None, "name_key": None,
                                  "created_at": first, "merged_into_id": None})
            tickets.append({
                "id": i, "customer_id": cid, "status": "resolved" if resolved else
                rng.choice(["new", "open", "pending_customer"]), "priority": "normal",
                "topic": rng.choice(TOPICS), "channel": rng.choice(CHANNELS), "subject": "x",
                "message_count": 1, "created_at": first, "updated_at": first,
                "first_message_at": first, "last_message_at": first,
                "first_response_at": responded, "resolved_at": resolved,
                "first_response_due_at": due,
                "first_response_state": ("breached" if late else "met") if answered
                else rng.choice(["running", "breached"]),
                "resolution_due_at": first + dt.timedelta(hours=80),
                "resolution_state": "met" if resolved else "running",
                "sla_check_at": None if resolved else due - dt.timedelta(minutes=30),
                "sla_policy": "standard", "sla_policy_version": 1, "sla_calendar": "wib",
                "sla_calendar_version": 1, "sla_signals": {},
                "first_response_business_minutes": _business_minutes(calendar, first, responded),
                "resolution_business_minutes": _business_minutes(calendar, first, resolved)})
            messages.append({"id": i, "ticket_id": i, "customer_id": cid, "direction": "in",
                             "channel": tickets[-1]["channel"], "external_id": f"s-{i}",
                             "body": "x", "sent_at": first, "received_at": first,
                             "attachments": [], "extra": {}})
        with engine.begin() as conn:
            conn.execute(tables.customers.insert(), customers)
            if engine.dialect.name == "postgresql":
                # As ingest writes them: many rows per statement (PostgreSQL's report trigger
                # runs once per INSERT statement, not once per row).  RETURNING makes SQLAlchemy
                # send them as multi-row INSERTs ("insertmanyvalues", 1,000 rows a statement).
                conn.execute(tables.tickets.insert().returning(tables.tickets.c.id), tickets)
            else:
                conn.execute(tables.tickets.insert(), tickets)
            conn.execute(tables.messages.insert(), messages)
    if engine.dialect.name == "postgresql":
        # What the worker does as it goes: the triggers' rollup deltas folded in.
        t0 = time.perf_counter()
        with engine.begin() as conn:
            folded = fold_rollup(conn)
        print(f"[postgresql] folded {folded:,} rollup deltas in {time.perf_counter() - t0:.1f} s",
              flush=True)
        # What autovacuum does soon after a bulk load: statistics, and the visibility map that
        # lets the report read its covering index without visiting the table.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - began


def reuse(kind: str, name: str) -> tuple[str, object]:
    if kind == "sqlite":
        return f"sqlite:///{Path('/tmp') / f'{name}.db'}", None
    url = sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    return url, None


def timed(fn, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    if repeat > 1:
        print("   runs: " + ", ".join(f"{r:.2f}" for r in runs), flush=True)
    return statistics.median(runs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--kinds", default="sqlite,postgresql")
    p.add_argument("--name", default=None, help="database name (default bench_sla_<n>)")
    p.add_argument("--keep", action="store_true", help="keep the database afterwards")
    p.add_argument("--reuse", action="store_true",
                   help="time a database kept by an earlier --keep run instead of seeding")
    p.add_argument("--repeat", type=int, default=3, help="report runs per grouping (median)")
    p.add_argument("--returning", type=float, default=0.0,
                   help="share of tickets from citizens who already have one (default 0)")
    p.add_argument("--groups", default="channel,topic,day,agent,team", help="groupings timed")
    args = p.parse_args(argv)
    now = START + dt.timedelta(days=30)
    name = args.name or f"bench_sla_{args.n}"
    setup = App(settings=Settings(config_dir=str(ROOT / "config")),
                clock=FixedClock(now)).sla_setup
    rows = []
    for kind in args.kinds.split(","):
        if args.reuse:
            url, drop = reuse(kind, name)
        else:
            url, drop = database(kind, name)
        engine = make_engine(url)
        migrate.upgrade(engine)
        if not args.reuse:
            seconds = seed(engine, args.n, setup.calendars["wib"], returning=args.returning)
            print(f"[{kind}] seeded {args.n:,} tickets in {seconds:.0f} s", flush=True)
        t = tables.tickets
        due = (sa.select(t.c.id).where(t.c.sla_check_at <= sa.bindparam("now"))
               .order_by(t.c.sla_check_at).limit(500))
        with engine.connect() as conn:
            n_due = len(conn.execute(due, {"now": now}).all())
            due_s = timed(lambda: conn.execute(due, {"now": now}).all())
            reports = {}
            for group in args.groups.split(","):
                reports[group] = timed(lambda: sla_report(
                    conn, start=dt.date(2026, 3, 1), end=dt.date(2026, 4, 1), group_by=group,
                    now=now), repeat=args.repeat)
                # The machine is shared: say how busy it was.
                print(f"[{kind}] by {group}: median {reports[group]:.2f} s, load average "
                      f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        rows.append((kind, n_due, due_s, reports))
        print(kind, n_due, due_s, reports, flush=True)
        engine.dispose()
        if not args.keep:
            drop()
    groups = args.groups.split(",")
    print("\n| database | tickets | due-set query (500 of them) | "
          + " | ".join(f"report by {g}" for g in groups) + " |\n|---|---:|---:|"
          + "---:|" * len(groups))
    for kind, n_due, due_s, rep in rows:
        print(f"| {kind} | {args.n:,} | {due_s * 1000:.1f} ms | "
              + " | ".join(f"{rep[g]:.2f} s" for g in groups) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
