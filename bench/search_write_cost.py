"""Issue 15: what the search index and the live-event triggers cost the ingest.

The same generated stream (``bench/generate.py``) is ingested through the real CLI
(``ticketing ingest jsonl --quiet``, a subprocess) into a freshly migrated database, with
migration 0033's index and triggers in place ("with") and with them dropped ("without", the
baseline), alternating, ``--pairs`` times; prints messages/s of each run, the medians and the
ratio with/without.

    .venv/bin/python bench/search_write_cost.py [--messages 10000] [--kinds sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dedup_scale import database  # noqa: E402
from generate import generate  # noqa: E402

from ticketing.store import migrate  # noqa: E402
from ticketing.store.db import make_engine  # noqa: E402

DROP = {
    "sqlite": ["DROP TRIGGER messages_fts_insert", "DROP TRIGGER messages_fts_delete",
               "DROP TRIGGER messages_fts_update", "DROP TRIGGER live_messages",
               "DROP TRIGGER live_tickets_created", "DROP TRIGGER live_tickets_assigned",
               "DROP TRIGGER live_notifications"],
    "postgresql": ["DROP INDEX ix_messages_search", "DROP TRIGGER live_messages ON messages",
                   "DROP TRIGGER live_tickets_created ON tickets",
                   "DROP TRIGGER live_tickets_assigned ON tickets",
                   "DROP TRIGGER live_notifications ON notifications"],
}


def once(kind: str, stream: Path, with_search: bool) -> float:
    url, drop = database(kind, "bench_search_write")
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        if not with_search:
            with engine.begin() as conn:
                for statement in DROP[kind]:
                    conn.exec_driver_sql(statement)
        engine.dispose()
        lines = sum(1 for _ in stream.open())
        start = time.perf_counter()
        subprocess.run([str(ROOT / ".venv/bin/ticketing"), "ingest", "jsonl", str(stream),
                        "--quiet"], check=True, cwd=ROOT,
                       env={**os.environ, "TICKETING_DATABASE_URL": url,
                            "TICKETING_CONFIG_DIR": str(ROOT / "config")})
        return lines / (time.perf_counter() - start)
    finally:
        engine.dispose()
        drop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=10_000)
    p.add_argument("--kinds", default="sqlite,postgresql")
    p.add_argument("--pairs", type=int, default=3)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        stream = Path(tmp) / "stream.jsonl"
        with stream.open("w") as fh:
            for msg in generate(args.messages, 15):
                fh.write(json.dumps(msg, ensure_ascii=False) + "\n")
        for kind in args.kinds.split(","):
            runs: dict[str, list[float]] = {"with": [], "without": []}
            for _ in range(args.pairs):
                for label in ("without", "with"):
                    runs[label].append(once(kind, stream, label == "with"))
                    print(f"[{kind}] {label}: {runs[label][-1]:,.0f} msg/s", flush=True)
            med = {k: statistics.median(v) for k, v in runs.items()}
            print(json.dumps({"kind": kind, "messages": args.messages,
                              "median_msg_per_s": {k: round(v) for k, v in med.items()},
                              "with_over_without": round(med["with"] / med["without"], 3)}),
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
