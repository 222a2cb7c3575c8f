"""Throughput and latency of the Instagram webhook (issue 14): signed events verified and stored.

One server process (uvicorn with the web app and API, as ``ticketing serve`` runs them, without
the worker: the webhook only stores) on a fresh database (SQLite file, or a fresh PostgreSQL
database), ``ticketing db upgrade`` first.  C concurrent clients (one asyncio loop, httpx) post N
Meta-shaped bodies of one DM event each, every one signed with the app secret
(``X-Hub-Signature-256``); the server checks the HMAC, splits the body, commits the event into
the inbox through the group-commit sink and only then answers 200.

Figures per run: **events/s** = N / wall time of the client; **p50 / p99** latency of the posts;
the **baseline** is the same clients against ``GET /healthz`` (the HTTP floor of this machine,
same run), and the ratio is webhook events/s over baseline requests/s.  Checked after the run:
exactly N inbox rows (nothing lost, nothing twice), then N replays of already stored events
(Meta's retries) timed too.

    .venv/bin/python bench/instagram_webhook.py              # N=3000, SQLite and PostgreSQL, 3 runs
    .venv/bin/python bench/instagram_webhook.py --quick      # N=1000, 1 run
    .venv/bin/python bench/instagram_webhook.py --ref main   # also the server of git ref
                                                             # `main`, interleaved, same run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-app-secret"
sys.path.insert(0, str(ROOT))

from channels.instagram.webhook import sign  # noqa: E402

SERVER = """
import uvicorn
from ticketing.app import build_app
from ticketing.entrypoints.server import create_http_app
app = build_app()
app.ingest_policy
uvicorn.run(create_http_app(app), host="127.0.0.1", port=int({port}), log_level="warning")
"""


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def body(n: int, run: str, per_body: int) -> bytes:
    """Meta's shape; ``per_body`` events in one body (Meta batches events when they pile up)."""
    events = [{"sender": {"id": str(9_100_000_000_000_000 + n * per_body + k)},
               "recipient": {"id": "17841400000000001"}, "timestamp": 1772442000000 + n,
               "message": {"mid": f"aWdfZAG1bench{run}{n:08d}x{k:03d}",
                           "text": f"Min, dana Prakerja saya belum cair ({n}/{k})"}}
              for k in range(per_body)]
    return json.dumps({"object": "instagram", "entry": [
        {"id": "17841400000000001", "time": 1772442000000 + n, "messaging": events}]}).encode()


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   raw: bytes) -> int:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


def _raw(port: int, path: str, body: bytes | None) -> bytes:
    if body is None:
        return f"GET {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n\r\n".encode()
    return (f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
            f"x-hub-signature-256: {sign(SECRET, body)}\r\n\r\n").encode() + body


async def blast(port: int, path: str, bodies: list[bytes] | None, n: int, clients: int
                ) -> tuple[float, list[float]]:
    """A lean keep-alive HTTP/1.1 client (raw asyncio streams), so that on this shared 2-core
    machine the client's own CPU stays small beside the server's; requests are built (and
    signed, as Meta does) before the clock starts."""
    raws = [_raw(port, path, bodies[i] if bodies else None) for i in range(n)]
    latencies: list[float] = []
    queue = list(range(n))

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while queue:
                i = queue.pop()
                t0 = time.perf_counter()
                status = await _request(reader, writer, raws[i])
                latencies.append(time.perf_counter() - t0)
                if status != 200:
                    raise RuntimeError(f"status {status}")
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - start, latencies


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def ref_tree(ref: str) -> Path:
    """The code of git ``ref`` (``git archive``), for its server to be measured beside ours."""
    where = Path(tempfile.mkdtemp(prefix="bench-ig-ref-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where


def one_run(db: str, n: int, clients: int, per_body: int,
            code: Path | None = None) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-ig-"))
    pg_name = None
    if db == "sqlite":
        url = f"sqlite:///{tmp / 'ticketing.db'}"
    else:
        pg_name = f"bench_ig_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{pg_name}"')
        admin.dispose()
        url = sa.make_url(PG_ADMIN).set(database=pg_name).render_as_string(hide_password=False)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETING_")}
    env.update({"TICKETING_DATABASE_URL": url, "TICKETING_CONFIG_DIR": str(ROOT / "config"),
                "TICKETING_META_APP_SECRET": SECRET, "TICKETING_LOG_LEVEL": "WARNING",
                "TICKETING_ATTACHMENT_DIR": str(tmp / "attachments")})
    if code is not None:  # the reference's packages come first on the server's path
        env["PYTHONPATH"] = str(code)
    subprocess.run([str(BIN / "ticketing"), "db", "upgrade"], env=env, cwd=tmp, check=True,
                   capture_output=True)
    server = subprocess.Popen([str(BIN / "python"), "-c", SERVER.format(port=port)], env=env,
                              cwd=tmp)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.1)
        run = uuid.uuid4().hex[:6]
        posts = n // per_body
        bodies = [body(i, run, per_body) for i in range(posts)]
        hook = "/channels/instagram/webhook"
        floor_time, _ = asyncio.run(blast(port, "/healthz", None, posts, clients))
        hook_time, latencies = asyncio.run(blast(port, hook, bodies, posts, clients))
        replay_time, replay_lat = asyncio.run(blast(port, hook, bodies, posts, clients))
        n = posts * per_body
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT count(*) FROM inbox WHERE channel = 'instagram'").scalar_one()
        engine.dispose()
        if rows != n:
            raise RuntimeError(f"{rows} inbox rows for {n} events")
        return {"db": db, "n": n, "events_per_s": n / hook_time, "p50_ms": pct(latencies, 0.5),
                "p99_ms": pct(latencies, 0.99), "baseline_per_s": posts / floor_time,
                "replays_per_s": n / replay_time, "replay_p99_ms": pct(replay_lat, 0.99)}
    finally:
        server.terminate()
        server.wait(timeout=15)
        if pg_name:
            admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--per-body", type=int, nargs="+", default=[1, 10],
                        help="events per webhook body (Meta batches them)")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--ref", help="also measure the server of this git ref (e.g. main), "
                                      "runs interleaved with this tree's")
    args = parser.parse_args()
    trees: list[tuple[str, Path | None]] = [("this tree", None)]
    if args.ref:
        trees.insert(0, (f"ref {args.ref}", ref_tree(args.ref)))
    n, runs = (1000, 1) if args.quick else (args.n, args.runs)
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"{args.clients} clients, {n} events, {runs} run(s) each, median shown", flush=True)
    print("| code | database | events per body | events/s (median) | p50 ms | p99 ms | "
          "baseline GET /healthz req/s | ratio | replays/s | replay p99 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for db, per_body in [(d, p) for d in dbs for p in args.per_body]:
        by_tree: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in trees}
        for _ in range(runs):  # interleaved: the machine's load hits both alike
            for name, code in trees:
                by_tree[name].append(one_run(db, n, args.clients, per_body, code))
        for name, results in by_tree.items():
            _row(name, db, per_body, results)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _row(name: str, db: str, per_body: int, results: list[dict[str, Any]]) -> None:
    def med(key: str) -> float:
        return statistics.median(r[key] for r in results)
    print(f"| {name} | {db} | {per_body} | {med('events_per_s'):.0f} | {med('p50_ms'):.1f} | "
          f"{med('p99_ms'):.1f} | {med('baseline_per_s'):.0f} | "
          f"{med('events_per_s') / med('baseline_per_s'):.2f} | "
          f"{med('replays_per_s'):.0f} | {med('replay_p99_ms'):.1f} |", flush=True)


if __name__ == "__main__":
    main()
