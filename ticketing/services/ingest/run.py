"""Use case: turn raw payloads into customers, tickets and messages — the entry points.

* ``store_and_process``: what a live channel does (API, SMTP, chat): store the raw payloads and
  run the pipeline in one transaction; on failure the raw payloads are kept and retried.
* ``ingest_chunks``: bulk ingest (``ticketing ingest jsonl``), chunk by chunk, the pure half of
  the next chunk prepared in another process while this one is written.
* ``run_pending``: one worker pass over the inbox (``FOR UPDATE SKIP LOCKED`` on PostgreSQL).

The pipeline itself (preparation and steps) is ``pipeline``; the package re-exports what the
drivers use.  This module asks the unit of work it is given (``store.db.Transactions``) for the transactions of ingest, including the
row-by-row retry of a failed batch.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future

import sqlalchemy as sa

from ticketing.domain.raw import RawDelivery
from ticketing.services.clock import Clock
from ticketing.services.ingest.pipeline import prepare, process_claimed
from ticketing.services.ingest.policy import IngestPolicy
from ticketing.services.ingest.work import Outcome, Prepared
from ticketing.store import inbox as inbox_store
from ticketing.store.db import Transactions
from ticketing.store import tickets as q
from ticketing.store.ids import IdAllocator

log = logging.getLogger(__name__)


def process_ids(uow: Transactions, ids: Sequence[int], *, policy: IngestPolicy,
                clock: Clock, prepared: Mapping[int, Prepared] | None = None) -> list[Outcome]:
    """Process these pending inbox rows now; a failing batch is retried row by row so that one
    poisonous payload is quarantined without holding back the others."""
    try:
        with uow.write() as conn:
            claimed = inbox_store.claim(conn, limit=len(ids), ids=ids)
            return process_claimed(conn, claimed, policy=policy, clock=clock,
                                   prepared=prepared)
    except Exception:
        log.warning("batch of %d failed; retrying one by one", len(ids), exc_info=True)
    return _one_by_one(uow, ids, policy=policy, clock=clock)


def _one_by_one(uow: Transactions, ids: Sequence[int], *, policy: IngestPolicy,
                clock: Clock) -> list[Outcome]:
    out: list[Outcome] = []
    for rid in ids:
        try:
            with uow.write() as conn:
                claimed = inbox_store.claim(conn, limit=1, ids=[rid])
                out.extend(process_claimed(conn, claimed, policy=policy, clock=clock))
        except Exception:
            log.exception("ingest of inbox row %s failed", rid)
            error = _describe_failure()
            with uow.write() as conn:
                inbox_store.record_failure(conn, rid, error, clock.now())
            out.append(Outcome(raw_id=rid, outcome="failed", error=error))
    return out


def _describe_failure() -> str:
    exc = sys.exc_info()[1]
    return f"{type(exc).__name__}: {exc}"[:2000] if exc else "unknown failure"


def as_claimed(payloads: Sequence[RawDelivery],
               stored: Sequence[inbox_store.Stored]) -> list[inbox_store.Claimed]:
    """The newly stored payloads as a worker would see them (for ``prepare`` ahead of time)."""
    return [inbox_store.Claimed(id=s.id, channel=p.channel, payload=p.payload,
                                content_type=p.content_type, attempts=0, meta=dict(p.meta))
            for p, s in zip(payloads, stored, strict=True) if s.inserted]


def _assemble(uow: Transactions, stored: Sequence[inbox_store.Stored],
              done: Mapping[int, Outcome]) -> list[Outcome]:
    earlier = _replayed(uow, [s for s in stored if not s.inserted and s.id not in done])
    out: list[Outcome] = []
    for s in stored:
        if s.inserted:
            out.append(done[s.id])
        elif s.id in done:  # the same key twice in this call: the second is its duplicate
            first = done[s.id]
            out.append(Outcome(raw_id=s.id, outcome="duplicate", ticket_id=first.ticket_id,
                               message_id=first.message_id, customer_id=first.customer_id))
        else:
            out.append(earlier[s.id])
    return out


def store_and_process(uow: Transactions, payloads: Sequence[RawDelivery], *,
                      policy: IngestPolicy, clock: Clock,
                      prepared: Sequence[Prepared | None] | None = None) -> list[Outcome]:
    """What a live channel does: store the raw payloads and run the pipeline over them in one
    transaction, one commit.  If the pipeline fails, that transaction is rolled back, the raw
    payloads alone are committed (pending) in a second one and retried one by one, so nothing
    accepted is lost; only when even that store fails does the caller get the error (and must
    not acknowledge the message).  No savepoint: the happy path saves its two round trips.
    ``prepared`` (one per payload, in order) is the pure half done beforehand (``prepare`` over
    ``unstored(payloads)``)."""
    done: dict[int, Outcome] | None = None
    try:
        with uow.write() as conn:
            ids = IdAllocator(conn, block=max(len(payloads), 1))  # one per transaction
            stored = inbox_store.put_many(conn, payloads, clock.now(), ids=ids)
            # Rows inserted by this transaction: no one else can see, let alone claim, them,
            # and their bytes are at hand.
            claimed = as_claimed(payloads, stored)
            ahead = ({s.id: dataclasses.replace(p, raw_id=s.id)
                      for p, s in zip(prepared, stored, strict=True)
                      if s.inserted and p is not None}
                     if prepared is not None else None)
            done = {o.raw_id: o for o in process_claimed(conn, claimed, policy=policy,
                                                         clock=clock, ids=ids, prepared=ahead)} \
                if claimed else {}
    except Exception:
        log.warning("ingest failed; storing the raw payloads alone and retrying them one by one",
                    exc_info=True)
    if done is None:
        with uow.write() as conn:
            stored = inbox_store.put_many(conn, payloads, clock.now())
        done = {o.raw_id: o for o in _one_by_one(uow, [s.id for s in stored if s.inserted],
                                                 policy=policy, clock=clock)}
    return _assemble(uow, stored, done)


PrepareAsync = Callable[[list[inbox_store.Claimed]], "Future[list[Prepared]]"]


def unstored(payloads: Sequence[RawDelivery],
             skip: Collection[str] = ()) -> list[inbox_store.Claimed]:
    """Payloads not stored yet, numbered by position, for ``prepare`` ahead of the write
    (those whose key is in ``skip``, already stored, are left out)."""
    return [inbox_store.Claimed(id=i, channel=p.channel, payload=p.payload,
                                content_type=p.content_type, attempts=0, meta=dict(p.meta))
            for i, p in enumerate(payloads) if p.key not in skip]


def _known_keys(uow: Transactions, chunk: Sequence[RawDelivery]) -> set[str]:
    """Keys of this chunk already in the inbox (a replayed file): not worth preparing."""
    with uow.read() as conn:
        return set(inbox_store.stored_keys(conn, [p.key for p in chunk]))


def ingest_chunks(uow: Transactions, chunks: Iterable[Sequence[RawDelivery]], *,
                  policy: IngestPolicy, clock: Clock, prepare_async: PrepareAsync | None = None
                  ) -> Iterator[tuple[Sequence[RawDelivery], list[Outcome]]]:
    """Bulk ingest, in order, chunk by chunk, each stored and processed in one transaction as a
    live channel does (``store_and_process``).  With ``prepare_async`` (another process) the
    pure half of chunk k+1 is computed while chunk k is written: two cores instead of one."""
    pending: tuple[Sequence[RawDelivery], Future[list[Prepared]] | None] | None = None
    for chunk in chunks:
        future = (prepare_async(unstored(chunk, _known_keys(uow, chunk)))
                  if prepare_async else None)
        if pending is not None:
            yield _write_chunk(uow, pending, policy, clock)
        pending = (chunk, future)
    if pending is not None:
        yield _write_chunk(uow, pending, policy, clock)


def _write_chunk(uow: Transactions, pending: tuple[Sequence[RawDelivery],
                                                   Future[list[Prepared]] | None],
                 policy: IngestPolicy, clock: Clock
                 ) -> tuple[Sequence[RawDelivery], list[Outcome]]:
    chunk, future = pending
    prepared: list[Prepared | None] | None = None
    if future is not None:
        by_position = {p.raw_id: p for p in future.result()}
        prepared = [by_position.get(i) for i in range(len(chunk))]
    return chunk, store_and_process(uow, chunk, policy=policy, clock=clock, prepared=prepared)


def _replayed(uow: Transactions, stored: Sequence[inbox_store.Stored]) -> dict[int, Outcome]:
    """Outcomes for payloads whose key was already in the inbox."""
    ids = [s.id for s in stored]
    if not ids:
        return {}
    msg = q.messages
    out: dict[int, Outcome] = {}
    with uow.read() as conn:
        rows = conn.execute(sa.select(msg.c.raw_id, msg.c.id, msg.c.ticket_id, msg.c.customer_id)
                            .where(msg.c.raw_id.in_(ids)))
        for r in rows:
            out[int(r.raw_id)] = Outcome(raw_id=int(r.raw_id), outcome="duplicate",
                                         message_id=int(r.id), ticket_id=int(r.ticket_id),
                                         customer_id=r.customer_id)
    for s in stored:
        if s.id not in out:
            status = {"quarantined": "rejected", "ignored": "ignored"}.get(s.status, "duplicate")
            out[s.id] = Outcome(raw_id=s.id, outcome=status)
    return out


def run_pending(uow: Transactions, *, policy: IngestPolicy, clock: Clock,
                batch_size: int = 500) -> int:
    """One worker pass: claim a batch of pending rows and process them; returns how many.

    On SQLite the pure half runs before the write lock is taken (from a plain read), so that
    several worker processes overlap their CPU work instead of queueing behind the one writer.
    On PostgreSQL it runs inside the claiming transaction, whose row locks keep other workers
    from preparing the same rows."""
    prepared: dict[int, Prepared] | None = None
    if not uow.has_row_locks():
        with uow.read() as conn:
            peek = inbox_store.claim(conn, limit=batch_size)
        if not peek:
            return 0
        prepared = {p.raw_id: p for p in prepare(peek, policy)}
    ids: list[int] = []
    try:
        with uow.write() as conn:
            claimed = inbox_store.claim(conn, limit=batch_size,
                                        ids=list(prepared) if prepared is not None else None)
            ids = [c.id for c in claimed]
            if claimed:
                process_claimed(conn, claimed, policy=policy, clock=clock, prepared=prepared)
            return len(ids)
    except Exception:
        if not ids:
            raise
        log.warning("worker batch failed; isolating rows", exc_info=True)
    _one_by_one(uow, ids, policy=policy, clock=clock)
    return len(ids)
