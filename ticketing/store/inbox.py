"""The raw inbox: what a transport accepted, stored before any parsing, unique by key.

A transport calls ``put`` and acknowledges only after the commit; workers ``claim`` pending rows
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers on several hosts never take the same
row; SQLite has one writer at a time anyway) and ``finish`` them in the same transaction as the
tickets they produced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ticketing.domain.raw import RawDelivery
from ticketing.store import bulk, tables
from ticketing.store.ids import IdAllocator

inbox = tables.inbox
MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Stored:
    id: int
    inserted: bool  # False: the same key was already stored (a retry or a replay)
    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Claimed:
    id: int
    channel: str
    payload: bytes
    content_type: str
    attempts: int
    meta: dict[str, Any]


def digest(key: str) -> bytes:
    """What the inbox's unique index holds for an idempotency key."""
    return hashlib.sha256(key.encode()).digest()[:16]


def put_many(conn: sa.Connection, items: Sequence[RawDelivery], now: dt.datetime,
             status: str = "pending", error: str | None = None,
             ids: IdAllocator | None = None) -> list[Stored]:
    """Store payloads not seen before; returns, in order, each one's row and whether it is new."""
    if not items:
        return []
    unique = list(dict((i.key, i) for i in items).values())
    # Insert, skipping known keys, and learn from RETURNING which rows are ours; only keys
    # already held (replays, or another writer first on PostgreSQL) are then looked up.
    new_ids = (ids or IdAllocator(conn)).take(inbox, len(unique))
    rows = [{"id": rid, "channel": i.channel, "idempotency_key": i.key,
             "key_digest": digest(i.key), "payload": i.payload, "content_type": i.content_type,
             "status": status, "attempts": 0, "last_error": error, "received_at": now,
             "processed_at": None, "meta": dict(i.meta)}
            for rid, i in zip(new_ids, unique, strict=True)]
    ours = bulk.insert_returning_ids(conn, inbox, rows,
                                     on_conflict_do_nothing=("key_digest",))
    inserted = {i.key: rid for rid, i in zip(new_ids, unique, strict=True) if rid in ours}
    existing = _by_key(conn, [i.key for i in unique if i.key not in inserted])
    out: list[Stored] = []
    seen: set[str] = set()
    for i in items:
        if i.key in inserted and i.key not in seen:
            out.append(Stored(id=inserted[i.key], inserted=True, status=status))
        else:
            rid, st = existing.get(i.key) or (inserted[i.key], status)
            out.append(Stored(id=rid, inserted=False, status=st))
        seen.add(i.key)
    return out


def put_many_statement(conn: sa.Connection, items: Sequence[RawDelivery],
                       now: dt.datetime) -> list[Stored]:
    """``put_many`` as ONE statement on PostgreSQL, for a connection in autocommit (a
    group-commit writer): the insert is its own transaction, all rows or none; ids come from
    the table's sequence in the same statement (no reservation round trip).  Keys already
    held are then looked up (a read).  SQLite: ``put_many`` (the caller's transaction)."""
    if not items or conn.dialect.name != "postgresql":
        return put_many(conn, items, now)
    unique = list(dict((i.key, i) for i in items).values())
    rows = [{"channel": i.channel, "idempotency_key": i.key, "key_digest": digest(i.key),
             "payload": i.payload, "content_type": i.content_type, "status": "pending",
             "attempts": 0, "last_error": None, "received_at": now, "processed_at": None,
             "meta": dict(i.meta)} for i in unique]
    ours = bulk.insert_returning(conn, inbox, rows, on_conflict_do_nothing=("key_digest",),
                                 returning=("id", "key_digest"))
    by_digest = {digest(i.key): i.key for i in unique}
    inserted = {by_digest[bytes(r[1])]: int(r[0]) for r in ours}
    existing = (_by_key(conn, [i.key for i in unique if i.key not in inserted])
                if len(inserted) < len(unique) else {})
    out: list[Stored] = []
    seen: set[str] = set()
    for i in items:
        if i.key in inserted and i.key not in seen:
            out.append(Stored(id=inserted[i.key], inserted=True, status="pending"))
        else:
            rid, st = existing.get(i.key) or (inserted[i.key], "pending")
            out.append(Stored(id=rid, inserted=False, status=st))
        seen.add(i.key)
    return out


_BY_KEY = (sa.select(inbox.c.key_digest, inbox.c.id, inbox.c.status)
           .where(inbox.c.key_digest.in_(sa.bindparam("digests", expanding=True))))
_CLAIM_COLUMNS = (inbox.c.id, inbox.c.channel, inbox.c.payload, inbox.c.content_type,
                  inbox.c.attempts, inbox.c.meta)
_CLAIM_IDS = (sa.select(*_CLAIM_COLUMNS)
              .where(inbox.c.status == "pending",
                     inbox.c.id.in_(sa.bindparam("ids", expanding=True)))
              .order_by(inbox.c.id))
