"""Throughput and end-to-end lag of the inbound SMTP listener (issue 4).

A real ``ticketing serve`` child process on a fresh SQLite file (built with ``ticketing db
upgrade``; default, durable settings: WAL, ``synchronous=NORMAL``, one commit per mail before
the ``250``), its own background worker turning the inbox into tickets.  8 client threads, each
holding one smtplib connection open, send N realistic citizen mails (bench/generate.py's e-mail
messages dressed as Gmail/Yahoo/Outlook mail: multipart/alternative or plain text, Received and
DKIM headers, ~3 % with a JPEG attachment; fixed seed, the same bytes every run).

Figures per run:

* **accepted/s** = N / (last ``250`` - first ``MAIL FROM``), wall clock of the client process.
* **lag** = first time the mail's ``messages`` row is visible - time its ``250`` arrived, both
  ``time.monotonic()`` of this process.  A reader thread polls the database every ``--poll``
  seconds (default 10 ms) with a plain read transaction (WAL: it never blocks the writers) for
  rows with ``id`` above the last it saw (ids grow with commit order: one worker writes
  ``messages``), so a lag is over-estimated by at most one poll interval plus one query.
  This is what an agent would see; it includes the queue wait in the inbox.  At full blast the
  worker may fall behind, and the lag then measures the backlog; ``--rate R`` paces the
  clients to R mails/s in total to measure the lag at a sustainable load.
* Cross-check from the server's own timestamps: ``inbox.processed_at - inbox.received_at``
  (both ``clock.now()`` in the server; ``received_at`` is taken just before the insert,
  ``processed_at`` inside the worker's transaction, before its commit).
* **drain/s** = N / (last mail visible - first ``250``): the worker's rate while the listener
  competes with it for the GIL and the SQLite write lock.
* CPU seconds of the server process (``/proc/<pid>/stat``) per mail.

    .venv/bin/python bench/smtp.py              # N=4000, 3 runs, median
    .venv/bin/python bench/smtp.py --quick      # N=600, 1 run
    .venv/bin/python bench/smtp.py --rate 100   # paced: lag at a sustainable load

Results (JSON) go to bench/out/smtp_results.json; the markdown table goes to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import email.policy
import email.utils
import json
import os
import platform
import random
import shutil
import signal
import smtplib
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The source tree under test (default this working copy), as in bench/ingest.py: e.g.
# ``git archive HEAD | tar -x -C /tmp/t`` and BENCH_SRC=/tmp/t, so that a commit is measured
# while others edit the working copy.  The server child gets it as PYTHONPATH, its config/ and
# (through the package's own path) its migrations/.
SRC = Path(os.environ.get("BENCH_SRC", ROOT)).resolve()
sys.path.insert(0, str(ROOT / "bench"))

from generate import generate  # noqa: E402

TICKETING = Path(sys.executable).with_name("ticketing")
DOMAIN = "prakerja.example.id"
OUT = ROOT / "bench" / "out"


# ----------------------------------------------------------------------------- mails

@dataclass(frozen=True, slots=True)
class Mail:
    message_id: str
    sender: str
    data: bytes


def _html(text: str) -> str:
    paras = "".join(f"<div dir=\"ltr\">{p.replace(chr(10), '<br>')}</div>"
                    for p in text.split("\n\n"))
    return f"<div dir=\"ltr\">{paras}</div>\n"


def make_mails(n: int, seed: int, attachments: bool = True) -> list[Mail]:
    """n e-mails from bench/generate.py's stream (its e-mail messages only), as MUAs send them."""
    rng = random.Random(seed * 7919)
    out: list[Mail] = []
    for m in generate(n * 6, seed):
        if m["channel"] != "email":
            continue
        sender = m["sender"]["email"]
        domain = sender.rpartition("@")[2]
        sent = dt.datetime.fromisoformat(m["sent_at"])
        msg = EmailMessage()
        msg["Received"] = (f"from mail-{rng.randrange(10**6)}.{domain} "
                           f"(mail-{rng.randrange(10**6)}.{domain} [209.85.{rng.randrange(256)}."
                           f"{rng.randrange(256)}]) by mx.{DOMAIN} with ESMTPS; "
                           f"{email.utils.format_datetime(sent)}")
        msg["DKIM-Signature"] = (f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=20230601; "
                                 f"h=to:subject:message-id:date:from:mime-version; "
                                 f"bh={rng.randbytes(32).hex()}; "
                                 f"b={rng.randbytes(128).hex()}")
        msg["MIME-Version"] = "1.0"
        msg["From"] = email.utils.formataddr((m["sender"]["name"], sender))
        msg["To"] = f"pengaduan@{DOMAIN}"
        msg["Subject"] = m["subject"]
        msg["Date"] = email.utils.format_datetime(sent)
        msg["Message-ID"] = m["external_id"]
        if m.get("in_reply_to"):
            msg["In-Reply-To"] = m["in_reply_to"]
            msg["References"] = m["in_reply_to"]
        body = m["body"]
        if domain.startswith("gmail") and rng.random() < 0.5:
            body += "\n\nDikirim dari Gmail untuk Android"
        elif domain.startswith("yahoo") or domain == "ymail.com":
            body += "\n\nDikirim dari Yahoo Mail di Android"
        msg.set_content(body)
        if rng.random() < 0.7:
            msg.add_alternative(_html(body), subtype="html")
        if attachments:
            for a in m.get("attachments", []):
                blob = b"\xff\xd8\xff\xe0" + rng.randbytes(int(a["size"]) - 4)
                msg.add_attachment(blob, maintype="image", subtype="jpeg",
                                   filename=a["filename"])
        out.append(Mail(m["external_id"], sender, msg.as_bytes(policy=email.policy.SMTP)))
        if len(out) == n:
            return out
    raise SystemExit(f"the stream gave only {len(out)} e-mails")


