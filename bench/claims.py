"""Issue 6 figures: claims per second and latency of "claim next" on PostgreSQL over 200,000
open unassigned tickets, with 1, 8 and 32 concurrent claimers, against a bare SKIP LOCKED
claim loop measured in the same run.

Seeds the tickets by Core bulk inserts (one citizen each; 4 teams, 5 channels, 7 topics,
Indonesian and some English, due times spread over 3 days, a few urgent), and a pool of 4,000
agents spread over the teams with the sample's default capacity (5 chats, 25 e-mails ...).  Each claimer is a process
that cycles through its own agents (so no agent goes over capacity, as in real life), and:

* ``bare``: psycopg, one statement per claim — ``UPDATE tickets SET assignee_id = … WHERE id =
  (SELECT id … FROM the queue index of its team ORDER BY … LIMIT 1 FOR UPDATE SKIP LOCKED)`` —
  and a commit: no eligibility, no capacity, no audit;
* ``service``: ``ticketing.services.routing.claim_with`` (what ``claim_next`` runs on a pooled
  connection) through SQLAlchemy: the agent's profile read, eligibility (team, skills, language,
  channel), then one statement that checks the agent's claim sequence, counts spare capacity,
  picks, assigns (only if still unassigned) and audits.

Between runs every claim is undone and the table vacuumed, so each run starts from the same
200,000 waiting tickets.  Prints claims/s, p50 and p99 per run, the medians over ``--repeat``
runs, and service/bare.

    .venv/bin/python bench/claims.py [--tickets 200000] [--claims 16000] [--claimers 1,8,32]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dedup_scale import database  # noqa: E402

from ticketing.domain.routing import routing_config_from  # noqa: E402
from ticketing.models.ticket import QUEUE_WHERE  # noqa: E402
from ticketing.services.clock import SystemClock  # noqa: E402
from ticketing.services.routing import AgentCache, claim_with  # noqa: E402
from ticketing.store import migrate, tables  # noqa: E402
from ticketing.store.db import make_engine  # noqa: E402

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
TEAMS = {"keuangan": ("insentif", "rekening"), "akun": ("otp", "nik", "akun"),
         "program": ("pelatihan", "gelombang"), "umum": ("lainnya",)}
CHANNELS = ("webchat", "email", "telegram", "instagram", "phone")
AGENTS = 4000


def _config() -> Any:
    import tomllib
    with (ROOT / "config" / "routing.toml").open("rb") as fh:
        return routing_config_from(tomllib.load(fh))


def seed(url: str, n: int) -> float:
    engine = make_engine(url)
    migrate.upgrade(engine)
    rng = random.Random(6)
    began = time.perf_counter()
    with engine.begin() as conn:
        # One citizen per ticket, as in real traffic: one shared customer would make every
        # claim's index entries (tickets by customer, audit by customer) collide on one page.
        for lo in range(1, n + 1, 50_000):
            conn.execute(tables.customers.insert(), [
                {"id": i, "created_at": NOW} for i in range(lo, min(lo + 50_000, n + 1))])
        users = [{"id": i, "email": f"agent{i}@bench", "name": f"Agent {i}", "role": "agent",
                  "password_hash": "x", "skills": [], "languages": ["en", "id"], "active": True,
                  "created_at": NOW} for i in range(1, AGENTS + 1)]
        conn.execute(tables.users.insert(), users)
        teams = list(TEAMS)
        conn.execute(tables.agent_profiles.insert(), [
            {"user_id": i, "teams": [teams[i % len(teams)]], "capacity": {}, "status": "online",
             "status_changed_at": NOW, "last_heartbeat_at": NOW, "last_assigned_at": None,
             "updated_at": NOW} for i in range(1, AGENTS + 1)])
    chunk = 20_000
    for lo in range(1, n + 1, chunk):
        rows = []
        for i in range(lo, min(lo + chunk, n + 1)):
            team = rng.choice(teams)
            created = NOW - dt.timedelta(seconds=rng.randrange(3 * 86400))
            urgent = rng.random() < 0.05
            due = created + dt.timedelta(hours=1 if urgent else rng.choice([4, 8, 24]))
            rows.append({
                "id": i, "customer_id": i, "status": rng.choice(["new", "open"]),
                "priority": "urgent" if urgent else "normal", "priority_rank": 0 if urgent else 2,
                "topic": rng.choice(TEAMS[team]), "channel": rng.choice(CHANNELS),
                "language": "en" if rng.random() < 0.05 else "id", "team": team,
                "subject": "x", "message_count": 1, "created_at": created, "updated_at": created,
                "first_message_at": created, "last_message_at": created,
                "first_response_due_at": due, "first_response_state": "running",
                "resolution_due_at": created + dt.timedelta(hours=72),
                "resolution_state": "running", "queue_due_at": due, "sla_signals": {}})
        with engine.begin() as conn:
            conn.execute(tables.tickets.insert(), rows)
    engine.dispose()
    reset(url)
    return time.perf_counter() - began


def reset(url: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("UPDATE tickets SET assignee_id = NULL WHERE assignee_id IS NOT NULL")
        conn.exec_driver_sql("DELETE FROM audit_events")
        conn.exec_driver_sql("VACUUM ANALYZE tickets")
        conn.exec_driver_sql("VACUUM ANALYZE audit_events")
        conn.exec_driver_sql("VACUUM ANALYZE agent_profiles")
    engine.dispose()


BARE = (f"UPDATE tickets SET assignee_id = %s WHERE id = (SELECT id FROM tickets "
        f"WHERE {QUEUE_WHERE} AND team = %s ORDER BY queue_due_at, priority_rank, id "
        f"LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id")


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) of a process on this machine, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _worker(kind: str, url: str, index: int, claimers: int, quota: int, start: Any,
            out: Any) -> None:
    agents = [a for a in range(1, AGENTS + 1) if a % claimers == index]
    teams = list(TEAMS)
    latencies: list[float] = []
    if kind == "bare":
        import psycopg
        dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        pg = psycopg.connect(dsn)
        backend = pg.info.backend_pid
        start.wait()
        cpu0, server0 = time.process_time(), _cpu_of(backend)
        for k in range(quota):
            uid = agents[k % len(agents)]
            t0 = time.perf_counter()
            with pg.cursor() as cur:
                cur.execute(BARE, (uid, teams[uid % len(teams)]))
                cur.fetchone()
            pg.commit()
            latencies.append(time.perf_counter() - t0)
        cpu = (time.process_time() - cpu0, _cpu_of(backend) - server0)
        pg.close()
    else:
        engine = make_engine(url, pool_size=1)
        config = _config()
        clock = SystemClock()
        # A claimer keeps its connection, as an API worker's pool does (no checkout per claim).
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        cache = AgentCache()  # what App.agent_cache is to the API process
        claim_with(conn, agents[0], config=config, clock=clock, cache=cache)  # warm up
        backend = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
        start.wait()
        cpu0, server0 = time.process_time(), _cpu_of(backend)
        for k in range(quota):
            uid = agents[(k + 1) % len(agents)]
            t0 = time.perf_counter()
            got = claim_with(conn, uid, config=config, clock=clock, cache=cache)
            latencies.append(time.perf_counter() - t0)
            if got is None:
                raise SystemExit(f"agent {uid} got nothing: the bench ran out of work")
        cpu = (time.process_time() - cpu0, _cpu_of(backend) - server0)
        conn.close()
        engine.dispose()
    out.put((latencies, cpu))


def run(kind: str, url: str, claimers: int, total: int) -> dict[str, float]:
    ctx = mp.get_context("fork")
    start = ctx.Barrier(claimers + 1)
    out: Any = ctx.Queue()
    quota = total // claimers
    procs = [ctx.Process(target=_worker, args=(kind, url, i, claimers, quota, start, out))
             for i in range(claimers)]
    for p in procs:
        p.start()
    start.wait()
    began = time.perf_counter()
    lat: list[float] = []
    client = server = 0.0
    for _ in procs:
        got, (c, srv) = out.get()
        lat += got
        client, server = client + c, server + srv
    wall = time.perf_counter() - began
    for p in procs:
        p.join()
        if p.exitcode:
            raise SystemExit(f"a {kind} claimer failed")
    lat.sort()
    return {"rate": len(lat) / wall, "p50": lat[len(lat) // 2] * 1000,
            "p99": lat[int(len(lat) * 0.99)] * 1000,
            "client_ms": client / len(lat) * 1000, "server_ms": server / len(lat) * 1000}


def explain(url: str) -> None:
    """The claim statement's plan: an index walk on ix_tickets_queue, no sort."""
    from ticketing.store.routing import _pg_claim_sql
    engine = make_engine(url)
    with engine.connect() as conn:
        params = {"team0": "akun", "channels": list(CHANNELS), "limits": [5] * 5,
                  "languages": ["id", "en"], "any_topic": True, "topics": [], "me": 1,
                  "actor": "user:1", "now": NOW}
        plan = conn.execute(sa.text("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "
                                    + _pg_claim_sql(1)), params).scalars().all()
        print("\n".join(plan))
        conn.rollback()
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tickets", type=int, default=200_000)
    p.add_argument("--claims", type=int, default=16_000, help="claims per run")
    p.add_argument("--claimers", default="1,8,32")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--keep", action="store_true", help="keep the database")
    p.add_argument("--explain", action="store_true", help="print the claim's plan and stop")
    args = p.parse_args(argv)
    url, drop = database("postgresql", "bench_claims")
    try:
        print(f"seeded {args.tickets:,} tickets in {seed(url, args.tickets):.0f} s; "
              f"load {os.getloadavg()[0]:.2f}", flush=True)
        if args.explain:
            explain(url)
            return 0
        results: dict[tuple[str, int], list[dict[str, float]]] = {}
        for rep in range(args.repeat):
            for claimers in (int(c) for c in args.claimers.split(",")):
                total = args.claims if claimers > 1 else args.claims // 4
                for kind in ("bare", "service"):
                    reset(url)
                    load = os.getloadavg()[0]
                    r = run(kind, url, claimers, total)
                    results.setdefault((kind, claimers), []).append(r)
                    print(f"run {rep + 1} {kind:<7} {claimers:>2} claimers: {r['rate']:7.0f} "
                          f"claims/s  p50 {r['p50']:5.2f} ms  p99 {r['p99']:6.2f} ms  "
                          f"CPU/claim client {r['client_ms']:.3f} ms server "
                          f"{r['server_ms']:.3f} ms  (load {load:.2f})", flush=True)
        print("\nservice / bare, paired within each run (the two ran back to back), median:")
        for claimers in (int(c) for c in args.claimers.split(",")):
            pairs = zip(results[("service", claimers)], results[("bare", claimers)], strict=True)
            ratios = [sv["rate"] / bare["rate"] for sv, bare in pairs]
            cpu = [(bare["client_ms"] + bare["server_ms"]) / (sv["client_ms"] + sv["server_ms"])
                   for sv, bare in zip(results[("service", claimers)],
                                       results[("bare", claimers)], strict=True)]
            print(f"  {claimers:>2} claimers: claims/s {statistics.median(ratios):.2f} "
                  f"({', '.join(f'{r:.2f}' for r in ratios)}); CPU per claim "
                  f"{statistics.median(cpu):.2f} ({', '.join(f'{r:.2f}' for r in cpu)})")
        print("\nmedians:")
        print("| claimers | bare claims/s | bare p99 | service claims/s | service p50 | "
              "service p99 | service / bare |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for claimers in (int(c) for c in args.claimers.split(",")):
            med = {k: {m: statistics.median(r[m] for r in results[(k, claimers)])
                       for m in ("rate", "p50", "p99", "client_ms", "server_ms")}
                   for k in ("bare", "service")}
            print(f"| {claimers} | {med['bare']['rate']:,.0f} | {med['bare']['p99']:.1f} ms | "
                  f"{med['service']['rate']:,.0f} | {med['service']['p50']:.2f} ms | "
                  f"{med['service']['p99']:.1f} ms | "
                  f"{med['service']['rate'] / med['bare']['rate']:.2f} |")
        print("\nCPU per claim (medians; client = the claimer process, server = its PostgreSQL "
              "backend):")
        for claimers in (int(c) for c in args.claimers.split(",")):
            row = []
            for k in ("bare", "service"):
                c = statistics.median(r["client_ms"] for r in results[(k, claimers)])
                v = statistics.median(r["server_ms"] for r in results[(k, claimers)])
                row.append(f"{k} {c:.3f} + {v:.3f} = {c + v:.3f} ms")
            print(f"  {claimers:>2} claimers: " + "; ".join(row))
        print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    finally:
        if not args.keep:
            drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
