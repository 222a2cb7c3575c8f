"""Bulk writes of the ingest path, below SQLAlchemy's per-row parameter processing.

A batch writes thousands of rows per second; SQLAlchemy's ``executemany`` spends more CPU
building and type-processing each row's parameters than the database spends storing it.  Here a
table's column list and per-column converters are worked out once, rows become plain tuples,
and the driver gets them directly:

* SQLite: ``executemany`` of one prepared ``INSERT``/``UPDATE`` (the database is in-process, so
  a statement per row costs no round trip).
* PostgreSQL: ``COPY ... FROM STDIN`` for plain inserts, and one ``unnest``-of-arrays statement
  for an insert with ``ON CONFLICT`` or an update of many rows: one round trip and one
  statement for the server to plan instead of one per row.

Values are stored exactly as the typed SQLAlchemy path stores them (UTC timestamps, JSON text,
JSON ``null`` for ``None``), which ``tests/store/test_bulk.py`` checks column by column on both
databases.  Table and column names come from the metadata, never from data.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ticketing.models.base import UTCDateTime

Convert = Callable[[Any], Any]
COPY_FROM = 8  # PostgreSQL: COPY for more rows than this; below, one INSERT ... unnest (one
               # round trip, where COPY's start / data / end exchange costs more)
_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


def _sqlite_time(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    # SQLAlchemy's SQLite DATETIME storage format: always six fraction digits.
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _pg_time(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value


def _json(value: Any) -> str:
    return json.dumps(value)  # None → JSON "null", as sa.JSON (none_as_null=False) stores it


def _converter(column: sa.Column[Any], dialect: str) -> Convert | None:
    if isinstance(column.type, UTCDateTime):
        return _sqlite_time if dialect == "sqlite" else _pg_time
    if isinstance(column.type, sa.JSON):
        return _json  # PostgreSQL gets the text through COPY/unnest and parses it as jsonb
    return None


def _pg_type(column: sa.Column[Any]) -> str:
    impl = column.type
    if isinstance(impl, UTCDateTime):
        return "timestamptz"
    if isinstance(impl, sa.JSON):
        return "jsonb"
    name = impl.dialect_impl(_PG).compile(dialect=_PG).lower()
    return {"big integer": "bigint"}.get(name, name.split("(")[0])


@dataclass(frozen=True, slots=True)
class _Shape:
    columns: tuple[str, ...]
    converters: tuple[Convert | None, ...]
    fill: tuple[tuple[str, Callable[[], Any]], ...]  # Python-side defaults of absent columns


_SHAPES: dict[tuple[str, str, tuple[str, ...], bool], _Shape] = {}


def _default_of(column: sa.Column[Any]) -> Callable[[], Any] | None:
    default = column.default
    if default is None:
        return None
    if getattr(default, "is_scalar", False):
        value = default.arg  # type: ignore[attr-defined]
        return lambda: value
    if getattr(default, "is_callable", False):
        fn = default.arg  # type: ignore[attr-defined]
        return lambda: fn(None)
    return None


def _shape(table: sa.Table, keys: tuple[str, ...], dialect: str, defaults: bool = True) -> _Shape:
    found = _SHAPES.get((table.name, dialect, keys, defaults))
    if found is None:
        fill = tuple((c.name, d) for c in table.columns
                     if defaults and c.name not in keys and (d := _default_of(c)) is not None)
        names = keys + tuple(name for name, _ in fill)
        found = _SHAPES[(table.name, dialect, keys, defaults)] = _Shape(
            columns=names, converters=tuple(_converter(table.c[n], dialect) for n in names),
            fill=fill)
    return found


def _tuples(shape: _Shape, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    keys = shape.columns[:len(shape.columns) - len(shape.fill)]
    converting = [(i, conv) for i, conv in enumerate(shape.converters) if conv is not None]
    # A batch repeats the same objects (its ``now``, a policy's terms, a message's time in
    # several columns): each is converted once.  ``keep`` holds the originals so that no id
    # is reused by another object while this memo lives.
    memo: dict[int, Any] = {}
    keep: list[Any] = []
    out = []
    for row in rows:
        values = [row[k] for k in keys]
        if shape.fill:
            values.extend(make() for _, make in shape.fill)
        for i, conv in converting:
            value = values[i]
            done = memo.get(id(value), memo)
            if done is memo:
                done = memo[id(value)] = conv(value)
                keep.append(value)
            values[i] = done
        out.append(tuple(values))
    return out


def _dialect(conn: sa.Connection) -> str:
    return "postgresql" if conn.dialect.name == "postgresql" else "sqlite"


def insert(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], *,
           on_conflict_do_nothing: Sequence[str] = ()) -> None:
    """Insert ``rows`` (all with the same keys; absent columns get their model default).
    With ``on_conflict_do_nothing`` a row colliding on that unique key is skipped."""
    if not rows:
        return
    _insert(conn, table, rows, on_conflict_do_nothing, returning="")


def insert_returning_ids(conn: sa.Connection, table: sa.Table,
                         rows: Sequence[Mapping[str, Any]], *,
                         on_conflict_do_nothing: Sequence[str]) -> set[int]:
    """Insert, skipping rows that collide on the unique key, and return the ids of the rows
    actually inserted: one statement (PostgreSQL: ``unnest``; SQLite: multi-row ``VALUES``),
    so a new key costs one probe of the unique index, not a look-up and then an insert."""
    if not rows:
        return set()
    if _dialect(conn) == "postgresql":
        return {int(r[0]) for r in _insert(conn, table, rows, on_conflict_do_nothing,
                                           returning=" RETURNING id")}
    shape = _shape(table, tuple(rows[0]), "sqlite")
    values = _tuples(shape, rows)
    cols = ", ".join(f'"{c}"' for c in shape.columns)
    one = "(" + ", ".join("?" for _ in shape.columns) + ")"
    per = max(1, 32_000 // len(shape.columns))  # SQLite's bound-parameter limit is 32,766
    ours: set[int] = set()
    for start in range(0, len(values), per):
        chunk = values[start:start + per]
        result = conn.exec_driver_sql(
            f'INSERT INTO "{table.name}" ({cols}) VALUES {", ".join(one for _ in chunk)} '
            f'ON CONFLICT ({", ".join(on_conflict_do_nothing)}) DO NOTHING RETURNING id',
            tuple(v for row in chunk for v in row))
        ours.update(int(r[0]) for r in result)
    return ours


def insert_returning(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]],
                     *, on_conflict_do_nothing: Sequence[str],
                     returning: Sequence[str]) -> list[Any]:
    """PostgreSQL: insert ``rows`` in one statement (``unnest``), skipping collisions on the
    unique key, and return ``returning`` of the rows inserted.  Columns left out of the rows
    take the table's server default (an ``id`` from its sequence), so no ids are reserved in a
    round trip of their own."""
    if not rows:
        return []
    assert _dialect(conn) == "postgresql", "insert_returning is PostgreSQL's"
    return _insert(conn, table, rows, on_conflict_do_nothing,
                   returning=" RETURNING " + ", ".join(f'"{c}"' for c in returning))


def _insert(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]],
            on_conflict_do_nothing: Sequence[str], *, returning: str) -> list[Any]:
    dialect = _dialect(conn)
    shape = _shape(table, tuple(rows[0]), dialect)
    values = _tuples(shape, rows)
    cols = ", ".join(f'"{c}"' for c in shape.columns)
    conflict = (f" ON CONFLICT ({', '.join(on_conflict_do_nothing)}) DO NOTHING"
                if on_conflict_do_nothing else "")
    if dialect == "sqlite":
        marks = ", ".join("?" for _ in shape.columns)
        conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({cols}) VALUES ({marks}){conflict}',
                             values)
        return []
    if not conflict and not returning and len(values) > COPY_FROM:
        drain(conn)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as copy:
                for value in values:
                    copy.write_row(value)
        finally:
            cursor.close()
        return []
    columns = [table.c[c] for c in shape.columns]
    sql = (f'INSERT INTO "{table.name}" ({cols}) SELECT {_casts(columns)} FROM '
           f'{_unnest(columns)}{conflict}{returning}')
    params = _arrays(values, len(columns))
    if not returning and _defer(conn, sql, params):
        return []
    result = conn.exec_driver_sql(sql, params)
    return list(result) if returning else []


def _array_type(column: sa.Column[Any]) -> str:
    kind = _pg_type(column)
    return "text" if kind == "jsonb" else kind


def _unnest(columns: Sequence[sa.Column[Any]]) -> str:
    arrays = ", ".join(f"%s::{_array_type(c)}[]" for c in columns)
    names = ", ".join(f"c{i}" for i in range(len(columns)))
    return f"unnest({arrays}) AS u({names})"


def _casts(columns: Sequence[sa.Column[Any]]) -> str:
    return ", ".join(f"c{i}::jsonb" if _pg_type(c) == "jsonb" else f"c{i}"
                     for i, c in enumerate(columns))


def _arrays(values: Sequence[tuple[Any, ...]], width: int) -> tuple[list[Any], ...]:
    return tuple(list(col) for col in zip(*values, strict=True)) if values else \
        tuple([] for _ in range(width))


def update_by_id(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], *,
                 also: str = "", expressions: Mapping[str, str] | None = None) -> None:
    """``UPDATE table SET <every key but id> WHERE id = row["id"]`` for each row, in one go.
    ``expressions`` maps a column to a fixed SQL template of its new value, ``{v}`` standing
    for the row's value (e.g. ``"ticket_count + {v}"``); ``also`` is a fixed SQL assignment
    added to every row (e.g. ``"attempts = attempts + 1"``)."""
    if not rows:
        return
    dialect = _dialect(conn)
    keys = tuple(rows[0])
    shape = _shape(table, keys, dialect, defaults=False)
    assert "id" in keys, "update rows carry their id"
    values = _tuples(shape, rows)
    if dialect == "sqlite":  # ?NNN: a value may be used twice in a template
        ref = {c: f"?{i + 1}" for i, c in enumerate(shape.columns)}
    else:
        ref = {c: f"v.c{i}" + ("::jsonb" if _pg_type(table.c[c]) == "jsonb" else "")
               for i, c in enumerate(shape.columns)}
    templates = expressions or {}
    assign = ", ".join([f'"{c}" = ' + templates.get(c, "{v}").format(v=ref[c])
                        for c in shape.columns if c != "id"] + ([also] if also else []))
    if dialect == "sqlite":
        conn.exec_driver_sql(f'UPDATE "{table.name}" SET {assign} WHERE id = {ref["id"]}',
                             values)
        return
    columns = [table.c[c] for c in shape.columns]
    sql = (f'UPDATE "{table.name}" SET {assign} FROM (SELECT * FROM {_unnest(columns)}) v '
           f'WHERE "{table.name}".id = {ref["id"]}')
    params = _arrays(values, len(columns))
    if not _defer(conn, sql, params):
        conn.exec_driver_sql(sql, params)


# ---------------------------------------------------------------- round trips (PostgreSQL)

_QUEUE = "ticketing.bulk.deferred"
Statement = tuple[str, Sequence[Any]]


@contextlib.contextmanager
def deferred(conn: sa.Connection) -> Iterator[None]:
    """PostgreSQL: inside this block, bulk writes that return nothing are queued and sent
    together, in order, in one pipelined round trip, when the block ends or just before any
    other statement runs on the connection (which therefore always sees them applied).  A
    live channel's message is written with one round trip instead of one per table."""
    if _dialect(conn) != "postgresql" or conn.info.get(_QUEUE) is not None:
        yield
        return
    conn.info[_QUEUE] = []
    try:
        yield
        drain(conn)
    finally:
        conn.info.pop(_QUEUE, None)


