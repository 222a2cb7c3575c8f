"""Ticket and customer F1 and false merges per category of message, this tree against a baseline
commit, in the same run.

    .venv/bin/python bench/eval_categories.py STREAM.jsonl LABELS.jsonl [--baseline REF]

Each engine ingests the stream into a fresh SQLite database through the real CLI (``ticketing db
upgrade``, ``ingest jsonl``, ``export messages``), as ``bench/eval_stream.py`` does; the baseline
is ``git archive REF`` unpacked to a temporary directory and run with this venv's packages and its
own ``config/``.  Scores are pairwise: a category's figures count the message pairs with at least
one message of that category (labels without a ``category`` are all ``all``).  Prints a Markdown
table (before → after) and the overall scorer line of each engine.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import os
import subprocess
import sys
import statistics
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PY = ROOT / ".venv" / "bin" / "python"
CLI = "import sys; sys.path.insert(0, sys.argv.pop(1)); from ticketing.entrypoints.cli import main; sys.exit(main())"


def ingest(tree: Path, stream: Path, tmp: Path, timings: list[float] | None = None
           ) -> dict[tuple[str, str], dict[str, Any]]:
    db = tmp / f"{tree.name}.db"
    db.unlink(missing_ok=True)
    env = {**os.environ, "TICKETING_DATABASE_URL": f"sqlite:///{db}",
           "TICKETING_CONFIG_DIR": str(tree / "config")}
    out = tmp / f"{tree.name}.assignments.jsonl"
    for args in (["db", "upgrade"], ["ingest", "jsonl", str(stream.resolve()), "--quiet"],
                 ["export", "messages", "--out", str(out)]):
        started = time.perf_counter()
        done = subprocess.run([str(PY), "-c", CLI, str(tree), *args], env=env, cwd=tree,
                              capture_output=True, text=True)
        if args[0] == "ingest" and timings is not None:
            timings.append(time.perf_counter() - started)
        if done.returncode != 0:
            sys.exit(f"{tree}: {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
    return {(a["channel"], str(a["external_id"])): a
            for a in map(json.loads, out.open(encoding="utf-8"))}


def pairs(groups: dict[str, list[int]]) -> set[tuple[int, int]]:
    return {p for members in groups.values() for p in itertools.combinations(sorted(members), 2)}


def prf(gold: set[tuple[int, int]], got: set[tuple[int, int]]) -> tuple[float, float, float]:
    tp = len(gold & got)
    p = tp / len(got) if got else 1.0
    r = tp / len(gold) if gold else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def score(labels: list[dict[str, Any]], got: dict[tuple[str, str], dict[str, Any]]
          ) -> dict[str, dict[str, float]]:
    gold_t: dict[str, list[int]] = collections.defaultdict(list)
    gold_c: dict[str, list[int]] = collections.defaultdict(list)
    got_t: dict[str, list[int]] = collections.defaultdict(list)
    got_c: dict[str, list[int]] = collections.defaultdict(list)
    for i, lab in enumerate(labels):
        gold_t[lab["gold_ticket"]].append(i)
        gold_c[lab["gold_customer"]].append(i)
        a = got[(lab["channel"], str(lab["external_id"]))]
        got_t[str(a["ticket_id"])].append(i)
        got_c[str(a["customer_id"])].append(i)
    gt, gc, pt, pc = pairs(gold_t), pairs(gold_c), pairs(got_t), pairs(got_c)
    cats = sorted({lab.get("category", "all") for lab in labels})
    out: dict[str, dict[str, float]] = {}
    for cat in ["ALL", *cats]:
        def keep(ps: set[tuple[int, int]], cat: str = cat) -> set[tuple[int, int]]:
            if cat == "ALL":
                return ps
            return {(a, b) for a, b in ps if cat in (labels[a].get("category", "all"),
                                                     labels[b].get("category", "all"))}
        _, tr, tf = prf(keep(gt), keep(pt))
        _, _, cf = prf(keep(gc), keep(pc))
        fm = sum(1 for a, b in keep(pt) if labels[a]["gold_customer"] != labels[b]["gold_customer"])
        n = len(labels) if cat == "ALL" else sum(1 for lab in labels
                                                 if lab.get("category", "all") == cat)
        out[cat] = {"messages": n, "ticket_recall": tr, "ticket_f1": tf, "customer_f1": cf,
                    "false_merges": fm}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stream", type=Path)
    ap.add_argument("labels", type=Path)
    ap.add_argument("--baseline", default="main", help="git ref of the 'before' engine")
    ap.add_argument("--repeat", type=int, default=1,
                    help="ingest N times per engine, alternating, for the speed figures")
    args = ap.parse_args()
    labels = [json.loads(x) for x in args.labels.open(encoding="utf-8") if x.strip()]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        base = tmp / "baseline"
        base.mkdir()
        archive = tmp / "baseline.tar"
        subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), args.baseline],
                       check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(base, filter="data")
        t_before: list[float] = []
        t_after: list[float] = []
        for _ in range(max(1, args.repeat)):
            got_before = ingest(base, args.stream, tmp, t_before)
            got_after = ingest(ROOT, args.stream, tmp, t_after)
        before, after = score(labels, got_before), score(labels, got_after)
    print(f"{args.stream.name}: before = {args.baseline}, after = this tree\n")
    print("| category | messages | ticket recall | ticket F1 | customer F1 | false merges |")
    print("|---|---:|---:|---:|---:|---:|")
    for cat, b in before.items():
        a = after[cat]
        cells = " | ".join(f"{b[k]:.4f} → {a[k]:.4f}" for k in
                           ("ticket_recall", "ticket_f1", "customer_f1"))
        print(f"| {cat} | {b['messages']:.0f} | {cells} | "
              f"{b['false_merges']:.0f} → {a['false_merges']:.0f} |")
    n = len(labels)
    mb, ma = statistics.median(t_before), statistics.median(t_after)
    print(f"\ningest (CLI process, start-up included), median of {len(t_after)}: "
          f"before {n / mb:.0f} msg/s, after {n / ma:.0f} msg/s, after/before {mb / ma:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
