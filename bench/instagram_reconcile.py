"""One reconciliation pass of the Instagram poller (issue 14): 50 posts × 200 comments, 95 %
of them already stored by the webhook, on SQLite and PostgreSQL.

The posts are instaloader ``Post`` structures built from JSON (as ``load_structure`` loads them:
every comment in the post's own edges, so instaloader asks nothing), with the network blocked.
Timed per run:

* **instaloader alone** (the baseline, same run): iterating the 10,000 comments of the
  structures through ``channels.instagram.reconcile.comments_since`` (instaloader's
  ``get_comments`` and ``PostComment``; our loop around it is a few lines), no database — the
  stand-in's share;
* **the pass**: ``reconcile_once`` — the same iteration, then the known keys looked up (9,500,
  in chunks of 500), the 500 new comments and the high-water mark written in one transaction.
  **Our time** = pass − instaloader alone.  A second pass (everything known now, resumed from
  the mark) is timed too.

    .venv/bin/python bench/instagram_reconcile.py            # 3 runs each, medians
    .venv/bin/python bench/instagram_reconcile.py --quick    # 1 run each
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
sys.path.insert(0, str(ROOT))

from instaloader import Instaloader, Post  # noqa: E402

from channels.instagram.reconcile import as_delivery, comments_since  # noqa: E402
from ticketing.app import App  # noqa: E402
from ticketing.entrypoints.instagram_poll import reconcile_once  # noqa: E402
from ticketing.services.clock import FixedClock  # noqa: E402
from ticketing.settings import Settings  # noqa: E402
from ticketing.store import inbox as inbox_store  # noqa: E402

POSTS, PER_POST, KNOWN = 50, 200, 0.95
T0 = 1772400000


def _blocked(*_: Any, **__: Any) -> Any:
    raise RuntimeError("network blocked in the bench")


def structures() -> list[dict[str, Any]]:
    owner = {"id": "55500011", "username": "prakerja"}
    out = []
    for p in range(POSTS):
        edges = [{"node": {"id": str(17_865_000_000_000_000 + p * PER_POST + c),
                           "created_at": T0 + p * 600 + c, "text": f"Komentar {c} di post {p}",
                           "owner": {"id": str(800_000 + c), "username": f"warga_{c}"},
                           "edge_liked_by": {"count": 0},
                           "edge_threaded_comments": {"count": 0, "edges": []}}}
                 for c in range(PER_POST)]
        out.append({"shortcode": f"Bench{p:04d}", "id": str(3_500_000_000_000_000_000 + p),
                    "taken_at_timestamp": T0 + p * 600, "owner": owner,
                    "edge_media_to_comment": {"count": PER_POST},
                    "edge_media_to_parent_comment": {"count": PER_POST, "edges": edges}})
    return out


def posts(loader: Instaloader) -> list[Post]:
    return [Post(loader.context, node) for node in structures()]


def database(db: str, tmp: Path) -> tuple[str, str | None]:
    if db == "sqlite":
        url = f"sqlite:///{tmp / 'ticketing.db'}"
        name = None
    else:
        name = f"bench_igr_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
        url = sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETING_")}
    env.update({"TICKETING_DATABASE_URL": url, "TICKETING_CONFIG_DIR": str(ROOT / "config")})
    subprocess.run([str(BIN / "ticketing"), "db", "upgrade"], env=env, cwd=tmp, check=True,
                   capture_output=True)
    return url, name


def one_run(db: str, loader: Instaloader) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-igr-"))
    url, pg_name = database(db, tmp)
    clock = FixedClock(dt.datetime(2026, 3, 3, tzinfo=dt.UTC))
    app = App(settings=Settings(database_url=url, config_dir=str(ROOT / "config"),
                                instagram_accounts=("prakerja",), instagram_max_posts=POSTS),
              clock=clock)
    try:
        t = time.perf_counter()
        found = list(comments_since("prakerja", posts(loader), None, max_posts=POSTS))
        alone = time.perf_counter() - t
        deliveries = [as_delivery(c, {"source": "webhook"}) for c in found]
        known = [d for i, d in enumerate(deliveries) if i % 20 != 0]  # 95 %
        with app.uow.write() as conn:
            inbox_store.put_many(conn, known, clock.now())
        t = time.perf_counter()
        first = reconcile_once(app, lambda _: posts(loader))
        pass_time = time.perf_counter() - t
        assert (first.found, first.stored) == (POSTS * PER_POST, len(deliveries) - len(known)), \
            first
        clock.advance(minutes=5)
        t = time.perf_counter()
        second = reconcile_once(app, lambda _: posts(loader))
        second_time = time.perf_counter() - t
        assert second.stored == 0, second
        return {"alone": alone, "pass": pass_time, "ours": pass_time - alone,
                "second": second_time}
    finally:
        app.close()
        if pg_name:
            admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    requests.adapters.HTTPAdapter.send = _blocked  # type: ignore[method-assign]
    loader = Instaloader(quiet=True)
    loader.context.load_session("bench", {"csrftoken": "t", "sessionid": "s"})
    runs = 1 if args.quick else args.runs
    print("| database | instaloader alone s (baseline) | pass s | our time s | ratio pass / "
          "baseline | second pass (all known, from the mark) s |")
    print("|---|---|---|---|---|---|")
    for db in ("sqlite", "postgresql"):
        results = [one_run(db, loader) for _ in range(runs)]

        def med(key: str, results: list[dict[str, float]] = results) -> float:
            return statistics.median(r[key] for r in results)
        print(f"| {db} | {med('alone'):.2f} | {med('pass'):.2f} | {med('ours'):.2f} | "
              f"{med('pass') / med('alone'):.2f} | {med('second'):.2f} |", flush=True)


if __name__ == "__main__":
    main()