def _defer(conn: sa.Connection, sql: str, params: Sequence[Any]) -> bool:
    queue = conn.info.get(_QUEUE)
    if queue is None:
        return False
    queue.append((sql, params))
    return True


def drain(conn: sa.Connection) -> None:
    """Send the queued writes now (no-op when nothing is queued)."""
    queue = conn.info.get(_QUEUE)
    if queue:
        statements = list(queue)
        queue.clear()
        _pipelined(conn, statements)


@sa.event.listens_for(sa.Engine, "before_cursor_execute")
def _drain_first(conn: sa.Connection, *_args: Any) -> None:
    if conn.info.get(_QUEUE):
        drain(conn)


def _pipelined(conn: sa.Connection, statements: Sequence[Statement]
               ) -> list[list[tuple[Any, ...]]]:
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cursors = []
    try:
        with raw.pipeline():
            for sql, params in statements:
                cursor = raw.cursor()
                cursors.append(cursor)
                cursor.execute(sql, tuple(params))
        return [[tuple(r) for r in c.fetchall()] if c.description else [] for c in cursors]
    finally:
        for cursor in cursors:
            cursor.close()


def pipeline(conn: sa.Connection, statements: Sequence[Statement]
             ) -> list[list[tuple[Any, ...]]]:
    """PostgreSQL: run these statements in order, sent together in one round trip (psycopg's
    pipeline mode), after any queued writes; returns each one's rows.  Each statement still
    takes its own snapshot when it starts, after the previous one finished: a lock taken by one
    is held when the next reads.  Elsewhere they simply run one after the other (``%s``
    placeholders become ``?``)."""
    if _dialect(conn) != "postgresql":
        return [[tuple(r) for r in conn.exec_driver_sql(sql.replace("%s", "?"), tuple(params))]
                for sql, params in statements]
    queue = conn.info.get(_QUEUE) or []
    ahead = list(queue)
    queue.clear()
    return _pipelined(conn, [*ahead, *statements])[len(ahead):]
