"""Which b-trees a SQLite ingest writes: per table and index, the WAL frames (pages written at
commits) and distinct pages a JSONL file's ingest produced, from the WAL's own frame headers.

    .venv/bin/python bench/wal_pages.py BASE.db FILE.jsonl [--top 15]

Works on a copy of BASE.db (the original is not touched).  The ingest runs in this process
through the same service the CLI uses (chunks of 500, one transaction each), with automatic
checkpoints off so that the WAL holds every frame; a second connection stays open so the ingest's
close does not checkpoint it away.  Then each frame's page number is mapped to its owner with
the ``dbstat`` virtual table.  Used for docs/benchmarks.md's growth analysis (10k probe into the
10k and the 1M growth bases of bench/ingest.py).
"""

from __future__ import annotations

import argparse
import collections
import shutil
import sqlite3
import struct
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from ticketing.app import App, settle_for_throughput  # noqa: E402
from ticketing.entrypoints.cli import jsonl_payloads  # noqa: E402
from ticketing.services.ingest import ingest_chunks  # noqa: E402
from ticketing.services.clock import SystemClock  # noqa: E402
from ticketing.settings import Settings  # noqa: E402
from ticketing.store.db import make_engine  # noqa: E402


def frames(wal: Path) -> tuple[list[int], int]:
    """Page numbers of the WAL's frames, in order, and how many commits they make."""
    data = wal.read_bytes()
    page_size = struct.unpack(">I", data[8:12])[0]
    pages, commits, off = [], 0, 32
    while off + 24 + page_size <= len(data):
        page, size_after = struct.unpack(">II", data[off:off + 8])
        pages.append(page)
        commits += size_after != 0
        off += 24 + page_size
    return pages, commits


def run(base: Path, jsonl: Path, top: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="walpages-"))
    db = work / "probe.db"
    shutil.copyfile(base, db)
    keeper = sqlite3.connect(db)  # never the last connection: no checkpoint on close
    keeper.execute("SELECT 1 FROM sqlite_schema LIMIT 1").fetchall()
    engine = make_engine(f"sqlite:///{db}")
    sa.event.listen(engine, "connect",
                    lambda dbapi, _r: dbapi.execute("PRAGMA wal_autocheckpoint=0"))
    app = App(settings=Settings(database_url=f"sqlite:///{db}", config_dir=str(ROOT / "config")),
              clock=SystemClock())
    app.__dict__["engine"] = engine
    settle_for_throughput(app)
    with jsonl.open("rb") as stream:
        items = [p for _, p in jsonl_payloads(iter(stream), str(jsonl))]
    chunks = [items[i:i + 500] for i in range(0, len(items), 500)]
    done = sum(len(out) for _, out in ingest_chunks(app.uow, chunks, policy=app.ingest_policy,
                                                    clock=app.clock))
    snapshot = work / "wal.copy"
    shutil.copyfile(Path(str(db) + "-wal"), snapshot)  # before anything can checkpoint
    pages, commits = frames(snapshot)
    owner = dict(keeper.execute("SELECT pageno, name FROM dbstat"))
    per = collections.Counter(owner.get(p, "(new page)") for p in pages)
    distinct = collections.Counter(owner.get(p, "(new page)") for p in set(pages))
    print(f"{done:,} messages, {commits} commits: {len(pages):,} WAL frames, "
          f"{len(set(pages)):,} distinct pages")
    print(f"| b-tree | WAL frames | distinct pages |\n|---|---:|---:|")
    for name, n in per.most_common(top):
        print(f"| {name} | {n:,} | {distinct[name]:,} |")
    engine.dispose()
    keeper.close()
    shutil.rmtree(work)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("base", type=Path)
    p.add_argument("jsonl", type=Path)
    p.add_argument("--top", type=int, default=15)
    args = p.parse_args(argv)
    run(args.base, args.jsonl, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
