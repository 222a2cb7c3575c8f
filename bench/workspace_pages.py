"""The agents' pages under load (issue 15): ``/queue`` with filters and ``/tickets/{id}`` p95,
against the real HTTP app (uvicorn on a loopback port, in this process) on SQLite or
PostgreSQL, with concurrent signed-in clients.

    .venv/bin/python bench/workspace_pages.py [--tickets 50000] [--users 20] [--requests 400]
        [--db sqlite|postgresql]

Data: tests/data/dev.jsonl (3,497 messages, ~1,800 tickets with their conversations) ingested
through the pipeline, then its tickets copied (rows only, as SQL insert-select) up to
``--tickets``, so the queue's filters, counts and sorting work on that many.  Each of
``--users`` threads signs in once and sends its share of requests, cycling through the pages
below.  The baseline, measured in the same run with the same clients, is ``/healthz`` (the
app's cheapest answer): the ratio says what the page costs beyond the HTTP round trip.
Prints median and p95 per page.  The clients run in the server's process (one interpreter
lock for both) unless ``--separate`` runs them in a child process (one interpreter for the
server, one for the clients, as a real deployment has).  Prints the load average before and
after.  Noisy on a shared 2-core machine: run briefly, read ratios.

Far below the issue's 1,000,000 tickets / 3,000,000 messages: that dataset is not built here.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import queue
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ticketing.app import App  # noqa: E402
from ticketing.domain.raw import RawDelivery, message_key  # noqa: E402
from ticketing.entrypoints.server import create_http_app  # noqa: E402
from ticketing.services import accounts  # noqa: E402
from ticketing.services.clock import SystemClock  # noqa: E402
from ticketing.services.ingest import NORMALIZED_JSON, store_and_process  # noqa: E402
from ticketing.settings import DEFAULT_TEST_PG_URL, Settings  # noqa: E402
from ticketing.store import tables  # noqa: E402
from ticketing.store.migrate import upgrade  # noqa: E402

PAGES = ("/queue", "/queue?status=new&channel=email", "/queue?sla=breached&sort=new",
         "/queue?topic=otp&language=id&page=3", "/queue?assignee=none&team=akun",
         "/queue?sort=updated", "/queue?topic=otp&sort=updated")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fill(app: App, tickets: int) -> list[int]:
    lines = (ROOT / "tests/data/dev.jsonl").read_bytes().splitlines()
    raws = []
    for line in lines:
        item = json.loads(line)
        raws.append(RawDelivery(channel="api", key=message_key(item["channel"],
                                                               item["external_id"]),
                                payload=line, content_type=NORMALIZED_JSON))
    for start in range(0, len(raws), 500):
        store_and_process(app.uow, raws[start:start + 500], policy=app.ingest_policy,
                          clock=app.clock)
    t = tables.tickets
    with app.engine.begin() as conn:
        originals = [int(i) for i in conn.execute(sa.select(t.c.id).order_by(t.c.id)).scalars()]
        cols = [c for c in t.c if c.name not in ("id", "incident_id") and c.computed is None]
        have = len(originals)
        while have < tickets:  # doubling: copy the first ``take`` rows of what is there
            take = min(have, tickets - have)
            src = sa.select(*cols).order_by(t.c.id).limit(take)
            conn.execute(t.insert().from_select([c.name for c in cols], src))
            have += take
        # (Until 2026-12-06 04:30 the copy took only the ~1,800 original rows a round while
        # counting ``take``: "10,000" was ~7,200 tickets and "200,000" ~14,800.)
        have = int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
        accounts.create_user(conn, email="bench@example.id", name="Bench", role="supervisor",
                             password="bench-password", clock=app.clock)
    return originals


def _client(base: str, cookies: httpx.Cookies, paths: list[str],
            out: dict[str, list[float]], lock: threading.Lock) -> None:
    with httpx.Client(base_url=base, timeout=60, cookies=cookies) as c:
        for path in paths:
            start = time.perf_counter()
            r = c.get(path)
            took = (time.perf_counter() - start) * 1000
            assert r.status_code == 200, (path, r.status_code)
            key = path.split("?")[0] if path.startswith("/tickets/") else path
            key = "/tickets/{id}" if key.startswith("/tickets/") else key
            with lock:
                out.setdefault(key, []).append(took)


def _run_clients(base: str, cookies: dict[str, str], plans: list[list[str]],
                 results: Any) -> None:
    """The clients' threads (in a child process with ``--separate``); timings to ``results``."""
    out: dict[str, list[float]] = {}
    lock = threading.Lock()
    jar = httpx.Cookies(cookies)
    threads = [threading.Thread(target=_client, args=(base, jar, p, out, lock)) for p in plans]
    start = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    results.put((out, time.perf_counter() - start))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=50_000)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--separate", action="store_true",
                    help="run the clients in a child process")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-ws-"))
    url = (f"sqlite:///{tmp / 'b.db'}" if args.db == "sqlite" else
           os.environ.get("TICKETING_TEST_PG_URL", DEFAULT_TEST_PG_URL))
    if args.db == "postgresql":
        admin = sa.create_engine(url.rsplit("/", 1)[0] + "/postgres",
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("DROP DATABASE IF EXISTS bench_workspace"))
            conn.execute(sa.text("CREATE DATABASE bench_workspace"))
        url = url.rsplit("/", 1)[0] + "/bench_workspace"
    upgrade(sa.create_engine(url))
    app = App(settings=Settings(database_url=url, config_dir=str(ROOT / "config"),
                                attachment_dir=str(tmp / "att"),
                                dev_mailbox_dir=str(tmp / "mail")), clock=SystemClock())
    t0 = time.perf_counter()
    originals = _fill(app, args.tickets)
    if args.db == "postgresql":
        with app.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
    with app.engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(tables.tickets)).scalar_one()
    print(f"filled {n} tickets on {args.db} in {time.perf_counter() - t0:.0f} s")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_http_app(app), host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    per_user = max(1, args.requests // args.users)
    plans = []
    for u in range(args.users):
        paths = []
        for i in range(per_user):
            k = u * per_user + i
            paths.append(["/healthz", PAGES[k % len(PAGES)],
                          f"/tickets/{originals[(k * 37) % len(originals)]}"][k % 3])
        plans.append(paths)
    with httpx.Client(base_url=base) as c:  # one sign-in (the throttle counts per client)
        c.post("/login", data={"email": "bench@example.id", "password": "bench-password"})
        cookies = dict(c.cookies)
    for path in ("/healthz", *PAGES, f"/tickets/{originals[0]}"):  # warm up once each
        httpx.get(base + path, cookies=cookies, timeout=60)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.separate:
        ctx = multiprocessing.get_context("spawn")
        results = ctx.Queue()
        child = ctx.Process(target=_run_clients, args=(base, cookies, plans, results))
        child.start()
        out, wall = results.get()
        child.join()
    else:
        q: queue.Queue[Any] = queue.Queue()
        _run_clients(base, cookies, plans, q)
        out, wall = q.get()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    base_med = statistics.median(out["/healthz"])
    print(f"{args.users} users ({'child process' if args.separate else 'server process'}), "
          f"{sum(map(len, out.values()))} requests in {wall:.1f} s")
    print(f"{'page':<45} {'n':>4} {'median ms':>10} {'p95 ms':>8} {'median/baseline':>16}")
    for key in sorted(out, key=lambda k: (k != "/healthz", k)):
        xs = sorted(out[key])
        p95 = xs[min(len(xs) - 1, int(len(xs) * 0.95))]
        print(f"{key:<45} {len(xs):>4} {statistics.median(xs):>10.1f} {p95:>8.1f} "
              f"{statistics.median(xs) / base_med:>16.1f}")
    server.should_exit = True
    app.close()


if __name__ == "__main__":
    main()
