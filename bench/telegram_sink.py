"""The group-commit sink's store path on PostgreSQL (issue 12, the webhook's commit), A/B in
one run: ``transaction`` = what every sink did before (a pooled connection checked out and
pinged, BEGIN, ids reserved with ``nextval``, the INSERT, COMMIT: 5 round trips a batch) and
``statement`` = what it does now (the writer's own autocommit connection, ONE INSERT taking its
ids from the sequence: 1 round trip).  ``--conns`` threads submit N distinct updates in a
closed loop (each waits for its commit, as a webhook request does); the two paths alternate
``--runs`` times so the machine's load falls on both alike.  Reported: medians of updates/s and
of per-update p50/p99 latency, round trips (statements seen) per batch, the ratio, and the load.

    .venv/bin/python bench/telegram_sink.py                  # N=3000, 16 threads, 3 runs each
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from telegram_common import database, median, percentile  # noqa: E402

from sqlalchemy import event  # noqa: E402

from ticketing.domain.raw import RawDelivery  # noqa: E402
from ticketing.services import intake  # noqa: E402
from ticketing.services.clock import SystemClock  # noqa: E402
from ticketing.store import inbox as inbox_store  # noqa: E402
from ticketing.store.db import Transactions, make_engine  # noqa: E402


class TransactionSink(intake.GroupCommitSink):
    """The sink as it was: each batch in a transaction from the pool."""

    def _run(self) -> None:
        while (waiting := self._collect()) is not None:
            try:
                with self._uow.write() as conn:
                    stored = inbox_store.put_many(conn, [d for d, _ in waiting],
                                                  self._clock.now())
            except Exception as exc:  # noqa: BLE001
                for _, done in waiting:
                    done.set_exception(exc)
                continue
            for (_, done), result in zip(waiting, stored, strict=True):
                done.set_result(result.inserted)


def run(url: str, path: str, n: int, conns: int) -> dict[str, float]:
    engine = make_engine(url)
    statements: list[Any] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    pings: list[int] = []
    event.listen(engine, "checkout", lambda *a: pings.append(1))  # pool_pre_ping: one each
    kind = TransactionSink if path == "transaction" else intake.GroupCommitSink
    sink = kind(Transactions(engine), SystemClock(), linger=0.004)
    body = b'{"update_id":1,"message":{"text":"Saldo saya belum masuk"}}'
    lock, lat = threading.Lock(), []
    left = [n]

    def client() -> None:
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            t0 = time.perf_counter()
            sink.submit(RawDelivery(channel="telegram", key=f"telegram:1:{uuid.uuid4().hex}",
                                    payload=body, content_type="application/json")).result()
            lat.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=client) for _ in range(conns)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    sink.close()
    engine.dispose()
    inserts = sum(1 for s in statements if s.startswith('INSERT INTO "inbox"'))
    # BEGIN and COMMIT are the driver's own (not statements): 2 more a batch in a transaction.
    trips = (len(statements) + len(pings) + (2 * inserts if path == "transaction" else 0))
    return {"rate": n / wall, "p50": percentile(lat, 50) * 1000,
            "p99": percentile(lat, 99) * 1000, "trips": trips / max(1, inserts),
            "batch": n / max(1, inserts)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=3000)
    p.add_argument("--conns", type=int, default=16)
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()
    load = os.getloadavg()
    results: dict[str, list[dict[str, float]]] = {"transaction": [], "statement": []}
    with tempfile.TemporaryDirectory() as tmp, database("postgresql", Path(tmp)) as url:
        for _ in range(a.runs):
            for path in results:
                results[path].append(run(url, path, a.n, a.conns))
    print(f"PostgreSQL, {a.conns} threads, N={a.n}, median of {a.runs} alternating runs; load "
          f"{load[0]:.1f} before, {os.getloadavg()[0]:.1f} after (2 cores)")
    print("| store path | updates/s | p50 ms | p99 ms | round trips a batch | mean batch | "
          "ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    base = median([r["rate"] for r in results["transaction"]])
    for path, runs in results.items():
        rate = median([r["rate"] for r in runs])
        print(f"| {path} | {rate:,.0f} | {median([r['p50'] for r in runs]):.1f} | "
              f"{median([r['p99'] for r in runs]):.1f} | {median([r['trips'] for r in runs]):.1f}"
              f" | {median([r['batch'] for r in runs]):.1f} | {rate / base:.2f} |")


if __name__ == "__main__":
    main()