# ----------------------------------------------------------------------------- server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, workdir: Path, serve_script: Path | None = None) -> None:
        self.workdir = workdir
        self.serve_script = serve_script
        self.db = workdir / "ticketing.db"
        self.smtp_port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETING_")}
        env.update({
            "TICKETING_DATABASE_URL": f"sqlite:///{self.db}",
            "TICKETING_CONFIG_DIR": str(SRC / "config"),
            "TICKETING_HTTP_PORT": str(free_port()),
            "TICKETING_SMTP_PORT": str(self.smtp_port),
            "TICKETING_SMTP_DOMAINS": DOMAIN,
            "TICKETING_ACK_ENABLED": "0",
            "TICKETING_OUTBOUND_SMTP_URL": f"smtp://127.0.0.1:{free_port()}",
            "TICKETING_ATTACHMENT_DIR": str(workdir / "attachments"),
            "TICKETING_TRANSCRIPT_DIR": str(workdir / "transcripts"),
            "TICKETING_LOG_LEVEL": "WARNING",
        })
        if SRC != ROOT:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        subprocess.run([str(TICKETING), "db", "upgrade"], env=self.env, cwd=self.workdir,
                       check=True, capture_output=True, timeout=120)
        log = (self.workdir / "serve.log").open("wb")
        cmd = ([sys.executable, str(self.serve_script)] if self.serve_script
               else [str(TICKETING), "serve"])
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=self.workdir,
                                     stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise SystemExit("ticketing serve exited:\n"
                                 + (self.workdir / "serve.log").read_text(errors="replace"))
            with contextlib.suppress(OSError, smtplib.SMTPException), \
                    smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=2) as probe:
                if probe.noop()[0] == 250:
                    return
            if time.monotonic() > deadline:
                raise SystemExit("the SMTP port did not answer within 30 s")
            time.sleep(0.05)

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


# ----------------------------------------------------------------------------- one run

class Watcher(threading.Thread):
    """Records when each Message-ID's ``messages`` row first becomes visible."""

    def __init__(self, db: Path, expected: int, poll: float) -> None:
        super().__init__(name="watcher", daemon=True)
        self.db, self.expected, self.poll = db, expected, poll
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30,
                               isolation_level=None)
        last = 0
        try:
            while not self.stop.is_set() and len(self.seen) < self.expected:
                rows = conn.execute("SELECT id, external_id FROM messages "
                                    "WHERE id > ? AND direction = 'in' ORDER BY id",
                                    (last,)).fetchall()
                now = time.monotonic()
                for rid, ext in rows:
                    self.seen.setdefault(ext, now)
                    last = max(last, rid)
                self.stop.wait(self.poll)
        finally:
            conn.close()


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s) + 0.5) - 1))]


