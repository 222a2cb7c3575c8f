"""Web chat under load (issue 13): N concurrent chat sessions on one server process, each
sending a message every ``--every`` seconds for ``--duration`` seconds over a real WebSocket,
while an agent answers through the REST API.

The server is this script in ``--serve`` mode: one process running the HTTP app with the web
chat (uvicorn with ``ticketing serve``'s socket options), and beside it, as ``ticketing serve``
runs it, one worker process (``--work``: the worker loop, which builds the tickets from the
inbox behind the acknowledgements), on a fresh SQLite file built by the migrations (or
``--database-url``, an empty PostgreSQL database).

Figures:

* **send→stored**: from writing a ``message`` frame to its ``ack``, which the server sends only
  after the commit of the raw frame to the inbox (``time.monotonic()`` of this process);
* **send→on ticket**: from writing it to the ``stored`` frame that says the worker has put it
  on a ticket (what the agent then sees);
* **reply→screen**: from the API's answer to ``POST /api/v1/tickets/{id}/replies`` (the reply
  committed) to the reply's frame arriving on the citizen's socket.
* **lost / duplicated**: every message sent must be acknowledged and stored exactly once
  (``messages`` rows per external id, read from the database afterwards); every reply must
  arrive exactly once.
* **memory per idle session**: the server's RSS (``/proc/<pid>/status``) with N sessions open
  and idle, minus before they connected, divided by N.
* **baseline, same run**: send→stored of one session alone, before the load; the ratio is the
  load's median over it.

    .venv/bin/python bench/webchat_load.py                      # 500 sessions, 60 s
    .venv/bin/python bench/webchat_load.py --duration 15        # a short run
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def bench_app(database_url: str) -> Any:
    from ticketing.app import App
    from ticketing.services.clock import SystemClock
    from ticketing.settings import load_settings

    settings = dataclasses.replace(load_settings(ROOT / "config"), database_url=database_url,
                                   webchat_ip_messages_per_minute=1_000_000,
                                   webchat_messages_per_minute=120,
                                   webchat_sessions_per_ip=1_000_000,
                                   ack_enabled=False)
    app = App(settings=settings, clock=SystemClock())
    app.ingest_policy  # noqa: B018
    return app


def serve(database_url: str, port: int) -> None:
    import uvicorn

    from ticketing.app import settle_for_throughput
    from ticketing.entrypoints.server import WEBSOCKET_OPTIONS, create_http_app

    app = bench_app(database_url)
    settle_for_throughput(app)
    uvicorn.run(create_http_app(app), host="127.0.0.1", port=port, log_level="warning",
                **WEBSOCKET_OPTIONS)


def work(database_url: str) -> None:
    import signal
    import threading

    from ticketing.app import settle_for_throughput
    from ticketing.entrypoints.worker import worker_loop

    app = bench_app(database_url)
    settle_for_throughput(app)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker_loop(app, stop)


def prepare(database_url: str) -> str:
    """Schema by the migrations, one agent and an API token."""
    from ticketing.services import accounts
    from ticketing.services.clock import SystemClock
    from ticketing.store import migrate
    from ticketing.store.db import make_engine

    engine = make_engine(database_url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        accounts.create_user(conn, email="bench@example.id", name="Petugas Bench",
                             role="supervisor", password="bench-password-123",
                             clock=SystemClock())
        token = accounts.create_token(conn, email="bench@example.id", clock=SystemClock())
    engine.dispose()
    return token


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


@dataclasses.dataclass
class Citizen:
    token: str
    sid: str
    ws: Any = None
    ticket: int | None = None
    sent: dict[str, float] = dataclasses.field(default_factory=dict)
    acked: dict[str, float] = dataclasses.field(default_factory=dict)
    landed: dict[str, float] = dataclasses.field(default_factory=dict)
    replies_seen: dict[int, int] = dataclasses.field(default_factory=dict)


class Load:
    def __init__(self, base: str, api_token: str) -> None:
        self.base, self.api = base, api_token
        self.reply_sent: dict[int, float] = {}
        self.reply_lat: list[float] = []
        self.ack_lat: list[float] = []
        self.landed_lat: list[float] = []
        self.dup_acks = 0
        self.reply_errors: list[str] = []

    async def session(self, client: Any, i: int) -> Citizen:
        r = await client.post(f"{self.base}/channels/webchat/sessions",
                              json={"name": f"Warga {i}", "topic": "otp"})
        r.raise_for_status()
        return Citizen(token=r.json()["session"], sid=r.json()["session_id"])

    async def connect(self, c: Citizen) -> None:
        import websockets

        url = self.base.replace("http://", "ws://") + f"/channels/webchat/ws?session={c.token}"
        c.ws = await websockets.connect(url, max_size=1 << 20, ping_interval=None)

    async def reader(self, c: Citizen) -> None:
        async for raw in c.ws:
            now = time.monotonic()
            f = json.loads(raw)
            if f["type"] == "ack":
                if f["client_id"] in c.acked:
                    self.dup_acks += 1
                    continue
                c.acked[f["client_id"]] = now
                self.ack_lat.append(now - c.sent[f["client_id"]])
            elif f["type"] == "stored":
                if f["client_id"] not in c.landed:
                    c.landed[f["client_id"]] = now
                    self.landed_lat.append(now - c.sent[f["client_id"]])
                c.ticket = f.get("ticket_id") or c.ticket
            elif f["type"] == "message" and f.get("from") == "agent":
                c.replies_seen[f["id"]] = c.replies_seen.get(f["id"], 0) + 1
                if f["id"] in self.reply_sent and c.replies_seen[f["id"]] == 1:
                    self.reply_lat.append(now - self.reply_sent[f["id"]])

    async def sender(self, c: Citizen, every: float, until: float, offset: float) -> None:
        await asyncio.sleep(offset)
        n = 0
        while time.monotonic() < until:
            cid = f"m{n}"
            n += 1
            c.sent[cid] = time.monotonic()
            await c.ws.send(json.dumps({"type": "message", "client_id": cid,
                                        "text": f"Kode OTP tidak masuk, percobaan ke-{n}"}))
            await asyncio.sleep(every)

    async def agent(self, client: Any, citizens: list[Citizen], every: float,
                    until: float) -> None:
        """Answers each citizen's ticket about every ``every`` seconds, a few at a time."""
        sem = asyncio.Semaphore(8)

        async def answer(c: Citizen) -> None:
            async with sem:
                try:
                    r = await client.post(f"{self.base}/api/v1/tickets/{c.ticket}/replies",
                                          json={"body": "Baik, kami cek ya."},
                                          headers={"Authorization": f"Bearer {self.api}"})
                except Exception as exc:  # counted, not fatal: the figure says how many
                    self.reply_errors.append(repr(exc)[:100])
                    return
                if r.status_code == 201:
                    self.reply_sent[r.json()["message_id"]] = time.monotonic()
                else:
                    self.reply_errors.append(f"{r.status_code} {r.text[:100]}")
        step = every / max(len(citizens), 1)
        tasks: list[asyncio.Task[None]] = []
        while time.monotonic() < until:
            for c in citizens:
                if time.monotonic() >= until:
                    break
                if c.ticket is not None:
                    tasks.append(asyncio.get_running_loop().create_task(answer(c)))
                await asyncio.sleep(step)
        await asyncio.gather(*tasks)


