"""Issue 3 speed: the identity + topic + dedup decision per message, with 1,000,000 stored
customers and 1,000,000 open tickets, against a database holding 10,000 of each.

Seeds each database with fast Core bulk inserts (customers with a phone identity, one open ticket
and its first message each), then feeds a generated stream (bench/generate.py) one message per
transaction through the real pipeline (``prepare`` + the ``STEPS`` of services/ingest/pipeline.py), timing
the decision part (evidence, duplicate check, locks, customer resolution, candidate tickets,
ticket choice, incident candidates) apart from the write and the commit.  Half the measured
messages are rewritten to come from seeded customers, so lookups hit as well as miss.

    .venv/bin/python bench/dedup_scale.py [--sizes 10000,1000000] [--kinds sqlite,postgresql]
                                          [--messages 2000]
Prints p50/p99 per size and the ingest-rate ratio; appends nothing by itself (copy the table
into docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from generate import generate  # noqa: E402

from ticketing.app import App, settle_for_throughput  # noqa: E402
from ticketing.domain.raw import RawDelivery  # noqa: E402
from ticketing.services import ingest  # noqa: E402
from ticketing.services.clock import FixedClock  # noqa: E402
from ticketing.services.ingest.batch import Batch  # noqa: E402
from ticketing.settings import Settings  # noqa: E402
from ticketing.store import inbox as inbox_store  # noqa: E402
from ticketing.store import migrate, tables  # noqa: E402
from ticketing.store.db import make_engine  # noqa: E402
from ticketing.store.ids import IdAllocator  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TOPICS = ("insentif", "otp", "nik", "akun", "pelatihan", "rekening", "gelombang")
SEED_AT = dt.datetime(2026, 3, 20, 3, 0, tzinfo=dt.UTC)


def seeded_phone(i: int) -> str:
    return f"+62812{i:08d}"


def seed(engine: sa.Engine, n: int, chunk: int = 20_000) -> float:
    """n customers, each with a phone identity, one open ticket and one message."""
    started = time.perf_counter()
    rng = random.Random(5)
    for start in range(1, n + 1, chunk):
        ids = range(start, min(start + chunk, n + 1))
        with engine.begin() as conn:
            conn.execute(tables.customers.insert(), [
                {"id": i, "display_name": f"Warga {i}", "name_key": f"{i} warga",
                 "created_at": SEED_AT, "merged_into_id": None} for i in ids])
            conn.execute(tables.tickets.insert(), [
                {"id": i, "customer_id": i, "status": "open", "priority": "normal",
                 "topic": TOPICS[rng.randrange(7)], "channel": "webchat", "subject": "seed",
                 "message_count": 1, "created_at": SEED_AT, "updated_at": SEED_AT,
                 "first_message_at": SEED_AT - dt.timedelta(minutes=i % 10_000),
                 "last_message_at": SEED_AT - dt.timedelta(minutes=i % 10_000)}
                for i in ids])
            conn.execute(tables.messages.insert(), [
                {"id": i, "ticket_id": i, "customer_id": i, "direction": "in",
                 "channel": "webchat", "external_id": f"seed-{i}", "body": "seed",
                 "sent_at": SEED_AT, "received_at": SEED_AT, "attachments": [], "extra": {}}
                for i in ids])
            conn.execute(tables.identities.insert(), [
                {"id": i, "customer_id": i, "kind": "phone", "value": seeded_phone(i),
                 "source": "sender", "evidence_message_id": i, "created_at": SEED_AT}
                for i in ids])
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for t in ("customers", "tickets", "messages", "identities"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), {n})")
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


def stream(n: int, seeded: int) -> list[bytes]:
    rng = random.Random(11)
    out = []
    for msg in generate(n, seed=9, start=dt.datetime(2026, 3, 21, 8, 0, tzinfo=dt.UTC)):
        if rng.random() < 0.5:
            msg["sender"] = {"phone": seeded_phone(rng.randrange(1, seeded + 1)),
                             "name": msg["sender"].get("name")}
            msg.pop("in_reply_to", None)
        out.append(json.dumps(msg).encode())
    return out


def measure(app: App, payloads: list[bytes]) -> dict[str, Any]:
    engine, policy = app.engine, app.ingest_policy
    decide_ms: list[float] = []
    total_ms: list[float] = []
    cut = list(ingest.STEPS).index(ingest.step_write)
    steps, after = list(ingest.STEPS)[:cut], list(ingest.STEPS)[cut:]  # decide | write + after
    started = time.perf_counter()
    for n, payload in enumerate(payloads):
        t0 = time.perf_counter()
        raw = RawDelivery(channel="api", key=f"bench:{uuid.uuid4()}", payload=payload,
                          content_type=ingest.NORMALIZED_JSON)
        with engine.begin() as conn:
            [stored] = inbox_store.put_many(conn, [raw], app.clock.now())
        with engine.begin() as conn:
            claimed = inbox_store.claim(conn, limit=1, ids=[stored.id])
            t1 = time.perf_counter()
            [prep] = ingest.prepare(claimed, policy)
            work = ingest.Work(raw=claimed[0], msg=prep.msg, outcome=prep.outcome, error=prep.error)
            if prep.evidence is not None:
                work.evidence = prep.evidence
            batch = Batch(conn=conn, now=app.clock.now(), ids=IdAllocator(conn, block=1),
                          policy=policy, works=[work])
            for step in steps:
                step(batch)
            t2 = time.perf_counter()
            for step in after:
                step(batch)
            inbox_store.finish(conn, [(claimed[0].id, "done", None)], app.clock.now())
        t3 = time.perf_counter()
        decide_ms.append((t2 - t1) * 1000)
        total_ms.append((t3 - t0) * 1000)
    elapsed = time.perf_counter() - started
    q = statistics.quantiles
    return {"messages": len(payloads), "decide_p50_ms": statistics.median(decide_ms),
            "decide_p99_ms": q(decide_ms, n=100)[98], "total_p50_ms": statistics.median(total_ms),
            "total_p99_ms": q(total_ms, n=100)[98], "rate": len(payloads) / elapsed}


def database(kind: str, name: str) -> tuple[str, Any]:
    if kind == "sqlite":
        path = Path("/tmp") / f"{name}.db"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    url = sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    return url, drop


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,1000000")
    p.add_argument("--kinds", default="sqlite,postgresql")
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--keep", action="store_true", help="keep the databases")
    args = p.parse_args(argv)
    rows = []
    for kind in args.kinds.split(","):
        base_rate = None
        for size in (int(s) for s in args.sizes.split(",")):
            url, drop = database(kind, f"bench_dedup_{size}")
            engine = make_engine(url)
            migrate.upgrade(engine)
            seconds = seed(engine, size)
            print(f"[{kind}] seeded {size:,} customers/tickets in {seconds:.0f} s", flush=True)
            app = App(settings=Settings(database_url=url, config_dir=str(ROOT / "config")),
                      clock=FixedClock(dt.datetime(2026, 3, 21, 9, 0, tzinfo=dt.UTC)))
            app.__dict__["engine"] = engine
            measure(app, stream(200, size))  # warm caches and connections
            settle_for_throughput(app)  # as `serve` and `worker` do after start-up
            result = measure(app, stream(args.messages, size))
            base_rate = base_rate or result["rate"]
            result.update(kind=kind, size=size, vs_smallest=result["rate"] / base_rate - 1)
            rows.append(result)
            print(json.dumps(result), flush=True)
            engine.dispose()
            if not args.keep:
                drop()
    print("\n| database | stored customers = open tickets | decision p50 | decision p99 | "
          "whole message p50 / p99 (commit incl.) | msg/s | rate vs smallest |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['kind']} | {r['size']:,} | {r['decide_p50_ms']:.2f} ms | "
              f"{r['decide_p99_ms']:.2f} ms | {r['total_p50_ms']:.2f} / {r['total_p99_ms']:.2f} ms"
              f" | {r['rate']:,.0f} | {r['vs_smallest']:+.1%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
