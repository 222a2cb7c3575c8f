"""Webhook acceptance rate and latency (issue 12): updates/s accepted into the inbox by ONE
``uvicorn`` process serving the real HTTP app (``create_http_app``), on SQLite and PostgreSQL.

A client process-less load: ``--conns`` keep-alive HTTP/1.1 connections on asyncio streams in
this process (a hand-written request writer, so the client costs little), each posting its
share of N distinct updates with the right ``X-Telegram-Bot-Api-Secret-Token``; every 200 comes
only after the update's inbox row is committed (group commit).  The baseline, measured in the
same run against the same server: ``GET /healthz`` (the framework's floor: routing, no body, no
database).  Reported: accepted/s (N / wall time), p50/p99 latency per request, the ratio to the
baseline's rate, and a check that the inbox holds exactly N rows.  No worker runs (acceptance
only; the worker's own rate is measured in bench/ingest.py and bench/telegram_poll.py).

    .venv/bin/python bench/telegram_webhook.py                 # N=5000, 3 runs, both databases
    .venv/bin/python bench/telegram_webhook.py --quick         # N=2000, 1 run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from telegram_common import (ROOT, SECRET, TEXTS, database, env_for, free_port,  # noqa: E402
                             median, percentile, update)

SERVER = """
import uvicorn
from ticketing.app import build_app, settle_for_throughput
from ticketing.entrypoints.server import create_http_app
app = build_app()
settle_for_throughput(app)  # as ``ticketing serve`` does
uvicorn.run(create_http_app(app), host="127.0.0.1", port={port}, log_level="warning",
            access_log=False)
"""


async def _one_connection(port: int, requests: list[bytes], lat: list[float]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    ok = 0
    for req in requests:
        t0 = time.perf_counter()
        writer.write(req)
        status = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        if length:
            await reader.readexactly(length)
        lat.append(time.perf_counter() - t0)
        ok += status.split()[1] == b"200"
    writer.close()
    return ok


async def _load(port: int, requests: list[bytes], conns: int) -> tuple[float, list[float], int]:
    lat: list[float] = []
    shares = [requests[i::conns] for i in range(conns)]
    t0 = time.perf_counter()
    oks = await asyncio.gather(*(_one_connection(port, s, lat) for s in shares))
    return time.perf_counter() - t0, lat, sum(oks)


def _post(uid: int) -> bytes:
    body = json.dumps(update(uid, 100_000 + uid % 997, TEXTS[uid % len(TEXTS)])).encode()
    return (b"POST /channels/telegram/webhook HTTP/1.1\r\nHost: bench\r\n"
            b"Content-Type: application/json\r\nX-Telegram-Bot-Api-Secret-Token: "
            + SECRET.encode() + b"\r\nContent-Length: " + str(len(body)).encode()
            + b"\r\n\r\n" + body)


def _cpu(pid: int) -> float:
    """User + system CPU seconds of the server process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_up(port: int) -> None:
    for _ in range(200):
        try:
            asyncio.run(_load(port, [b"GET /healthz HTTP/1.1\r\nHost: b\r\n\r\n"], 1))
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def run(kind: str, n: int, conns: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-c", SERVER.format(port=port)],
                                env=env_for(url, "http://127.0.0.1:9"), cwd=tmp)
        try:
            _wait_up(port)
            base = [b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"] * n
            b_wall, b_lat, _ = asyncio.run(_load(port, base, conns))
            # Warm-up (not counted): the sink's writer, the pool's connections.
            asyncio.run(_load(port, [_post(i) for i in range(n + 1, n + 201)], conns))
            posts = [_post(i) for i in range(1, n + 1)]
            cpu0 = _cpu(proc.pid)
            wall, lat, ok = asyncio.run(_load(port, posts, conns))
            cpu = _cpu(proc.pid) - cpu0
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT count(*) FROM inbox")).scalar_one()
        engine.dispose()
    return {"rate": n / wall, "p50_ms": percentile(lat, 50) * 1000,
            "p99_ms": percentile(lat, 99) * 1000, "p999_ms": percentile(lat, 99.9) * 1000, "ok": ok, "stored": stored - 200,
            "base_rate": n / b_wall, "cpu_ms": cpu / n * 1000, "base_p99_ms": percentile(b_lat, 99) * 1000}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=5000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--conns", type=int, default=16)
    p.add_argument("--kinds", default="sqlite,postgresql")
    p.add_argument("--quick", action="store_true")
    a = p.parse_args()
    if a.quick:
        a.n, a.runs = 2000, 1
    print(f"| database | accepted/s (median of {a.runs}) | p50 ms | p99 ms | /healthz req/s "
          "(baseline) | ratio | server CPU ms/update | inbox rows = N |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for kind in a.kinds.split(","):
        runs = [run(kind, a.n, a.conns) for _ in range(a.runs)]
        rate = median([r["rate"] for r in runs])
        base = median([r["base_rate"] for r in runs])
        print(f"| {kind} | {rate:,.0f} | {median([r['p50_ms'] for r in runs]):.1f} | "
              f"{median([r['p99_ms'] for r in runs]):.1f} | {base:,.0f} | {rate / base:.2f} | "
              f"{median([r['cpu_ms'] for r in runs]):.2f} | "
              f"{all(r['stored'] == a.n == r['ok'] for r in runs)} |", flush=True)


if __name__ == "__main__":
    main()
