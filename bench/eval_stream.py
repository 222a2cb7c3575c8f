"""Score the engine end to end on a labelled stream, through the real CLI and the official scorer.

    .venv/bin/python bench/eval_stream.py STREAM.jsonl LABELS.jsonl [--explain [N]] [--keep DB]

Creates a temporary SQLite database (``ticketing db upgrade``), ingests the stream with
``ticketing ingest jsonl --quiet``, exports the message assignments and scores them with
``tests/data/score_dedup.py``; prints the score JSON.  With ``--explain`` it then classifies the
errors and prints the worst N of each class with the messages involved (channel, sender, body
excerpt, the predicted topic) and the engine's audit reason (``ticket.created`` topic/evidence,
``message.appended`` rule, ``customer.merged`` evidence).
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
SCORER = ROOT / "tests" / "data" / "score_dedup.py"


def run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def npairs(n: int) -> int:
    return n * (n - 1) // 2


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stream", type=Path)
    ap.add_argument("labels", type=Path)
    ap.add_argument("--explain", nargs="?", type=int, const=8, default=0,
                    help="show the worst N errors of each class (default 8)")
    ap.add_argument("--keep", type=Path, help="keep the database at this path")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = args.keep.resolve() if args.keep else Path(tmp) / "eval.db"
        if db.exists():
            db.unlink()
        env = {**os.environ, "TICKETING_DATABASE_URL": f"sqlite:///{db}",
               "TICKETING_CONFIG_DIR": str(ROOT / "config")}
        run([str(BIN / "ticketing"), "db", "upgrade"], env)
        run([str(BIN / "ticketing"), "ingest", "jsonl", str(args.stream.resolve()), "--quiet"], env)
        out = Path(tmp) / "assignments.jsonl"
        run([str(BIN / "ticketing"), "export", "messages", "--out", str(out)], env)
        score = run([sys.executable, str(SCORER), str(args.labels.resolve()), str(out)], env)
        print(score.strip())
        if args.explain:
            explain(args.stream, args.labels, out, db, args.explain)
    return 0


def explain(stream: Path, labels_path: Path, assignments: Path, db: Path, top: int) -> None:
    raw = {(r["channel"], str(r["external_id"])): r
           for r in map(json.loads, stream.open(encoding="utf-8"))}
    labels = [json.loads(x) for x in labels_path.open(encoding="utf-8") if x.strip()]
    got = {(a["channel"], str(a["external_id"])): a
           for a in map(json.loads, assignments.open(encoding="utf-8"))}
    conn = sqlite3.connect(db)
    msg_id = {(ch, ext): mid for mid, ch, ext in
              conn.execute("select id, channel, external_id from messages where direction='in'")}
    why: dict[int, dict[str, Any]] = {}
    merged_into: dict[int, list[dict[str, Any]]] = collections.defaultdict(list)
    for kind, data, cust in conn.execute(
            "select kind, data, customer_id from audit_events where kind in "
            "('ticket.created','message.appended','customer.merged','ticket.merged')"):
        d = json.loads(data) if isinstance(data, str) else data
        if kind in ("ticket.created", "message.appended") and "message_id" in d:
            why[d["message_id"]] = {"event": kind, **{k: v for k, v in d.items()
                                                      if k not in ("message_id",)}}
        elif kind == "customer.merged":
            merged_into[cust].append({k: d.get(k) for k in ("source", "message_id", "evidence")})

    key = [(lab["channel"], lab["external_id"]) for lab in labels]
    lab_of = dict(zip(key, labels, strict=True))
    order = {k: i for i, k in enumerate(key)}

    def show(k: tuple[str, str], indent: str = "    ") -> None:
        r, lab, a = raw[k], lab_of[k], got.get(k, {})
        reason = why.get(msg_id.get(k, -1), {})
        brief = {kk: reason[kk] for kk in ("event", "rule", "topic", "topic_evidence", "evidence")
                 if kk in reason and reason[kk] not in (None, "")}
        body = " ".join(r.get("body", "").split())[:230]
        subj = f" subj={r['subject']!r}" if r.get("subject") else ""
        irt = f" in_reply_to={r['in_reply_to']}" if r.get("in_reply_to") else ""
        print(f"{indent}#{order[k]} {r['sent_at'][:16]} {k[0]} {k[1]} sender={r.get('sender')}{subj}{irt}")
        print(f"{indent}   gold={lab['gold_ticket']} kind={lab.get('kind', '')} -> "
              f"ticket={a.get('ticket_id')} cust={a.get('customer_id')} audit={brief}")
        print(f"{indent}   {body!r}")

    by_pred_t: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
    by_pred_c: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
    by_gold_t: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
    by_gold_c: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
    for k in key:
        a = got[k]
        by_pred_t[str(a["ticket_id"])].append(k)
        by_pred_c[str(a["customer_id"])].append(k)
        by_gold_t[lab_of[k]["gold_ticket"]].append(k)
        by_gold_c[lab_of[k]["gold_customer"]].append(k)

    def split_cost(groups: list[list[tuple[str, str]]]) -> int:
        return npairs(sum(map(len, groups))) - sum(npairs(len(g)) for g in groups)

    # 1. false merges: one predicted ticket/customer holding several gold customers
    for title, pred in (("FALSE TICKET MERGES (different citizens on one ticket)", by_pred_t),
                        ("FALSE CUSTOMER MERGES (different gold customers on one customer)", by_pred_c)):
        bad = []
        for pid, ks in pred.items():
            parts: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
            for k in ks:
                parts[lab_of[k]["gold_customer"]].append(k)
            if len(parts) > 1:
                bad.append((split_cost(list(parts.values())), pid, parts))
        bad.sort(key=lambda b: -b[0])
        print(f"\n== {title}: {len(bad)} groups, {sum(b[0] for b in bad)} pairs")
        for cost, pid, parts in bad[:top]:
            print(f"  predicted {pid}: {cost} wrong pairs; merges={merged_into.get(int(pid), [])[:3] if 'CUSTOMER' in title else ''}")
            for gc, ks in parts.items():
                print(f"   gold {gc}:")
                for k in ks[:4]:
                    show(k, "     ")

    # 2. topic merges inside one customer: one predicted ticket holding several gold tickets
    bad = []
    for pid, ks in by_pred_t.items():
        parts = collections.defaultdict(list)
        for k in ks:
            parts[lab_of[k]["gold_ticket"]].append(k)
        if len(parts) > 1 and len({lab_of[k]["gold_customer"] for k in ks}) == 1:
            bad.append((split_cost(list(parts.values())), pid, parts))
    bad.sort(key=lambda b: -b[0])
    print(f"\n== SAME-CUSTOMER TOPIC MERGES (two complaints of one citizen on one ticket): "
          f"{len(bad)} tickets, {sum(b[0] for b in bad)} pairs")
    for cost, pid, parts in bad[:top]:
        print(f"  ticket {pid}: {cost} pairs")
        for gt, ks in parts.items():
            for k in ks[:3]:
                show(k, "     ")

    # 3. splits: one gold ticket/customer over several predicted ones, by cause
    causes: collections.Counter[str] = collections.Counter()
    examples: dict[str, list[tuple[int, str, list[list[tuple[str, str]]]]]] = collections.defaultdict(list)
    for gt, ks in by_gold_t.items():
        parts = collections.defaultdict(list)
        for k in ks:
            parts[str(got[k]["ticket_id"])].append(k)
        if len(parts) < 2:
            continue
        groups = list(parts.values())
        for g1, g2 in itertools.combinations(groups, 2):
            c1 = {got[k]["customer_id"] for k in g1}
            c2 = {got[k]["customer_id"] for k in g2}
            t1 = {why.get(msg_id.get(k, -1), {}).get("topic") for k in g1[:1]}
            t2 = {why.get(msg_id.get(k, -1), {}).get("topic") for k in g2[:1]}
            if c1 != c2:
                cause = "customer split (identity evidence missed)"
            elif t1 != t2:
                cause = "wrong/other topic on one part"
            else:
                cause = "same customer and topic (window / decision)"
            causes[cause] += len(g1) * len(g2)
            examples[cause].append((len(g1) * len(g2), gt, [g1, g2]))
    print("\n== SPLIT TICKETS by cause (missed pairs)")
    for cause, n in causes.most_common():
        print(f"  {cause}: {n}")
    for cause, exs in examples.items():
        exs.sort(key=lambda e: -e[0])
        print(f"\n-- {cause}")
        for cost, gt, groups in exs[:top]:
            print(f"  gold {gt}: {cost} missed pairs")
            for g in groups:
                for k in g[:3]:
                    show(k, "     ")

    split_c = []
    for gc, ks in by_gold_c.items():
        parts = collections.defaultdict(list)
        for k in ks:
            parts[str(got[k]["customer_id"])].append(k)
        if len(parts) > 1:
            split_c.append((split_cost(list(parts.values())), gc, list(parts.values())))
    split_c.sort(key=lambda e: -e[0])
    print(f"\n== SPLIT CUSTOMERS: {len(split_c)} gold customers, {sum(s[0] for s in split_c)} missed pairs")
    for cost, gc, groups in split_c[:top]:
        print(f"  gold {gc}: {cost} missed pairs")
        for g in groups:
            for k in g[:2]:
                show(k, "     ")


if __name__ == "__main__":
    raise SystemExit(main())
