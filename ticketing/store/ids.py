"""Primary keys handed out in blocks, so a batch can insert parents and children in one
``executemany`` each instead of a round trip per row.

PostgreSQL: ``nextval`` of the column's own sequence, n at a time (safe with many workers).
SQLite: ``max(id) + 1`` read inside the write transaction, which ``BEGIN IMMEDIATE`` makes the
only one; the primary-key index answers ``max`` without a scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa


_TABLES = ("inbox", "customers", "identities", "tickets", "messages", "incidents")
_MAXIMA = "SELECT " + ", ".join(f"(SELECT max(id) FROM {t})" for t in _TABLES)
# PostgreSQL, small transactions (a live channel's message): the first request reserves a few
# ids of every table a message may touch in ONE round trip instead of one per table; an unused
# reservation is a harmless gap in the sequence.
SMALL_BLOCK = 4
_PREFETCH = "SELECT " + ", ".join(
    f"ARRAY(SELECT nextval(pg_get_serial_sequence('{t}', 'id')) FROM generate_series(1, %s))"
    for t in _TABLES)


class IdAllocator:
    """Valid for one transaction only.  On PostgreSQL ids come in blocks of at least
    ``block`` (one round trip per block, not per row); unused ones are simply never used."""

    def __init__(self, conn: sa.Connection, block: int = 256) -> None:
        self._conn = conn
        self._next: dict[str, int] = {}
        self._spare: dict[str, list[int]] = {}
        self._block = block
        self._pg = conn.dialect.name == "postgresql"

    def take(self, table: sa.Table, count: int) -> list[int]:
        if count <= 0:
            return []
        if self._pg:
            if (prefetch := self.prefetch()) is not None:
                self.accept(self._conn.exec_driver_sql(*prefetch).one())
            spare = self._spare.setdefault(table.name, [])
            if len(spare) < count:
                rows = self._conn.execute(
                    sa.text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) "
                            "FROM generate_series(1, :n)"),
                    {"t": table.name, "n": max(count - len(spare), self._block)},
                )
                spare.extend(int(r[0]) for r in rows)
            out, self._spare[table.name] = spare[:count], spare[count:]
            return out
        if not self._next:
            self._read_maxima()
        start = self._next.get(table.name)
        if start is None:
            start = int(self._conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0)))
                        .scalar_one()) + 1
        self._next[table.name] = start + count
        return list(range(start, start + count))

    def prefetch(self) -> tuple[str, tuple[int, ...]] | None:
        """PostgreSQL, small blocks: the statement reserving a few ids of every table, when none
        are reserved yet (it can ride in another round trip: ``accept`` takes its row)."""
        if self._pg and not self._spare and self._block <= SMALL_BLOCK:
            return _PREFETCH, (SMALL_BLOCK,) * len(_TABLES)
        return None

    def accept(self, row: Sequence[Any]) -> None:
        self._spare = {t: [int(v) for v in ids] for t, ids in zip(_TABLES, row, strict=True)}

    def _read_maxima(self) -> None:
        """All the usual tables in one statement (each ``max`` is one B-tree descent)."""
        row = self._conn.exec_driver_sql(_MAXIMA).one()
        self._next = {name: int(value or 0) + 1 for name, value in zip(_TABLES, row, strict=True)}

    def one(self, table: sa.Table) -> int:
        return self.take(table, 1)[0]
