"""Outbox pacing against the Bot API (issue 12): a burst of 1,000 replies to 100 chats (10
each; every ``--long-every``-th reply 10,000 characters long, i.e. three Bot API messages)
queued at once, delivered by ``--workers`` ``ticketing worker`` processes through the real
python-telegram-bot to the stand-in, whose log (arrival time of every ``sendMessage``) is what
is measured:

* overall: the most sends in any 1-second window (target: 30) and the mean rate
  (sends - 1) / (last - first);
* per chat: the shortest gap between two sends to one chat (target: ≥ 1 s);
* every Bot API message sent exactly once (each part of a long reply carries its reply's
  number, so a repeated part shows), and as many as the replies' parts.

Baseline, same run: the sender alone, unpaced, 200 sends in a row from this process (what the
stand-in and the library could take without pacing); the ratio says pacing, not the path, sets
the rate.

    .venv/bin/python bench/telegram_outbox.py                     # SQLite and PostgreSQL, 2 workers
    .venv/bin/python bench/telegram_outbox.py --kinds sqlite --n 300
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from telegram_common import ROOT, TICKETING, TOKEN, database, env_for  # noqa: E402

sys.path.insert(0, str(ROOT))
from channels.telegram.bot import BotRunner, make_bot  # noqa: E402
from channels.telegram.send import TelegramSender, split_text  # noqa: E402
from tests.channels.telegram.standin import StandIn  # noqa: E402
from ticketing.app import App  # noqa: E402
from ticketing.services.clock import SystemClock  # noqa: E402
from ticketing.services.outbox import enqueue  # noqa: E402
from ticketing.services.ports import Delivery  # noqa: E402
from ticketing.settings import Settings  # noqa: E402


def baseline(count: int = 200) -> float:
    standin = StandIn().start()
    runner = BotRunner(make_bot(TOKEN, standin.url))
    send = TelegramSender(runner, gap=0)
    try:
        send(Delivery(outbox_id=0, channel="telegram", kind="reply",
                      recipient={"telegram_id": "1"}, payload={"body": "warm"}))
        t0 = time.perf_counter()
        for i in range(count):
            send(Delivery(outbox_id=i, channel="telegram", kind="reply",
                          recipient={"telegram_id": str(i % 100)}, payload={"body": f"b{i}"}))
        return count / (time.perf_counter() - t0)
    finally:
        runner.close()
        standin.stop()


def body(i: int, long_every: int) -> str:
    if long_every and i % long_every == 0:
        # Three parts (split at 4,096 characters on word breaks), each naming the reply.
        return " ".join(f"r{i}k{k:04d}" for k in range(1000))[:10_000]
    return f"Balasan {i}"


def run(kind: str, n: int, chats: int, workers: int, long_every: int) -> dict[str, float]:
    expected = sum(len(split_text(body(i, long_every))) for i in range(n))
    with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
        standin = StandIn().start()
        app = App(settings=Settings(database_url=url, config_dir=str(ROOT / "config")),
                  clock=SystemClock())
        with app.uow.write() as conn:
            for i in range(n):
                enqueue(conn, ticket_id=None, message_id=None, channel="telegram", kind="reply",
                        recipient={"telegram_id": str(300_000 + i % chats)},
                        payload={"body": body(i, long_every)}, now=app.clock.now())
        app.close()
        # A webhook URL set: the workers do not poll (only deliver).
        env = env_for(url, standin.url, TICKETING_TELEGRAM_WEBHOOK_URL="https://desk.example/x")
        procs = [subprocess.Popen([str(TICKETING), "worker"], env=env, cwd=tmp)
                 for _ in range(workers)]
        try:
            deadline = time.monotonic() + expected / 30 * 3 + 60
            while len(standin.calls("sendMessage")) < expected and time.monotonic() < deadline:
                time.sleep(0.5)
            time.sleep(2.0)  # anything sent twice would show now
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=60)
            calls = standin.calls("sendMessage")
            standin.stop()
    times = sorted(c.at for c in calls)
    window = max(sum(1 for u in times[i:i + 40] if u < t + 1.0) for i, t in enumerate(times))
    by_chat: dict[int, list[float]] = defaultdict(list)
    for c in calls:
        by_chat[int(c.params["chat_id"])].append(c.at)
    gaps = [b - a for ts in by_chat.values() for a, b in zip(sorted(ts), sorted(ts)[1:])]
    texts = Counter(str(c.params["text"]) for c in calls)
    return {"sent": len(calls), "expected": expected, "max_1s": window,
            "mean": (len(times) - 1) / (times[-1] - times[0]), "min_gap": min(gaps),
            "short": sum(1 for g in gaps if g < 0.99), "gaps": len(gaps),
            "once": float(max(texts.values()) == 1)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--chats", type=int, default=100)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--kinds", default="sqlite,postgresql")
    p.add_argument("--long-every", type=int, default=10,
                   help="every n-th reply is 10,000 characters (3 messages); 0: none")
    a = p.parse_args()
    base = baseline()
    print(f"{a.n} replies to {a.chats} chats (every {a.long_every or 'no'}-th one long: 3 "
          f"messages), {a.workers} worker processes; unpaced sender (baseline): {base:,.0f} "
          f"sends/s; load {os.getloadavg()[0]:.1f} (2 cores)")
    print("| database | Bot API messages sent / expected | most in any 1 s | mean sends/s | "
          "ratio to unpaced | shortest gap in a chat (s) | gaps under 0.99 s | none sent twice |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for kind in a.kinds.split(","):
        r = run(kind, a.n, a.chats, a.workers, a.long_every)
        print(f"| {kind} | {r['sent']:.0f} / {r['expected']:.0f} | {r['max_1s']:.0f} | "
              f"{r['mean']:.1f} | {r['mean'] / base:.2f} | {r['min_gap']:.3f} | "
              f"{r['short']:.0f} of {r['gaps']:.0f} | {bool(r['once'])} | load "
              f"{os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
