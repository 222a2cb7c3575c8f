"""The webhook's group commit on PostgreSQL, without HTTP: how long one group of raw events
takes to be stored and committed, the old way (``put_many`` in a write transaction: BEGIN, id
reservation, INSERT ... RETURNING, replay look-up, COMMIT) against the new one
(``put_many_statement`` in autocommit: one statement, one round trip), interleaved in one run
on a fresh database, for groups of 1, 4 and 16 events (what 1, 4 or 16 waiting requests make).

    .venv/bin/python bench/instagram_inbox_commit.py [--groups 300]

Prints, per group size and way: median and p99 milliseconds per group, events/s of one writer
thread, and the ratio old ÷ new; plus the load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

from ticketing.domain.raw import RawDelivery  # noqa: E402
from ticketing.store import inbox as inbox_store  # noqa: E402
from ticketing.store.db import Transactions  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--groups", type=int, default=300)
    args = parser.parse_args()
    name = f"bench_igc_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETING_")}
    env.update({"TICKETING_DATABASE_URL": url, "TICKETING_CONFIG_DIR": str(ROOT / "config")})
    try:
        subprocess.run([str(ROOT / ".venv" / "bin" / "ticketing"), "db", "upgrade"], env=env,
                       check=True, capture_output=True, cwd=tempfile.gettempdir())
        engine = sa.create_engine(url)
        uow = Transactions(engine)
        now = dt.datetime.now(dt.UTC)
        payload = (b'{"object":"instagram","entry":[{"id":"17841400000000001","time":1,'
                   b'"messaging":[{"sender":{"id":"9000000000000001"},"message":{"mid":"m",'
                   b'"text":"Min, dana Prakerja saya belum cair"}}]}]}')
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print("| events per group | way | median ms per group | p99 ms | events/s (one writer) "
              "| ratio old ÷ new (median) |")
        print("|---|---|---|---|---|---|")
        serial = iter(range(10**9))
        for size in (1, 4, 16):
            times: dict[str, list[float]] = {"old": [], "new": []}
            for _ in range(args.groups):
                for way in ("old", "new"):  # interleaved
                    group = [RawDelivery(channel="instagram", key=f"msg:instagram:{next(serial)}",
                                         payload=payload, content_type="application/json",
                                         meta={"source": "bench"}) for _ in range(size)]
                    t0 = time.perf_counter()
                    if way == "old":
                        with uow.write() as conn:
                            inbox_store.put_many(conn, group, now)
                    else:
                        with uow.connect_autocommit() as conn:
                            inbox_store.put_many_statement(conn, group, now)
                    times[way].append(time.perf_counter() - t0)
            medians = {w: statistics.median(t) * 1000 for w, t in times.items()}
            for way in ("old", "new"):
                ordered = sorted(times[way])
                p99 = ordered[int(0.99 * (len(ordered) - 1))] * 1000
                print(f"| {size} | {way} | {medians[way]:.2f} | {p99:.2f} | "
                      f"{size / (medians[way] / 1000):.0f} | "
                      f"{medians['old'] / medians['new']:.2f} |")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
