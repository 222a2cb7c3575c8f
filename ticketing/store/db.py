"""Engine factory: one place that knows how SQLite and PostgreSQL must be set up.

SQLite: WAL, foreign keys on, and every transaction ``BEGIN IMMEDIATE`` so that a writer takes
the lock up front (no "database is locked" upgrade failures between several processes).
PostgreSQL: psycopg 3, a pool sized for the worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event


def is_sqlite(engine: sa.Engine | sa.Connection) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, echo: bool = False, pool_size: int = 5) -> sa.Engine:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, echo=echo, connect_args={"timeout": 30})
        _setup_sqlite(engine)
        return engine
    kwargs: dict[str, Any] = {"pool_size": pool_size, "max_overflow": 10, "pool_pre_ping": True}
    return sa.create_engine(url, echo=echo, **kwargs)


def _setup_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (pysqlite's own is deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process crash (what a killed server is); only an OS
        # crash or power loss can lose the last commits.  FULL is a setting away.
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        # The default 2 MB page cache makes every index probe of a large database a read
        # (no mmap: its pages would count in the resident size the benchmarks watch).
        cur.execute("PRAGMA cache_size=-65536")
        # Checkpoint (the only fsync in WAL/NORMAL) every ~200 MB of WAL, not every 4 MB: a
        # commit-per-message channel otherwise pays a checkpoint every few dozen commits, and
        # in a large database a batch dirties index leaves all over the file; between two
        # checkpoints a page changed many times is copied back once (measured at 1M stored
        # messages: -20 % write time per message against a 40 MB interval).
        cur.execute("PRAGMA wal_autocheckpoint=50000")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Readers (``execution_options(readonly=True)``) need no lock in WAL mode.
        readonly = conn.get_execution_options().get("readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


class Transactions:
    """The small unit of work a use case that spans several transactions is given (the outbox
    worker settles each delivery apart, ingest retries a failed batch row by row): it asks for
    a transaction here and never begins, commits or picks an isolation mode itself.  The
    driver that builds it owns the engine (``App.uow``); SQLite writers take ``BEGIN
    IMMEDIATE`` (see ``_setup_sqlite``), readers a plain ``BEGIN``."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """One write transaction, committed when the block ends without an exception."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """One read-only transaction (no write lock on SQLite)."""
        with self.engine.connect().execution_options(readonly=True) as conn, conn.begin():
            yield conn

    def connect_autocommit(self) -> sa.Connection:
        """A connection of the caller's own on which every statement commits by itself, for
        a writer that keeps it open and writes one statement per step (a group-commit sink on
        PostgreSQL: no pool check-out and ping, no BEGIN and COMMIT round trips per batch).
        The caller closes it."""
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def has_row_locks(self) -> bool:
        """Whether other writers run concurrently (PostgreSQL): rows must then be claimed."""
        return self.engine.dialect.name == "postgresql"