async def run(args: argparse.Namespace, base: str, api_token: str, pid: int) -> dict[str, Any]:
    import httpx

    load = Load(base, api_token)
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=50)) as client:
        # Baseline: one session alone, messages one after another.
        solo = await load.session(client, -1)
        await load.connect(solo)
        reader = asyncio.create_task(load.reader(solo))
        await asyncio.sleep(0.5)
        for i in range(30):
            solo.sent[f"b{i}"] = time.monotonic()
            await solo.ws.send(json.dumps({"type": "message", "client_id": f"b{i}",
                                           "text": "Kode OTP tidak masuk"}))
            give_up = time.monotonic() + 10
            while f"b{i}" not in solo.acked and time.monotonic() < give_up:
                await asyncio.sleep(0.002)
        give_up = time.monotonic() + (10 if not args.no_worker else 0)
        while len(solo.landed) < 30 and time.monotonic() < give_up:
            await asyncio.sleep(0.01)
        baseline = list(load.ack_lat)
        baseline_landed = list(load.landed_lat)
        load.ack_lat.clear()
        load.landed_lat.clear()
        await solo.ws.close()
        reader.cancel()

        # Warm-up: the code paths of a connection run once before memory is measured.
        warm = [await load.session(client, -2 - i) for i in range(20)]
        await asyncio.gather(*(load.connect(c) for c in warm))
        await asyncio.sleep(1.0)
        for c in warm:
            await c.ws.close()
        await asyncio.sleep(1.0)
        rss0 = rss_kb(pid)
        citizens = [await load.session(client, i) for i in range(args.sessions)]
        for start in range(0, len(citizens), 50):
            await asyncio.gather(*(load.connect(c) for c in citizens[start:start + 50]))
        readers = [asyncio.create_task(load.reader(c)) for c in citizens]
        await asyncio.sleep(3.0)  # histories and queue frames read; all idle
        rss1 = rss_kb(pid)

        t0 = time.monotonic()
        until = t0 + args.duration
        senders = [asyncio.create_task(load.sender(c, args.every, until,
                                                   args.every * i / len(citizens)))
                   for i, c in enumerate(citizens)]
        agent = asyncio.create_task(load.agent(client, citizens, args.reply_every, until))
        await asyncio.gather(*senders, agent)
        load_during = os.getloadavg()
        deadline = time.monotonic() + args.grace
        while time.monotonic() < deadline and (
                any(len(c.acked) < len(c.sent)
                    or (len(c.landed) < len(c.acked) and not args.no_worker)
                    for c in citizens)
                or len(load.reply_lat) < len(load.reply_sent)):
            await asyncio.sleep(0.2)
        elapsed = time.monotonic() - t0
        for c in citizens:
            await c.ws.close()
        for r in readers:
            r.cancel()
    sent = sum(len(c.sent) for c in citizens)
    acked = sum(len(c.acked) for c in citizens)
    landed = sum(len(c.landed) for c in citizens)
    replies_received = sum(len(c.replies_seen) for c in citizens)
    replies_twice = sum(1 for c in citizens for n in c.replies_seen.values() if n > 1)
    return {"citizens": citizens, "sent": sent, "acked": acked, "elapsed": elapsed,
            "landed": landed, "landed_lat": load.landed_lat, "baseline_landed": baseline_landed,
            "load_during": load_during,
            "baseline": baseline, "ack": load.ack_lat, "reply": load.reply_lat,
            "replies_sent": len(load.reply_sent), "replies_received": replies_received,
            "replies_twice": replies_twice, "dup_acks": load.dup_acks,
            "reply_errors": load.reply_errors,
            "idle_kb_per_session": (rss1 - rss0) / max(args.sessions, 1),
            "rss_kb": (rss0, rss1)}


