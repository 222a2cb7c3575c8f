"""Does the grouping depend on the order messages arrive in?  The labelled stream is delivered
late by a random delay per message (uniform up to a window: a backlog, a channel that delivers
late, a transcript folder filled at night), ingested in that arrival order with several batch
sizes, and scored against the same stream ingested in ``sent_at`` order.

    .venv/bin/python bench/eval_order.py STREAM.jsonl LABELS.jsonl [--windows 600,3600,14400]
        [--seeds 3] [--batch 1,50,500]

Prints one line per run (window, seed, batch size, ticket F1, customer F1, false merges) and the
largest ticket-F1 gap to the in-order run.  Each run is the real CLI (``ticketing ingest jsonl``)
on a fresh SQLite database and the official scorer, as ``bench/eval_stream.py`` does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
SCORER = ROOT / "tests" / "data" / "score_dedup.py"


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def arrival_order(rows: list[dict[str, Any]], window: float, seed: int) -> list[dict[str, Any]]:
    """Each message arrives ``sent_at`` + U(0, window) seconds later; sorted by arrival."""
    rng = random.Random(seed)
    keyed = [(dt.datetime.fromisoformat(r["sent_at"]).timestamp() + rng.uniform(0, window), i, r)
             for i, r in enumerate(rows)]
    return [r for _, _, r in sorted(keyed)]


def score(rows: list[dict[str, Any]], labels: Path, batch: int, tmp: Path) -> dict[str, Any]:
    db, stream, out = tmp / "order.db", tmp / "stream.jsonl", tmp / "assignments.jsonl"
    for p in (db, out):
        p.unlink(missing_ok=True)
    stream.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                      encoding="utf-8")
    env = {**os.environ, "TICKETING_DATABASE_URL": f"sqlite:///{db}",
           "TICKETING_CONFIG_DIR": str(ROOT / "config"),
           "TICKETING_INGEST_BATCH_SIZE": str(batch)}
    _run([str(BIN / "ticketing"), "db", "upgrade"], env)
    _run([str(BIN / "ticketing"), "ingest", "jsonl", str(stream), "--quiet"], env)
    _run([str(BIN / "ticketing"), "export", "messages", "--out", str(out)], env)
    result: dict[str, Any] = json.loads(_run([sys.executable, str(SCORER), str(labels), str(out)],
                                             env))
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stream", type=Path)
    ap.add_argument("labels", type=Path)
    ap.add_argument("--windows", default="600,3600,14400",
                    help="maximum delays in seconds, comma separated")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--batch", default="1,500", help="ingest batch sizes, comma separated")
    args = ap.parse_args()
    rows = [json.loads(x) for x in args.stream.open(encoding="utf-8") if x.strip()]
    rows.sort(key=lambda r: dt.datetime.fromisoformat(r["sent_at"]))
    labels = args.labels.resolve()
    batches = [int(b) for b in args.batch.split(",")]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        base = score(rows, labels, 500, tmp)
        f1 = base["ticket_f1"]
        print(f"in order: ticket F1 {f1:.4f}, customer F1 {base['customer_f1']:.4f}, "
              f"false merges {base['false_merge_pairs']}")
        worst = 0.0
        for window in (float(w) for w in args.windows.split(",")):
            for seed in range(args.seeds):
                shuffled = arrival_order(rows, window, seed)
                moved = sum(1 for a, b in zip(rows, shuffled) if a is not b)
                for batch in batches:
                    got = score(shuffled, labels, batch, tmp)
                    gap = f1 - got["ticket_f1"]
                    worst = max(worst, gap)
                    print(f"window {window:>6.0f} s seed {seed} batch {batch:>4}: "
                          f"{moved} of {len(rows)} out of place; ticket F1 "
                          f"{got['ticket_f1']:.4f} (gap {gap:+.4f}), customer F1 "
                          f"{got['customer_f1']:.4f}, false merges "
                          f"{got['false_merge_pairs']}", flush=True)
        print(f"largest ticket-F1 gap to the in-order run: {worst:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