_CLAIM_NEXT = (sa.select(*_CLAIM_COLUMNS).where(inbox.c.status == "pending")
               .order_by(inbox.c.id).limit(sa.bindparam("n")))
_CLAIM = {("sqlite", True): _CLAIM_IDS, ("sqlite", False): _CLAIM_NEXT,
          ("postgresql", True): _CLAIM_IDS.with_for_update(skip_locked=True),
          ("postgresql", False): _CLAIM_NEXT.with_for_update(skip_locked=True)}


def stored_keys(conn: sa.Connection, keys: Sequence[str]) -> list[str]:
    """Which of these idempotency keys are already in the inbox."""
    return list(_by_key(conn, keys))


def _by_key(conn: sa.Connection, keys: Sequence[str]) -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}
    for start in range(0, len(keys), 900):
        by_digest = {digest(k): k for k in keys[start:start + 900]}
        rows = conn.execute(_BY_KEY, {"digests": list(by_digest)})
        out.update({by_digest[bytes(r[0])]: (int(r[1]), str(r[2])) for r in rows})
    return out


def claim(conn: sa.Connection, *, limit: int, ids: Sequence[int] | None = None) -> list[Claimed]:
    """Pending rows for this transaction alone, oldest first."""
    stmt = _CLAIM[(conn.dialect.name if conn.dialect.name == "postgresql" else "sqlite",
                   ids is not None)]
    params: dict[str, Any] = {"ids": list(ids)} if ids is not None else {"n": limit}
    return [Claimed(id=int(r.id), channel=r.channel, payload=bytes(r.payload),
                    content_type=r.content_type, attempts=int(r.attempts), meta=dict(r.meta or {}))
            for r in conn.execute(stmt, params)][:limit]


def finish(conn: sa.Connection, results: Sequence[tuple[int, str, str | None]],
           now: dt.datetime) -> None:
    """Mark claimed rows (id, status, error) as processed."""
    bulk.update_by_id(conn, inbox, [{"id": rid, "status": st, "last_error": err,
                                     "processed_at": now} for rid, st, err in results],
                      also="attempts = attempts + 1")


def record_failure(conn: sa.Connection, item_id: int, error: str, now: dt.datetime) -> str:
    """One more failed attempt; after ``MAX_ATTEMPTS`` the row is quarantined, never dropped."""
    attempts = conn.execute(sa.select(inbox.c.attempts).where(inbox.c.id == item_id)).scalar_one()
    status = "quarantined" if attempts + 1 >= MAX_ATTEMPTS else "pending"
    conn.execute(inbox.update().where(inbox.c.id == item_id)
                 .values(attempts=attempts + 1, last_error=error[:2000], status=status,
                         processed_at=now if status == "quarantined" else None))
    return status


def requeue(conn: sa.Connection, *, status: str = "quarantined") -> int:
    """Put rows back to pending (after a parser fix): the raw bytes were kept for this."""
    result = conn.execute(inbox.update().where(inbox.c.status == status)
                          .values(status="pending", attempts=0, processed_at=None))
    return int(result.rowcount or 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Held:
    """An inbox row as a requeue sees it (locked for this transaction)."""

    id: int
    channel: str
    status: str
    meta: dict[str, Any]
    last_error: str | None


_HELD_COLUMNS = (inbox.c.id, inbox.c.channel, inbox.c.status, inbox.c.meta, inbox.c.last_error)


def held(conn: sa.Connection, *, ids: Sequence[int] = (), key: str | None = None,
         status: str | None = None, limit: int = 100_000) -> list[Held]:
    """Rows by id, by idempotency key or by status, locked (PostgreSQL ``FOR UPDATE``; SQLite's
    write transaction holds the whole database), oldest first."""
    stmt = sa.select(*_HELD_COLUMNS).order_by(inbox.c.id).limit(limit)
    if ids:
        stmt = stmt.where(inbox.c.id.in_(list(ids)))
    if key is not None:
        stmt = stmt.where(inbox.c.key_digest == digest(key))
    if status is not None:
        stmt = stmt.where(inbox.c.status == status)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return [Held(id=int(r.id), channel=r.channel, status=r.status, meta=dict(r.meta or {}),
                 last_error=r.last_error) for r in conn.execute(stmt)]


def back_to_pending(conn: sa.Connection, rows: Sequence[tuple[int, dict[str, Any] | None]]
                    ) -> int:
    """Rows (id, new meta or None to keep it) back to ``pending`` with no attempts counted."""
    values: dict[str, Any] = {"status": "pending", "attempts": 0, "processed_at": None}
    count = 0
    for rid, meta in rows:
        if meta is not None:
            count += conn.execute(inbox.update().where(inbox.c.id == rid)
                                  .values(meta=meta, **values)).rowcount or 0
    plain = [rid for rid, meta in rows if meta is None]
    for start in range(0, len(plain), 900):
        count += conn.execute(inbox.update().where(inbox.c.id.in_(plain[start:start + 900]))
                              .values(**values)).rowcount or 0
    return count
