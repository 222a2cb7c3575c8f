"""Issue 15 figures: live events to many open pages on one serving process.

Starts the web app (``server.create_http_app``, as ``ticketing serve`` runs it) under uvicorn in
a child process over a fresh database, opens ``--connections`` server-sent-event streams
(``GET /events`` with page sessions, raw asyncio sockets in this process), then commits
``--events`` new tickets from this process's own connection (as a worker on another host
would) and records, on every stream, how long after the commit the ``ticket.created`` event
arrived.  The same is measured first with one open stream: the baseline of the ratio.  Also
prints the server's resident memory with all streams open.

    .venv/bin/python bench/sse_bench.py [--connections 500] [--events 20] [--kind sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import socket
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

from ticketing.services import accounts  # noqa: E402
from ticketing.services.clock import SystemClock  # noqa: E402
from ticketing.store import migrate, tables  # noqa: E402
from ticketing.store.db import make_engine  # noqa: E402

SERVER = """
import sys, uvicorn
from ticketing.app import App
from ticketing.services.clock import SystemClock
from ticketing.settings import Settings
from ticketing.entrypoints.server import create_http_app
app = App(settings=Settings(database_url=sys.argv[1], config_dir=sys.argv[2]), clock=SystemClock())
uvicorn.run(create_http_app(app), host="127.0.0.1", port=int(sys.argv[3]), log_level="warning",
            backlog=4096)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sessions(engine: sa.Engine, n: int) -> list[str]:
    clock = SystemClock()
    out = []
    with engine.begin() as conn:
        users = [accounts.create_user(conn, email=f"agent{i}@example.id", name=f"Agent {i}",
                                      role="agent", password="secret-password", clock=clock)
                 for i in range(min(n, 20))]
        for i in range(n):
            out.append(accounts.create_session(conn, user_id=users[i % len(users)],
                                               now=clock.now()))
    return out


def new_ticket(engine: sa.Engine, n: int) -> tuple[int, float]:
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        cid = conn.execute(tables.customers.insert().values(created_at=now)
                           .returning(tables.customers.c.id)).scalar_one()
        tid = conn.execute(tables.tickets.insert().values(
            customer_id=cid, status="new", priority="normal", channel="webchat",
            subject=f"bench {n}", message_count=0, created_at=now, updated_at=now,
            first_message_at=now, last_message_at=now, sla_signals={})
            .returning(tables.tickets.c.id)).scalar_one()
    return int(tid), time.monotonic()


class Page:
    def __init__(self) -> None:
        self.seen: dict[int, float] = {}
        self.ready = asyncio.Event()

    async def run(self, port: int, token: str) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        writer.write(f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     f"Cookie: ticketing_session={token}\r\nAccept: text/event-stream\r\n\r\n"
                     .encode())
        await writer.drain()
        kind = ""
        try:
            while True:
                line = (await reader.readline()).decode().strip()
                if not line and reader.at_eof():
                    return
                if line.startswith("event: "):
                    kind = line[7:]
                    if kind == "hello":
                        self.ready.set()
                elif line.startswith("data: ") and kind == "ticket.created":
                    self.seen[int(json.loads(line[6:])["ticket_id"])] = time.monotonic()
        finally:
            writer.close()


def p95(xs: list[float]) -> float:
    """Nearest rank: a value that was measured."""
    ordered = sorted(xs)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def measure(engine: sa.Engine, port: int, tokens: list[str], events: int,
                  server_pid: int) -> dict[str, Any]:
    pages = [Page() for _ in tokens]
    tasks = [asyncio.create_task(p.run(port, t)) for p, t in zip(pages, tokens, strict=True)]
    t0 = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(p.ready.wait() for p in pages)), timeout=120)
    opened = time.monotonic() - t0
    memory = rss_mb(server_pid)
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    missing = 0
    for n in range(events):
        tid, committed = await loop.run_in_executor(None, new_ticket, engine, n)
        deadline = time.monotonic() + 10
        while any(tid not in p.seen for p in pages) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        for p in pages:
            if tid in p.seen:
                latencies.append((p.seen[tid] - committed) * 1000)
            else:
                missing += 1
        await asyncio.sleep(0.1)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"connections": len(tokens), "open_all_s": round(opened, 2),
            "server_rss_mb": round(memory), "deliveries": len(latencies), "missing": missing,
            "latency_ms_p50": round(statistics.median(latencies), 1),
            "latency_ms_p95": round(p95(latencies), 1), "latency_ms_max": round(max(latencies), 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--connections", type=int, default=500)
    p.add_argument("--events", type=int, default=20)
    p.add_argument("--kind", default="sqlite")
    args = p.parse_args(argv)
    url, drop = database(args.kind, "bench_sse")
    engine = make_engine(url)
    migrate.upgrade(engine)
    tokens = sessions(engine, args.connections)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, url, str(ROOT / "config"),
                               str(port)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        base = asyncio.run(measure(engine, port, tokens[:1], args.events, server.pid))
        many = asyncio.run(measure(engine, port, tokens, args.events, server.pid))
        print(json.dumps({"kind": args.kind, "one": base, "many": many,
                          "p95_ratio_many_to_one": round(many["latency_ms_p95"]
                                                         / base["latency_ms_p95"], 2)},
                         indent=1))
    finally:
        server.terminate()
        server.wait(timeout=15)
        engine.dispose()
        drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
