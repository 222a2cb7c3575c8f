"""Grouping under concurrency: a labelled stream posted by several concurrent clients to
``ticketing serve`` (``POST /api/v1/inbound``) with extra ``ticketing worker`` processes, on one
PostgreSQL, scored against the same stream ingested in order by one client.

    .venv/bin/python bench/concurrent_order.py [--citizens 400] [--seed 99] [--posters 8]
        [--workers 2] [--split chunks|interleave] [--compare-off]

``--split chunks``: poster i posts the i-th contiguous slice of the stream (a backlog replayed by
8 clients: messages hours and days apart are processed at the same time); ``interleave``: poster
i posts every 8th message (small disorder).  ``--compare-off`` repeats the concurrent run with
``TICKETING_INGEST_REGROUP_LATE=0`` (the late rules off) to show what they recover and cost.
Prints ticket F1, customer F1, false merges and messages per second of each run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
SCORER = ROOT / "tests" / "data" / "score_dedup.py"
PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
sys.path.insert(0, str(ROOT / "bench"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Desk:
    """A fresh PostgreSQL database, ``ticketing serve`` and N ``ticketing worker`` processes."""

    def __init__(self, tmp: Path, workers: int, regroup: bool) -> None:
        self.name = f"bench_order_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
        admin.dispose()
        self.url = sa.make_url(PG_ADMIN).set(database=self.name).render_as_string(
            hide_password=False)
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETING_")}
        self.env.update({
            "TICKETING_DATABASE_URL": self.url, "TICKETING_CONFIG_DIR": str(ROOT / "config"),
            "TICKETING_HTTP_PORT": str(self.port), "TICKETING_SMTP_PORT": str(free_port()),
            "TICKETING_ACK_ENABLED": "0", "TICKETING_LOG_LEVEL": "WARNING",
            "TICKETING_OUTBOUND_SMTP_URL": f"smtp://127.0.0.1:{free_port()}",
            "TICKETING_ATTACHMENT_DIR": str(tmp / "attachments"),
            "TICKETING_TRANSCRIPT_DIR": str(tmp / "transcripts"),
            "TICKETING_INGEST_REGROUP_LATE": "1" if regroup else "0"})
        self.tmp, self.workers = tmp, workers
        self.procs: list[subprocess.Popen[bytes]] = []

    def cli(self, *args: str) -> str:
        return subprocess.run([str(BIN / "ticketing"), *args], env=self.env, cwd=self.tmp,
                              check=True, capture_output=True, text=True).stdout

    def start(self) -> str:
        self.cli("db", "upgrade")
        self.cli("users", "create", "--email", "admin@example.id", "--name", "Admin",
                 "--role", "admin", "--password", "bench-password-1")
        token = self.cli("tokens", "create", "--email", "admin@example.id").strip().split()[-1]
        for cmd in (["serve"], *(["worker"] for _ in range(self.workers))):
            log = (self.tmp / f"{cmd[0]}-{len(self.procs)}.log").open("wb")
            self.procs.append(subprocess.Popen([str(BIN / "ticketing"), *cmd], env=self.env,
                                               cwd=self.tmp, stdout=log,
                                               stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2)
                return token
            time.sleep(0.2)
        raise SystemExit("ticketing serve did not answer within 60 s")

    def stop(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        admin.dispose()


def post_all(port: int, token: str, slices: list[list[dict[str, Any]]]) -> float:
    """Each slice posted in order by its own client thread; returns the wall time."""
    errors: list[str] = []

    def poster(rows: list[dict[str, Any]]) -> None:
        for row in rows:
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/inbound", method="POST",
                data=json.dumps(row).encode(), headers={"Authorization": f"Bearer {token}",
                                                        "Content-Type": "application/json"})
            for attempt in range(5):
                try:
                    urllib.request.urlopen(req, timeout=60).read()
                    break
                except Exception as exc:  # a 5xx or a dropped connection: post it again
                    if attempt == 4:
                        errors.append(f"{row['external_id']}: {exc}")
                    time.sleep(0.5)

    threads = [threading.Thread(target=poster, args=(s,)) for s in slices]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        print(f"  {len(errors)} posts failed, e.g. {errors[:3]}")
    return time.perf_counter() - started


def score(desk: Desk, labels: Path) -> dict[str, Any]:
    out = desk.tmp / "assignments.jsonl"
    desk.cli("export", "messages", "--out", str(out))
    done = subprocess.run([sys.executable, str(SCORER), str(labels), str(out)],
                          capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run(rows: list[dict[str, Any]], labels: Path, *, posters: int, workers: int, split: str,
        regroup: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp_name:
        desk = Desk(Path(tmp_name), workers, regroup)
        try:
            token = desk.start()
            if split == "chunks":
                size = -(-len(rows) // posters)
                slices = [rows[i:i + size] for i in range(0, len(rows), size)]
            else:
                slices = [rows[i::posters] for i in range(posters)]
            seconds = post_all(desk.port, token, slices)
            time.sleep(2)  # the workers' last pass (a post that failed mid-way is retried)
            result = score(desk, labels)
        finally:
            desk.stop()
    result["seconds"] = seconds
    result["per_second"] = len(rows) / seconds
    return result


def show(title: str, r: dict[str, Any], base: dict[str, Any] | None = None) -> None:
    extra = ""
    if base is not None:
        extra = (f"; ticket F1 {r['ticket_f1'] - base['ticket_f1']:+.4f} vs in order, "
                 f"rate {r['per_second'] / base['per_second']:.2f}× in-order")
    print(f"{title}: ticket F1 {r['ticket_f1']:.4f}, customer F1 {r['customer_f1']:.4f}, "
          f"false merges {r['false_merge_pairs']}, missing {r['missing']}, "
          f"{r['per_second']:.0f} messages/s{extra}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--citizens", type=int, default=400)
    ap.add_argument("--seed", type=int, default=99)
    ap.add_argument("--posters", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--split", choices=("chunks", "interleave"), default="chunks")
    ap.add_argument("--compare-off", action="store_true")
    args = ap.parse_args()
    from hard_stream import generate

    import datetime as dt
    records, gold = generate(n_citizens=args.citizens, seed=args.seed)
    records.sort(key=lambda r: dt.datetime.fromisoformat(r["sent_at"]))
    with tempfile.TemporaryDirectory() as tmp_name:
        labels = Path(tmp_name) / "labels.jsonl"
        labels.write_text("".join(json.dumps(x) + "\n" for x in gold))
        print(f"{len(records)} messages; {args.posters} posters ({args.split}), serve + "
              f"{args.workers} workers, PostgreSQL; load {os.getloadavg()[0]:.1f}", flush=True)
        base = run(records, labels, posters=1, workers=0, split="chunks", regroup=True)
        show("in order, 1 poster", base)
        got = run(records, labels, posters=args.posters, workers=args.workers,
                  split=args.split, regroup=True)
        show("concurrent, late rules on", got, base)
        if args.compare_off:
            off = run(records, labels, posters=args.posters, workers=args.workers,
                      split=args.split, regroup=False)
            show("concurrent, late rules off", off, base)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