def one_run(mails: list[Mail], clients: int, workdir: Path, rate: float | None,
            poll: float, drain_timeout: float, serve_script: Path | None = None
            ) -> dict[str, Any]:
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    server = Server(workdir, serve_script)
    server.start()
    try:
        watcher = Watcher(server.db, len(mails), poll)
        watcher.start()
        acked: dict[str, float] = {}
        first_send: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        barrier = threading.Barrier(clients + 1)
        t_zero = [0.0]

        def client(k: int) -> None:
            mine = mails[k::clients]
            with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=60) as conn:
                conn.ehlo("client.example")
                barrier.wait()
                for j, mail in enumerate(mine):
                    if rate:
                        due = t_zero[0] + (j * clients + k) / rate
                        delay = due - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                    t0 = time.monotonic()
                    try:
                        conn.sendmail(mail.sender, [f"pengaduan@{DOMAIN}"], mail.data)
                    except smtplib.SMTPException as exc:
                        with lock:
                            errors.append(f"{mail.message_id}: {exc}")
                        continue
                    t1 = time.monotonic()
                    with lock:
                        acked[mail.message_id] = t1
                        if j == 0:
                            first_send.append(t0)

        threads = [threading.Thread(target=client, args=(k,), daemon=True)
                   for k in range(clients)]
        for t in threads:
            t.start()
        cpu0 = server.cpu_seconds()
        t_zero[0] = time.monotonic()
        barrier.wait()
        for t in threads:
            t.join()
        cpu_accept = server.cpu_seconds() - cpu0
        watcher.join(timeout=drain_timeout)
        watcher.stop.set()
        watcher.join()
        cpu_total = server.cpu_seconds() - cpu0
    finally:
        server.stop()

    start = min(first_send)
    last_ack = max(acked.values())
    lags = [watcher.seen[m] - a for m, a in acked.items() if m in watcher.seen]
    db = sqlite3.connect(server.db)
    try:
        srv = [(dt.datetime.fromisoformat(p) - dt.datetime.fromisoformat(r)).total_seconds()
               for r, p in db.execute("SELECT received_at, processed_at FROM inbox "
                                      "WHERE processed_at IS NOT NULL")]
        statuses = dict(db.execute("SELECT status, count(*) FROM inbox GROUP BY status"))
        n_messages = db.execute("SELECT count(*) FROM messages WHERE direction='in'").fetchone()[0]
        n_tickets = db.execute("SELECT count(*) FROM tickets").fetchone()[0]
    finally:
        db.close()
    visible = [watcher.seen[m] for m in acked if m in watcher.seen]
    return {
        "n": len(mails), "accepted": len(acked), "errors": errors[:10], "n_errors": len(errors),
        "bytes": sum(len(m.data) for m in mails),
        "accept_seconds": last_ack - start,
        "accepted_per_s": len(acked) / (last_ack - start),
        "visible": len(lags), "messages": n_messages, "tickets": n_tickets,
        "inbox_status": statuses,
        "lag_p50_ms": pct(lags, 50) * 1000 if lags else None,
        "lag_p99_ms": pct(lags, 99) * 1000 if lags else None,
        "lag_max_ms": max(lags) * 1000 if lags else None,
        "server_lag_p50_ms": pct(srv, 50) * 1000 if srv else None,
        "server_lag_p99_ms": pct(srv, 99) * 1000 if srv else None,
        "drain_per_s": (len(visible) / (max(visible) - min(acked.values()))) if visible else None,
        "drain_tail_s": (max(visible) - last_ack) if visible else None,
        "server_cpu_ms_per_mail_accepting": cpu_accept / len(mails) * 1000,
        "server_cpu_ms_per_mail_total": cpu_total / len(mails) * 1000,
    }


# ----------------------------------------------------------------------------- report

