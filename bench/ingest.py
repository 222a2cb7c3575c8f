"""Ingest benchmark (issue 2): batch ingest through the real CLI, a raw-insert baseline, durable
one-at-a-time ingest, and how the batch rate holds up as the database grows.

    .venv/bin/python bench/ingest.py            # full run (100k batch, 1M-message growth base)
    .venv/bin/python bench/ingest.py --quick    # smoke test (10k batch, 100k growth base)
    .venv/bin/python bench/ingest.py --only batch,raw --kinds sqlite

Measurements (each on a freshly migrated database, fixed generator seeds):
1. ``ticketing ingest jsonl FILE --quiet`` as a subprocess (TICKETING_DATABASE_URL set) on SQLite
   and PostgreSQL: messages/s over the process's wall time (start-up included) and its peak RSS
   (``os.wait4`` rusage of that one child).
2. Baseline: the same file parsed and inserted as ``messages``-shaped rows into a scratch table
   (same columns, unique (channel, external_id) and the same secondary indexes, no foreign keys)
   with SQLAlchemy Core ``executemany``, 500 rows and one commit per batch, on the same database
   kind and the same engine set-up; reported as our rate / raw rate.
3. Durable one-at-a-time ingest on SQLite: ``store_and_process(app.uow, [payload])`` per message,
   payloads built by ``ticketing.entrypoints.cli.jsonl_payloads`` (two commits per message, as a live channel).
4. Growth: the CLI rate for one 10k-message file into a database already holding ~10k messages
   versus ~1M messages (filled by ingesting a generated 1M stream through the CLI, so the data
   is exactly what the engine writes); each measurement runs on a fresh copy of the filled base
   (flushed to disk before the run starts), the runs alternating between the two sizes.

Results are merged into ``bench/out/ingest_results.json`` (so a phase can be re-run alone) and
rendered to ``bench/out/ingest.md``; the table is printed at the end.  Databases are removed at
the end (``--keep`` keeps the growth bases for a re-run).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The source tree under test (default this repository); e.g. BENCH_SRC=/tmp/head after
# ``git archive HEAD | tar -x -C /tmp/head`` measures the last commit without the work in
# progress.  The CLI child gets it as PYTHONPATH and runs in it (its config/, migrations/).
SRC = Path(os.environ.get("BENCH_SRC", ROOT)).resolve()
sys.path.insert(0, str(SRC))
sys.path.insert(1, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402

from generate import MEAN_GAP_S, generate  # noqa: E402

OUT = ROOT / "bench" / "out"
DB_DIR = OUT / "db"
DATA_DIR = OUT / "data"
LABEL = os.environ.get("BENCH_LABEL", "")  # keeps results of different trees apart
RESULTS = OUT / f"ingest_results{'_' + LABEL if LABEL else ''}.json"
REPORT = OUT / f"ingest{'_' + LABEL if LABEL else ''}.md"
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{db}"
PREFIX = os.environ.get("BENCH_PG_PREFIX", "bench_ingest_")  # apart from other runs on the server

# Seeds: each stream has its own external ids (the generator puts the seed in them).
SEED_BATCH, SEED_SMALL_BASE, SEED_BIG_BASE, SEED_PROBE = 1, 2, 3, 4


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data files


def data_file(n: int, seed: int, start: dt.datetime | None = None) -> Path:
    tag = "" if start is None else "_t" + start.strftime("%Y%m%d%H%M")
    path = DATA_DIR / f"gen_{n}_s{seed}{tag}.jsonl"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        log(f"generating {n:,} messages (seed {seed}) -> {path.name}")
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for msg in generate(n, seed, start):
                fh.write(json.dumps(msg, ensure_ascii=False) + "\n")
        tmp.rename(path)
    return path


def last_sent_at(path: Path) -> dt.datetime:
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 8192))
        last = fh.read().splitlines()[-1]
    return dt.datetime.fromisoformat(json.loads(last)["sent_at"])


# ---------------------------------------------------------------- databases


class Databases:
    """Creates and drops this benchmark's own SQLite files and PostgreSQL databases."""

    def __init__(self) -> None:
        self.created: dict[str, str] = {}  # name -> kind

    def url(self, kind: str, name: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{DB_DIR / (name + '.db')}"
        return PG_URL.format(db=PREFIX + name)

    def _pg(self, *statements: str, url: str = PG_ADMIN) -> None:
        import psycopg
        with psycopg.connect(url, autocommit=True) as conn:
            for s in statements:
                conn.execute(s)  # type: ignore[arg-type]

    def _sqlite_files(self, name: str) -> list[Path]:
        base = DB_DIR / (name + ".db")
        return [base, Path(str(base) + "-wal"), Path(str(base) + "-shm")]

    def empty(self, kind: str, name: str) -> str:
        """A new, empty database (no schema)."""
        self.drop(kind, name)
        if kind == "sqlite":
            DB_DIR.mkdir(parents=True, exist_ok=True)
        else:
            self._pg(f'CREATE DATABASE "{PREFIX}{name}"')
        self.created[name] = kind
        return self.url(kind, name)

    def fresh(self, kind: str, name: str) -> str:
        """A new database migrated to head (the only way the schema is made)."""
        from ticketing.store import migrate
        from ticketing.store.db import make_engine
        url = self.empty(kind, name)
        engine = make_engine(url)
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()
        return url

    def clone(self, kind: str, source: str, name: str) -> str:
        self.drop(kind, name)
        if kind == "sqlite":
            src = DB_DIR / (source + ".db")
            with contextlib.closing(sqlite3.connect(src)) as c:
                c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            shutil.copyfile(src, DB_DIR / (name + ".db"))
        else:
            self._pg(f'CREATE DATABASE "{PREFIX}{name}" TEMPLATE "{PREFIX}{source}"')
        # The copy leaves gigabytes of dirty pages that the kernel writes back over the next
        # seconds: flush them now, or the probe run pays for writing the benchmark's own copy
        # (measured: +0.4 s on a 10,000-message run into the 1M SQLite base, none into 10k).
        os.sync()
        self.created[name] = kind
        return self.url(kind, name)

    def drop(self, kind: str, name: str) -> None:
        if kind == "sqlite":
            for f in self._sqlite_files(name):
                f.unlink(missing_ok=True)
        else:
            self._pg(f'DROP DATABASE IF EXISTS "{PREFIX}{name}" WITH (FORCE)')
        self.created.pop(name, None)

    def vacuum_analyze(self, name: str) -> None:
        self._pg("VACUUM ANALYZE", url=self.url("postgresql", name).replace(
            "postgresql+psycopg://", "postgresql://"))

    def size_mb(self, kind: str, name: str) -> float:
        if kind == "sqlite":
            return sum(f.stat().st_size for f in self._sqlite_files(name) if f.exists()) / 2**20
        import psycopg
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            row = conn.execute("SELECT pg_database_size(%s)", (PREFIX + name,)).fetchone()
        return float(row[0]) / 2**20 if row else 0.0

    def drop_all(self, keep: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        for name, kind in list(self.created.items()):
            if name not in keep:
                try:
                    self.drop(kind, name)
                except Exception as exc:  # cleanup must go on
                    log(f"could not drop {kind} {name}: {exc}")


def count_messages(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM messages")).scalar_one())
    finally:
        engine.dispose()


# ---------------------------------------------------------------- 1. the real CLI


def cli_command() -> list[str]:
    script = Path(sys.executable).with_name("ticketing")
    if script.exists() and SRC == ROOT:
        return [str(script)]
    # An exported tree (BENCH_SRC) runs its own CLI, wherever that tree keeps it.
    module = ("ticketing.entrypoints.cli" if (SRC / "ticketing" / "entrypoints").is_dir()
              else "ticketing.cli")
    return [sys.executable, "-c", f"import sys; from {module} import main; sys.exit(main())"]


def run_cli(url: str, path: Path, lines: int) -> dict[str, Any]:
    """``ticketing ingest jsonl PATH --quiet`` in a child process: rate and that child's peak RSS."""
    env = {**os.environ, "TICKETING_DATABASE_URL": url}
    if SRC != ROOT:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    start = time.perf_counter()
    # stderr goes to a file: a run that reports many bad lines must not fill a pipe nobody reads
    with tempfile.TemporaryFile() as err_file:
        proc = subprocess.Popen([*cli_command(), "ingest", "jsonl", str(path), "--quiet"],
                                cwd=SRC, env=env, stdout=subprocess.PIPE, stderr=err_file)
        # wait4: this child's rusage, its prepare helper included once it has been waited for
        # (RUSAGE_CHILDREN would be the max over all children).
        assert proc.stdout is not None
        out_b = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        err_file.seek(0)
        err_b = err_file.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    out, err = out_b.decode(), err_b.decode()
    if proc.returncode != 0:
        raise RuntimeError(f"ticketing ingest failed ({proc.returncode}): {err.strip()[-2000:]}")
    summary = json.loads(out.strip().splitlines()[-1])
    if summary["total"] != lines or summary["failed"] or summary["rejected"]:
        raise RuntimeError(f"unexpected ingest summary {summary} for {lines} lines; {err[-500:]}")
    return {"seconds": seconds, "rate": lines / seconds, "rss_mb": usage.ru_maxrss / 1024,
            "cpu_s": usage.ru_utime + usage.ru_stime, "summary": summary}


# ---------------------------------------------------------------- 2. raw Core baseline


def _raw_table(metadata: sa.MetaData) -> sa.Table:
    """A scratch table with the columns, unique key and indexes of ``messages`` (no FKs)."""
    from ticketing.models import Message
    src = Message.__table__
    cols = [sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
            for c in src.columns]
    return sa.Table("bench_raw_messages", metadata, *cols,
                    sa.UniqueConstraint("channel", "external_id"),
                    sa.Index("ix_bench_raw_ticket_sent", "ticket_id", "sent_at"),
                    sa.Index("ix_bench_raw_customer", "customer_id"))


def run_raw(dbs: Databases, kind: str, path: Path, lines: int, batch: int = 500) -> dict[str, Any]:
    from ticketing.store.db import make_engine
    url = dbs.empty(kind, f"raw_{kind}")
    engine = make_engine(url)
    metadata = sa.MetaData()
    table = _raw_table(metadata)
    metadata.create_all(engine)
    now = dt.datetime.now(dt.UTC)
    n = 0
    start = time.perf_counter()
    try:
        rows: list[dict[str, Any]] = []

        def flush() -> None:
            with engine.begin() as conn:
                conn.execute(table.insert(), rows)
            rows.clear()

        with path.open("rb") as fh:
            for line in fh:
                m = json.loads(line)
                n += 1
                rows.append({
                    "id": n, "ticket_id": n, "customer_id": n, "direction": "in",
                    "channel": m["channel"], "external_id": m["external_id"],
                    "in_reply_to": m.get("in_reply_to"), "author_user_id": None,
                    "author_name": m["sender"].get("name"), "subject": m.get("subject"),
                    "body": m["body"], "sent_at": dt.datetime.fromisoformat(m["sent_at"]),
                    "received_at": now, "attachments": m.get("attachments", []), "extra": {},
                    "raw_id": None})
                if len(rows) >= batch:
                    flush()
            if rows:
                flush()
        seconds = time.perf_counter() - start
    finally:
        engine.dispose()
        dbs.drop(kind, f"raw_{kind}")
    assert n == lines
    return {"seconds": seconds, "rate": lines / seconds}


# ---------------------------------------------------------------- 3. one at a time


def run_single(dbs: Databases, kind: str, path: Path, count: int) -> dict[str, Any]:
    from ticketing.app import build_app
    try:
        from ticketing.entrypoints.cli import jsonl_payloads
    except ImportError:  # an exported tree from before ticketing.entrypoints (BENCH_SRC)
        from ticketing.cli import jsonl_payloads  # type: ignore[no-redef]
    from ticketing.services.ingest import store_and_process
    from ticketing.settings import load_settings

    url = dbs.fresh(kind, f"single_{kind}")
    settings = load_settings(SRC / "config",
                             environ={**os.environ, "TICKETING_DATABASE_URL": url})
    app = build_app(settings)
    try:
        with path.open("rb") as fh:
            lines = [line for _, line in zip(range(count), fh, strict=False)]
        payloads = [p for _, p in jsonl_payloads(iter(lines), str(path))]
        # The unit of work where the tree under test has one (BENCH_SRC may be an older tree).
        policy, clock, engine = app.ingest_policy, app.clock, getattr(app, "uow", app.engine)
        outcomes: dict[str, int] = {}
        import resource
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        for payload in payloads:
            (o,) = store_and_process(engine, [payload], policy=policy, clock=clock)
            outcomes[o.outcome] = outcomes.get(o.outcome, 0) + 1
        seconds = time.perf_counter() - start
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu_s = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    finally:
        app.close()
        dbs.drop(kind, f"single_{kind}")
    if outcomes.get("failed") or outcomes.get("rejected"):
        raise RuntimeError(f"one-at-a-time ingest had failures: {outcomes}")
    return {"seconds": seconds, "rate": len(payloads) / seconds, "cpu_s": cpu_s,
            "outcomes": outcomes}


# ---------------------------------------------------------------- driver


def median_of(runs: list[dict[str, Any]], key: str = "rate") -> float:
    return float(statistics.median(r[key] for r in runs))


def machine() -> dict[str, Any]:
    mem_kb = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    cpu = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    pg = ""
    with contextlib.suppress(Exception):
        import psycopg
        with psycopg.connect(PG_ADMIN) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            pg = str(row[0]) if row else ""
    return {"nproc": os.cpu_count(), "ram_gb": round(mem_kb / 2**20, 1), "cpu": cpu,
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "sqlalchemy": sa.__version__, "postgresql": pg, "platform": platform.platform()}


def code_state() -> dict[str, Any]:
    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True,
                                  check=False).stdout.strip()
        except OSError:
            return ""
    if SRC != ROOT:
        return {"src": str(SRC), "rev": os.environ.get("BENCH_SRC_REV", "?"),
                "note": "BENCH_SRC: an exported tree, not this working copy"}
    return {"src": str(SRC), "head": git("rev-parse", "--short", "HEAD"),
            "dirty": git("status", "--short", "--", "ticketing", "migrations").splitlines()}


def load_results() -> dict[str, Any]:
    if RESULTS.exists():
        return json.loads(RESULTS.read_text())
    return {}


def save_results(results: dict[str, Any]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True))


def run(args: argparse.Namespace) -> dict[str, Any]:
    quick = args.quick
    n_batch = args.messages or (10_000 if quick else 100_000)
    n_single = args.single or (1_000 if quick else 5_000)
    n_big = args.big or (100_000 if quick else 1_000_000)
    n_small, n_probe = 10_000, 10_000
    repeat = args.repeat or (1 if quick else 3)
    only = set(args.only.split(","))
    kinds = [k for k in args.kinds.split(",") if k]
    growth_kinds = [k for k in args.growth_kinds.split(",") if k]
    mode = "quick" if quick else "full"

    results = load_results()
    section = results.setdefault(mode, {})
    section["machine"] = machine()
    section["code"] = code_state()
    section["params"] = {"batch_messages": n_batch, "single_messages": n_single,
                         "growth_small": n_small, "growth_big": n_big, "growth_probe": n_probe,
                         "repeat": repeat, "growth_repeat": args.growth_repeat}
    dbs = Databases()
    keep: set[str] = set()
    try:
        batch_file = data_file(n_batch, SEED_BATCH)
        for kind in kinds:
            if "batch" in only:
                runs = []
                for i in range(repeat):
                    url = dbs.fresh(kind, f"batch_{kind}")
                    r = run_cli(url, batch_file, n_batch)
                    r["stored_messages"] = count_messages(url)
                    r["db_mb"] = dbs.size_mb(kind, f"batch_{kind}")
                    dbs.drop(kind, f"batch_{kind}")
                    log(f"batch {kind} run {i + 1}/{repeat}: {r['rate']:,.0f} msg/s, "
                        f"{r['rss_mb']:.0f} MB RSS, {r['summary']}")
                    runs.append(r)
                section[f"batch_{kind}"] = {"runs": runs, "rate": median_of(runs),
                                            "messages": n_batch,
                                            "rss_mb": max(r["rss_mb"] for r in runs)}
                save_results(results)
            if "raw" in only:
                runs = []
                for i in range(repeat):
                    r = run_raw(dbs, kind, batch_file, n_batch)
                    log(f"raw {kind} run {i + 1}/{repeat}: {r['rate']:,.0f} rows/s")
                    runs.append(r)
                section[f"raw_{kind}"] = {"runs": runs, "rate": median_of(runs)}
                save_results(results)
        if "single" in only:
            runs = []
            for i in range(repeat):
                r = run_single(dbs, "sqlite", batch_file, n_single)
                log(f"single sqlite run {i + 1}/{repeat}: {r['rate']:,.0f} msg/s {r['outcomes']}")
                runs.append(r)
            section["single_sqlite"] = {"runs": runs, "rate": median_of(runs)}
            save_results(results)
        if "growth" in only:
            # Both bases end just before the probe stream starts, so the probe meets the same
            # recent history (the last days of complaints) and differs only in how much older
            # history the indexes hold: new messages always arrive after the stored ones.
            big_file = data_file(n_big, SEED_BIG_BASE)
            probe_start = (last_sent_at(big_file) + dt.timedelta(hours=1)).replace(
                second=0, microsecond=0)
            small_file = data_file(n_small, SEED_SMALL_BASE, probe_start - dt.timedelta(
                seconds=n_small * MEAN_GAP_S + 3600))
            probe_file = data_file(n_probe, SEED_PROBE, probe_start)
            for kind in growth_kinds:
                g: dict[str, Any] = {"small_messages": n_small, "big_messages": n_big,
                                     "probe_messages": n_probe}
                labels = (("small", small_file, n_small), ("big", big_file, n_big))
                for label, fill_file, n_fill in labels:
                    base = f"growth_{label}_{kind}"
                    if args.keep and dbs.url(kind, base) and _exists(dbs, kind, base):
                        log(f"reusing kept base {base}")
                        dbs.created[base] = kind
                        fill = section.get(f"growth_{kind}", {}).get(f"fill_{label}", {})
                    else:
                        url = dbs.fresh(kind, base)
                        log(f"filling {base} with {n_fill:,} messages through the CLI")
                        fill = run_cli(url, fill_file, n_fill)
                        log(f"filled {base}: {fill['rate']:,.0f} msg/s, "
                            f"{fill['rss_mb']:.0f} MB RSS")
                        if kind == "postgresql":
                            # What autovacuum does in production; this server runs with it
                            # off (conf.d/90-ci.conf), which would leave every updated row's
                            # old version in place and the planner without statistics.
                            dbs.vacuum_analyze(base)
                            log(f"VACUUM ANALYZE {base} done")
                    fill["stored_messages"] = count_messages(dbs.url(kind, base))
                    fill["db_mb"] = dbs.size_mb(kind, base)
                    g[f"fill_{label}"] = fill
                # The runs alternate small, big, small, big ...: both sizes meet the same
                # machine (other load, page cache, CPU frequency) instead of one after the other.
                runs: dict[str, list[dict[str, Any]]] = {"small": [], "big": []}
                for i in range(args.growth_repeat):
                    for label, _, _ in labels:
                        url = dbs.clone(kind, f"growth_{label}_{kind}", f"growth_work_{kind}")
                        r = run_cli(url, probe_file, n_probe)
                        dbs.drop(kind, f"growth_work_{kind}")
                        log(f"growth {kind} into {label} run {i + 1}/{args.growth_repeat}: "
                            f"{r['rate']:,.0f} msg/s")
                        runs[label].append(r)
                for label, _, _ in labels:
                    g[label] = {"runs": runs[label], "rate": median_of(runs[label])}
                    if args.keep:
                        keep.add(f"growth_{label}_{kind}")
                    else:
                        dbs.drop(kind, f"growth_{label}_{kind}")
                g["difference_pct"] = 100 * (g["small"]["rate"] - g["big"]["rate"]) \
                    / g["small"]["rate"]
                section[f"growth_{kind}"] = g
                save_results(results)
    finally:
        dbs.drop_all(keep)
    section["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    save_results(results)
    return section


def _exists(dbs: Databases, kind: str, name: str) -> bool:
    if kind == "sqlite":
        return (DB_DIR / (name + ".db")).exists()
    import psycopg
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (PREFIX + name,)).fetchone() is not None


# ---------------------------------------------------------------- report


def _fmt(x: float | None, spec: str = ",.0f") -> str:
    return "—" if x is None else format(x, spec)


def table(section: dict[str, Any]) -> str:
    p = section.get("params", {})

    def rate(key: str) -> float | None:
        return section.get(key, {}).get("rate")

    def runs(key: str) -> str:
        rs = section.get(key, {}).get("runs", [])
        return f"{len(rs)}" if rs else "—"

    lines = ["| measurement | SQLite | PostgreSQL | target | runs |",
             "|---|---:|---:|---|---|"]
    nb = section.get("batch_sqlite", section.get("batch_postgresql", {})).get(
        "messages", p.get("batch_messages", 0))
    lines.append(f"| batch ingest, CLI, {nb:,} msgs (msg/s, median) | "
                 f"{_fmt(rate('batch_sqlite'))} | {_fmt(rate('batch_postgresql'))} | "
                 f"≥3,000 / ≥2,000 | {runs('batch_sqlite')} / {runs('batch_postgresql')} |")
    cpu = []
    for k in ("sqlite", "postgresql"):
        rs = section.get(f"batch_{k}", {}).get("runs", [])
        n = section.get(f"batch_{k}", {}).get("messages", nb)
        cpu.append(statistics.median(n / r["cpu_s"] for r in rs) if rs else None)
    lines.append(f"| … per CPU-second of the CLI process (user+sys; msg/CPU-s, median) | "
                 f"{_fmt(cpu[0])} | {_fmt(cpu[1])} | | |")
    rss = [section.get(f"batch_{k}", {}).get("rss_mb") for k in ("sqlite", "postgresql")]
    lines.append(f"| peak RSS of the CLI process (MB, max of runs) | {_fmt(rss[0])} | "
                 f"{_fmt(rss[1])} | < 300 | |")
    lines.append(f"| raw Core executemany, same rows (rows/s, median) | "
                 f"{_fmt(rate('raw_sqlite'))} | {_fmt(rate('raw_postgresql'))} | baseline | "
                 f"{runs('raw_sqlite')} / {runs('raw_postgresql')} |")
    ratios = []
    for k in ("sqlite", "postgresql"):
        a, b = rate(f"batch_{k}"), rate(f"raw_{k}")
        ratios.append(None if a is None or b is None else a / b)
    lines.append(f"| ours / raw | {_fmt(ratios[0], '.2f')} | {_fmt(ratios[1], '.2f')} | | |")
    ns = section.get("single_sqlite", {}).get("messages", p.get("single_messages", 0))
    lines.append(f"| one-at-a-time durable ingest, {ns:,} msgs "
                 f"(msg/s, median) | {_fmt(rate('single_sqlite'))} | — | ≥500 | "
                 f"{runs('single_sqlite')} |")
    growth = [section.get(f"growth_{k}", {}) for k in ("sqlite", "postgresql")]

    def held(g: dict[str, Any], label: str) -> str:
        n = g.get(f"fill_{label}", {}).get("stored_messages")
        return "" if n is None else f" (holding {n:,})"

    for label in ("small", "big"):
        cells = [f"{_fmt(g.get(label, {}).get('rate'))}{held(g, label)}" for g in growth]
        rr = [len(g.get(label, {}).get("runs", [])) or "—" for g in growth]
        lines.append(f"| 10,000-msg file into the {label} DB (msg/s, median) | {cells[0]} | "
                     f"{cells[1]} | | {rr[0]} / {rr[1]} |")
    for label in ("small", "big"):
        cells = []
        for g in growth:
            rs = g.get(label, {}).get("runs", [])
            cells.append(_fmt(statistics.median(g.get("probe_messages", 10_000) / r["cpu_s"]
                                                for r in rs) if rs else None))
        lines.append(f"| … into the {label} DB per CPU-second (msg/CPU-s, median) | {cells[0]} | "
                     f"{cells[1]} | | |")
    diffs = [g.get("difference_pct") for g in growth]
    lines.append(f"| slowdown small → big | {_fmt(diffs[0], '.1f')} % | "
                 f"{_fmt(diffs[1], '.1f')} % | < 25 % | |")
    fills = [section.get(f"growth_{k}", {}).get("fill_big", {}) for k in ("sqlite", "postgresql")]
    lines.append(f"| filling the big growth base through the CLI "
                 f"(msg/s, once) | {_fmt(fills[0].get('rate'))} | {_fmt(fills[1].get('rate'))} "
                 f"| | 1 / 1 |")
    lines.append(f"| … its peak RSS (MB) | {_fmt(fills[0].get('rss_mb'))} | "
                 f"{_fmt(fills[1].get('rss_mb'))} | < 300 | |")
    lines.append(f"| … database size after it (MB) | {_fmt(fills[0].get('db_mb'))} | "
                 f"{_fmt(fills[1].get('db_mb'))} | | |")
    return "\n".join(lines)


def report(section: dict[str, Any], mode: str) -> str:
    m = section.get("machine", {})
    return "\n".join([
        f"### Ingest benchmark ({mode} run, finished {section.get('finished_at', '?')})",
        "",
        f"Machine: {m.get('nproc')} CPUs ({m.get('cpu')}), {m.get('ram_gb')} GB RAM, "
        f"Python {m.get('python')}, SQLite {m.get('sqlite')}, PostgreSQL {m.get('postgresql')}, "
        f"SQLAlchemy {m.get('sqlalchemy')}.",
        "",
        table(section),
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="ingest benchmark (issue 2)")
    p.add_argument("--quick", action="store_true", help="small smoke-test version")
    p.add_argument("--only", default="batch,raw,single,growth",
                   help="comma-separated phases: batch,raw,single,growth")
    p.add_argument("--kinds", default="sqlite,postgresql", help="databases for batch and raw")
    p.add_argument("--growth-kinds", default="sqlite,postgresql",
                   help="databases for the growth comparison")
    p.add_argument("--repeat", type=int, default=None, help="runs per cheap measurement")
    p.add_argument("--growth-repeat", type=int, default=3,
                   help="probe runs into each growth base (alternating small and big)")
    p.add_argument("--messages", type=int, default=None, help="batch size of measurement 1")
    p.add_argument("--single", type=int, default=None, help="messages of measurement 3")
    p.add_argument("--big", type=int, default=None, help="messages in the big growth base")
    p.add_argument("--keep", action="store_true",
                   help="keep (and reuse) the growth base databases")
    p.add_argument("--report-only", action="store_true",
                   help="print the table from bench/out/ingest_results.json")
    args = p.parse_args(argv)
    mode = "quick" if args.quick else "full"
    if args.report_only:
        section = load_results().get(mode, {})
    else:
        section = run(args)
    text = report(section, mode)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
