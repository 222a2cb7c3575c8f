"""Evaluate the pure domain layer on the labelled development stream.

Prints topic accuracy (with a confusion summary and the fallback share), identity-evidence quality
(pairwise customer precision/recall/F1 of a union-find over shared identifiers, against
gold_customer) and timings.  Usage:

    .venv/bin/python bench/eval_domain.py [--data DIR] [--show-errors N]
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import re
import statistics
import sys
import time
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ticketing.domain.claimed import claimed_identifiers  # noqa: E402
from ticketing.domain.identity import LINKING_KINDS, sender_identifiers  # noqa: E402
from ticketing.domain.message import parse_normalized  # noqa: E402
from ticketing.domain.text import citizen_text  # noqa: E402
from ticketing.domain.topics import TopicClassifier  # noqa: E402

DEFAULT_DATA = Path("/work/shared/data/complaints")


def _pairs(groups: Iterable[list[int]]) -> set[tuple[int, int]]:
    out: set[tuple[int, int]] = set()
    for members in groups:
        members = sorted(members)
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                out.add((a, b))
    return out


def _prf(predicted: set[tuple[int, int]], gold: set[tuple[int, int]]) -> tuple[float, float, float]:
    tp = len(predicted & gold)
    p = tp / len(predicted) if predicted else 1.0
    r = tp / len(gold) if gold else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


class UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--show-errors", type=int, default=0)
    args = ap.parse_args()

    raw = [json.loads(line) for line in (args.data / "dev.jsonl").open(encoding="utf-8")]
    labels = [json.loads(line) for line in (args.data / "dev.labels.jsonl").open(encoding="utf-8")]
    assert len(raw) == len(labels)
    messages = [parse_normalized(r) for r in raw]
    with (ROOT / "config" / "topics.toml").open("rb") as fh:
        config: dict[str, Any] = tomllib.load(fh)
    clf = TopicClassifier.from_config(config)
    fallback = str(config["fallback"]["topic"])

    # --- topics -------------------------------------------------------------------------------
    confusion: collections.Counter[tuple[str, str]] = collections.Counter()
    classify_us: list[float] = []
    errors: list[tuple[str, str, str, str]] = []
    empty_fallback = 0  # fallback with no topic word at all (pure follow-ups)
    texts: list[tuple[str, str]] = []
    for msg, lab in zip(messages, labels, strict=True):
        gold = lab["gold_ticket"].rsplit("|", 1)[1]
        text = f"{msg.subject or ''}\n{citizen_text(msg.body)}"
        t0 = time.perf_counter()
        match = clf.classify(text)
        classify_us.append((time.perf_counter() - t0) * 1e6)
        confusion[(gold, match.topic)] += 1
        texts.append((gold, citizen_text(msg.body)))
        if match.topic == fallback and not match.evidence:
            empty_fallback += 1
        if match.topic != gold and match.topic != fallback:
            errors.append((gold, match.topic, match.evidence, text))
    total = len(messages)
    correct = sum(v for (g, p), v in confusion.items() if g == p)
    fell_back = sum(v for (_, p), v in confusion.items() if p == fallback)
    wrong = total - correct - fell_back
    decided = total - fell_back
    print("== topics")
    print(f"accuracy (all messages)            {correct / total:.4f}  ({correct}/{total})")
    print(f"accuracy (non-fallback decisions)  {correct / decided:.4f}  ({correct}/{decided})")
    print(f"fallback share                     {fell_back / total:.4f}  ({fell_back} gold-topic "
          f"messages classified '{fallback}')")
    print(f"  of which without any topic word  {empty_fallback} (follow-ups: attached to the "
          "open ticket by the pipeline)")
    topical = total - empty_fallback
    print(f"accuracy (messages with topic words) {correct / topical:.4f}  ({correct}/{topical})")
    print(f"wrong topic (not fallback)         {wrong}")
    print("confusion (gold -> predicted, off-diagonal):")
    for (g, p), v in sorted(confusion.items(), key=lambda kv: -kv[1]):
        if g != p:
            print(f"  {g:>10} -> {p:<10} {v}")
    for want, pred, evidence, text in errors[: args.show_errors]:
        print(f"  ERR gold={want} pred={pred} evidence={evidence!r}: {text[:200]!r}")

    # Robustness proxy for unseen phrasings: the bodies (no subject) with ~20% of words typo'd.
    rnd = random.Random(20260301)

    def typo(word: str) -> str:
        if len(word) < 4 or rnd.random() >= 0.2:
            return word
        i = rnd.randrange(1, len(word) - 1)
        op = rnd.choice("sdri")
        if op == "s":
            return word[:i] + word[i + 1] + word[i] + word[i + 2:]
        if op == "d":
            return word[:i] + word[i + 1:]
        return word[:i] + (word[i] if op == "r" else rnd.choice("aeiou")) + word[i:][op == "i":]

    noisy: collections.Counter[str] = collections.Counter()
    for want, body in texts:
        got = clf.classify(re.sub(r"[A-Za-z]+", lambda m: typo(m.group()), body)).topic
        noisy["fallback" if got == fallback else "right" if got == want else "wrong"] += 1
    print(f"with 20% word typos (body only): right {noisy['right']}, wrong {noisy['wrong']}, "
          f"fallback {noisy['fallback']}")

    # --- identity -------------------------------------------------------------------------------
    uf = UnionFind(total)
    owner: dict[tuple[str, str], int] = {}
    claim_us: list[float] = []
    per_kind: collections.Counter[str] = collections.Counter()
    for i, msg in enumerate(messages):
        t0 = time.perf_counter()
        claimed = claimed_identifiers(msg.body)
        claim_us.append((time.perf_counter() - t0) * 1e6)
        for ident in sender_identifiers(msg.sender) + claimed:
            if ident.kind not in LINKING_KINDS:
                continue
            per_kind[f"{ident.source}:{ident.kind.value}"] += 1
            key = (ident.kind.value, ident.value)
            if key in owner:
                uf.union(owner[key], i)
            else:
                owner[key] = i
    predicted_groups: dict[int, list[int]] = collections.defaultdict(list)
    gold_groups: dict[str, list[int]] = collections.defaultdict(list)
    for i, lab in enumerate(labels):
        predicted_groups[uf.find(i)].append(i)
        gold_groups[lab["gold_customer"]].append(i)
    pred_pairs = _pairs(predicted_groups.values())
    gold_pairs = _pairs(gold_groups.values())
    prec, rec, f1 = _prf(pred_pairs, gold_pairs)
    print("\n== identity evidence (union-find over shared identifiers)")
    print(f"customers: predicted {len(predicted_groups)}, gold {len(gold_groups)}")
    print(f"pairwise precision {prec:.4f}  recall {rec:.4f}  F1 {f1:.4f}  "
          f"(false pairs {len(pred_pairs - gold_pairs)}, missed pairs {len(gold_pairs - pred_pairs)})")
    print("identifiers used:", dict(sorted(per_kind.items())))
    false_groups = [g for g in predicted_groups.values()
                    if len({labels[i]["gold_customer"] for i in g}) > 1]
    for group in false_groups[: args.show_errors]:
        print("  FALSE MERGE:", [(labels[i]["external_id"], labels[i]["gold_customer"]) for i in group][:6])

    print("\n== timing")
    print(f"classify            median {statistics.median(classify_us):7.1f} µs   "
          f"p99 {sorted(classify_us)[int(0.99 * total)]:7.1f} µs")
    print(f"claimed_identifiers median {statistics.median(claim_us):7.1f} µs   "
          f"p99 {sorted(claim_us)[int(0.99 * total)]:7.1f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