def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"python": platform.python_version(), "cpus": os.cpu_count(),
                            "platform": platform.platform()}
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError):
        info["loadavg"] = Path("/proc/loadavg").read_text().split()[:3]
    info["src"] = str(SRC)
    if SRC == ROOT:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            info["head"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                          capture_output=True, text=True).stdout.strip()
            info["dirty"] = bool(subprocess.run(
                ["git", "-C", str(ROOT), "status", "--porcelain", "--", "ticketing", "channels"],
                capture_output=True, text=True).stdout.strip())
    else:
        info["rev"] = os.environ.get("BENCH_SRC_REV", "?")
    return info


def fmt(v: Any, spec: str = ".0f") -> str:
    return "–" if v is None else format(v, spec)


def table(runs: list[dict[str, Any]], label: str) -> str:
    head = ("| run | mails | MB | accepted/s | lag p50 ms | lag p99 ms | lag max ms | "
            "server lag p50/p99 ms | drain/s | tail after last 250 s | "
            "server CPU ms/mail (blast / incl. drain) |")
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for i, r in enumerate(runs, 1):
        lines.append(
            f"| {label} {i} | {r['accepted']}/{r['n']} | {r['bytes'] / 1e6:.1f} | "
            f"{r['accepted_per_s']:.0f} | {fmt(r['lag_p50_ms'])} | {fmt(r['lag_p99_ms'])} | "
            f"{fmt(r['lag_max_ms'])} | {fmt(r['server_lag_p50_ms'])}/"
            f"{fmt(r['server_lag_p99_ms'])} | {fmt(r['drain_per_s'])} | "
            f"{fmt(r['drain_tail_s'], '.1f')} | "
            f"{r['server_cpu_ms_per_mail_accepting']:.2f} / "
            f"{r['server_cpu_ms_per_mail_total']:.2f} |")
    if len(runs) > 1:
        med = statistics.median(r["accepted_per_s"] for r in runs)
        mid = sorted(runs, key=lambda r: r["accepted_per_s"])[len(runs) // 2]
        lines.append(f"| **median** | | | **{med:.0f}** | {fmt(mid['lag_p50_ms'])} | "
                     f"{fmt(mid['lag_p99_ms'])} | {fmt(mid['lag_max_ms'])} | | | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=4000, help="mails per run (default 4000)")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rate", type=float, default=None,
                   help="pace the clients to this many mails/s in total (default: full blast)")
    p.add_argument("--poll", type=float, default=0.01, help="watcher poll interval, s")
    p.add_argument("--no-attachments", action="store_true")
    p.add_argument("--quick", action="store_true", help="N=600, one run")
    p.add_argument("--serve-script", type=Path, default=None,
                   help="run `python SCRIPT` instead of `ticketing serve` (same environment): "
                        "to measure a variant of the listener without editing the tree")
    p.add_argument("--out", type=Path, default=OUT / "smtp_results.json")
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.repeat = 600, 1
    if not TICKETING.exists():
        raise SystemExit(f"{TICKETING} not found: run with the project's venv python")

    t = time.monotonic()
    mails = make_mails(args.n, args.seed, attachments=not args.no_attachments)
    print(f"{len(mails)} mails, {sum(len(m.data) for m in mails) / 1e6:.1f} MB, "
          f"built in {time.monotonic() - t:.1f} s; machine {machine()}", file=sys.stderr)
    runs = []
    for i in range(args.repeat):
        r = one_run(mails, args.clients, OUT / "smtp" / f"run{i}", args.rate, args.poll,
                    drain_timeout=max(120.0, args.n / 20), serve_script=args.serve_script)
        r["loadavg_after"] = machine().get("loadavg")
        runs.append(r)
        print(f"run {i + 1}: {json.dumps(r)}", file=sys.stderr)
    label = f"{'paced ' + format(args.rate, '.0f') + '/s' if args.rate else 'blast'}"
    report = {"args": {k: str(v) for k, v in vars(args).items()}, "machine": machine(),
              "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"### SMTP listener, {args.clients} clients, N={args.n}, "
          f"{'paced at ' + str(args.rate) + ' mails/s' if args.rate else 'full blast'}, "
          f"SQLite (WAL, synchronous=NORMAL)\n")
    print(table(runs, label))
    bad = [r for r in runs if r["accepted"] != r["n"] or r["visible"] != r["n"]]
    if bad:
        print(f"\nWARNING: {len(bad)} run(s) with unaccepted or invisible mails", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
