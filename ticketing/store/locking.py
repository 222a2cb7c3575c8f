"""Row locks and transaction modes, the one place that knows how each database takes them.

PostgreSQL runs several workers at once, so a queue read takes its rows with ``FOR UPDATE SKIP
LOCKED`` (each worker gets other rows) and a read-then-write takes ``FOR UPDATE``.  SQLite has a
single writer (every write transaction is ``BEGIN IMMEDIATE``, see ``store.db``): the same
statements run without a locking clause, which SQLite does not have.

Use cases call these instead of asking which database they run on; ``tests/test_layers.py``
keeps dialect branches out of ``ticketing.services``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa

S = TypeVar("S", bound=sa.Select)  # type: ignore[type-arg]


def has_row_locks(bind: sa.Connection | sa.Engine) -> bool:
    """True where other writers run concurrently and rows must be locked (PostgreSQL)."""
    return bind.dialect.name == "postgresql"


def skip_locked(conn: sa.Connection, stmt: S) -> S:
    """A queue read: rows another transaction holds are skipped, the rest locked."""
    return stmt.with_for_update(skip_locked=True) if has_row_locks(conn) else stmt


def for_update(conn: sa.Connection, stmt: S, *, key_share: bool = False) -> S:
    """A read the transaction will write after (``key_share``: a lock that does not block
    inserts referring to the row)."""
    return stmt.with_for_update(key_share=key_share) if has_row_locks(conn) else stmt


@contextmanager
def statement_transactions(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection for work that is one statement per step, each its own transaction
    (the PostgreSQL claim: autocommit, no lock held between statements).  On SQLite the same
    work runs inside one ``BEGIN IMMEDIATE`` transaction instead: a single writer, so holding
    it for the few statements is what makes them atomic there."""
    if has_row_locks(engine):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn
        return
    with engine.begin() as conn:
        yield conn


def hand_back(conn: sa.Connection, table: sa.Table, ids: Sequence[int], *, leased: str,
              now: dt.datetime) -> None:
    """Rows a worker leased (status ``leased``) and will not work on (it is stopping): pending
    and due now for another worker, the attempt not counted."""
    if ids:
        conn.execute(table.update().where(table.c.id.in_(list(ids)), table.c.status == leased)
                     .values(status="pending", next_attempt_at=now,
                             attempts=table.c.attempts - 1))