def stored_counts(database_url: str) -> tuple[int, int]:
    """(distinct web chat messages stored, rows beyond one per external id)."""
    import sqlalchemy as sa

    from ticketing.store import tables
    from ticketing.store.db import make_engine

    m = tables.messages
    engine = make_engine(database_url)
    with engine.connect() as conn:
        per = conn.execute(sa.select(m.c.external_id, sa.func.count()).where(
            m.c.channel == "webchat", m.c.direction == "in").group_by(m.c.external_id)).all()
    engine.dispose()
    return len(per), sum(n - 1 for _, n in per)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--every", type=float, default=2.0, help="seconds between messages")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--reply-every", type=float, default=10.0,
                        help="seconds between two replies to one citizen")
    parser.add_argument("--grace", type=float, default=15.0)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--serve", nargs=2, metavar=("URL", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--work", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--no-worker", action="store_true",
                        help="no worker process: acknowledgements only (tickets never built; "
                             "isolates the ack path from the workers' write transactions)")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return 0
    if args.work:
        work(args.work)
        return 0
    folder = Path(tempfile.mkdtemp(prefix="webchat-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    token = prepare(url)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TICKETING_ATTACHMENT_DIR": str(folder / "att")}
    load_before = os.getloadavg()
    server = subprocess.Popen([sys.executable, __file__, "--serve", url, str(port)], env=env,
                              cwd=ROOT)
    worker = (subprocess.Popen([sys.executable, __file__, "--work", url], env=env, cwd=ROOT)
              if not args.no_worker else None)
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        out = asyncio.run(run(args, base, token, server.pid))
    finally:
        server.terminate()
        server.wait(timeout=20)
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=20)
    distinct, extra_rows = stored_counts(url)
    expected = out["acked"] + 30  # the baseline's 30
    ms = [x * 1000 for x in out["ack"]]
    base_ms = [x * 1000 for x in out["baseline"]]
    reply_ms = [x * 1000 for x in out["reply"]]
    db = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"web chat load: {args.sessions} sessions, a message every {args.every:g} s each, "
          f"{args.duration:g} s, {db}; agent reply to each every {args.reply_every:g} s")
    print(f"messages sent {out['sent']}, acknowledged {out['acked']}, lost "
          f"{out['sent'] - out['acked']}, stored {distinct} (expected {expected}), duplicated "
          f"rows {extra_rows}, duplicate acks {out['dup_acks']}; "
          f"{out['acked'] / out['elapsed']:.0f} msg/s")
    print(f"load average before {load_before[0]:.2f}, at the end of the load "
          f"{out['load_during'][0]:.2f} (2 cores, shared with other work)")
    print(f"send→stored (ack, committed to the inbox) ms: median {statistics.median(ms):.1f}, "
          f"p95 {pct(ms, 95):.1f}, p99 {pct(ms, 99):.1f}, max {max(ms):.1f}; baseline (one "
          f"session alone) median {statistics.median(base_ms):.1f}; ratio "
          f"{statistics.median(ms) / statistics.median(base_ms):.2f}")
    lms = [x * 1000 for x in out["landed_lat"]]
    blms = [x * 1000 for x in out["baseline_landed"]]
    if lms:
        print(f"send→on ticket (worker built it, 'stored' frame) ms: {out['landed']} of "
              f"{out['acked']}; median {statistics.median(lms):.1f}, p95 {pct(lms, 95):.1f}, "
              f"p99 {pct(lms, 99):.1f}, max {max(lms):.1f}; baseline median "
              f"{statistics.median(blms) if blms else float('nan'):.1f}")
    if reply_ms:
        print(f"replies refused or failed at the API {len(out['reply_errors'])} "
              f"{sorted(set(out['reply_errors']))[:3]}")
        print(f"replies sent {out['replies_sent']}, received {out['replies_received']}, twice "
              f"{out['replies_twice']}; reply→screen ms: median {statistics.median(reply_ms):.1f}, "
              f"p95 {pct(reply_ms, 95):.1f}, p99 {pct(reply_ms, 99):.1f}, max {max(reply_ms):.1f}")
    rss0, rss1 = out["rss_kb"]
    print(f"server RSS {rss0} kB → {rss1} kB with {args.sessions} idle sessions: "
          f"{out['idle_kb_per_session']:.1f} kB per idle session")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
