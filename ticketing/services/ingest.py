"""Use case: turn stored raw payloads into customers, tickets and messages.

A batch of claimed inbox rows is first *prepared* — parsed, its evidence (identifiers, topic,
signature) gathered: pure work that may run before the write transaction or in another process —
then goes through a fixed sequence of steps (``STEPS``), each a small function over the shared
``Batch``: drop duplicates → store attachments → lock → resolve the customer → load candidate
tickets → decide the ticket → link incidents → write → acknowledge.  Every lookup
is one indexed query per batch, and every write one ``executemany`` per table, which is what lets
a 2-core machine ingest thousands of messages a second; a live channel runs the very same steps
with a batch of one.  Later concerns (SLA clocks, routing) add steps here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ticketing.domain.errors import MalformedPayload
from ticketing.domain.message import Ignored, InboundMessage, parse_normalized
from ticketing.services.acknowledge import AckPolicy, acknowledge
from ticketing.services.clock import Clock
from ticketing.services.ports import AttachmentExtractor, AttachmentSink
from ticketing.services.sla import SlaSetup
from ticketing.domain.routing import RoutingConfig
from ticketing.services.routing import step_auto_assign, step_route_new_tickets
from ticketing.services.decide import (Batch, Work, decide_ticket, merge_duplicate_tickets,
                                      resolve_customer)
from ticketing.services.evidence import Evidence, EvidencePolicy, gather
from ticketing.services.incidents import (link_incidents, write_incident_links,
                                         write_new_incidents)
from ticketing.store import bulk
from ticketing.store import inbox as inbox_store
from ticketing.store import tickets as q
from ticketing.store.ids import IdAllocator

log = logging.getLogger(__name__)

Parser = Callable[[bytes, Mapping[str, Any]], InboundMessage | Ignored]
NORMALIZED_JSON = "application/vnd.ticketing.message+json"


def parse_normalized_bytes(payload: bytes, _meta: Mapping[str, Any]) -> InboundMessage:
    try:
        data = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise MalformedPayload(f"not valid UTF-8 at byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise MalformedPayload(f"not valid JSON: {exc.msg} at column {exc.colno}") from exc
    return parse_normalized(data)


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestPolicy:
    """What the composition root wires in: parsers by content type and the evidence rules."""

    evidence: EvidencePolicy
    parsers: Mapping[str, Parser] = field(
        default_factory=lambda: {NORMALIZED_JSON: parse_normalized_bytes})
    dedup_window: dt.timedelta = dt.timedelta(days=14)
    acknowledgement: AckPolicy | None = None
    attachment_store: AttachmentSink | None = None
    attachment_extractors: Mapping[str, AttachmentExtractor] = field(default_factory=dict)
    max_attachment_bytes: int = 10 * 1024 * 1024
    sla: SlaSetup | None = None
    routing: RoutingConfig | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    raw_id: int
    outcome: str  # created / appended / duplicate / ignored / rejected / failed
    ticket_id: int | None = None
    message_id: int | None = None
    customer_id: int | None = None
    error: str | None = None


# ---------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """The pure half of the work on one payload, computable before the write transaction and
    in another process: the parsed message (or why there is none) and its evidence."""

    raw_id: int
    msg: InboundMessage | None
    outcome: str | None
    error: str | None
    evidence: Evidence | None


def prepare(claimed: Sequence[inbox_store.Claimed], policy: IngestPolicy) -> list[Prepared]:
    out = []
    for raw in claimed:
        work = Work(raw=raw)
        _parse(work, policy)
        evidence = gather(work.msg, policy.evidence) if work.msg is not None else None
        out.append(Prepared(raw_id=raw.id, msg=work.msg, outcome=work.outcome,
                            error=work.error, evidence=evidence))
    return out


def _parse(work: Work, policy: IngestPolicy) -> None:
    parser = policy.parsers.get(work.raw.content_type)
    if parser is None:
        work.reject(f"no parser for content type {work.raw.content_type!r}")
        return
    try:
        parsed = parser(work.raw.payload, work.raw.meta)
    except MalformedPayload as exc:
        work.reject(str(exc))
        return
    except Exception as exc:  # a parser bug must quarantine one payload, not stop the queue
        log.exception("parser crashed on inbox row %s", work.raw.id)
        work.reject(f"parser error: {type(exc).__name__}: {exc}")
        return
    if isinstance(parsed, Ignored):
        work.outcome, work.error = "ignored", parsed.reason
    else:
        work.msg = parsed


def step_drop_duplicates(batch: Batch) -> None:
    live = [w for w in batch.works if w.msg is not None and w.outcome is None]
    stored = q.messages_by_external_id(batch.conn, [(w.msg.channel, w.msg.external_id)
                                                    for w in live if w.msg])
    first: dict[tuple[str, str], Work] = {}
    for work in live:
        assert work.msg is not None
        key = (str(work.msg.channel), work.msg.external_id)
        if key in stored:
            work.outcome = "duplicate"
            work.message_id, work.ticket_id = stored[key]
        elif key in first:
            work.outcome = "duplicate"
            work.duplicate_of = first[key]
        else:
            first[key] = work


def step_store_attachments(batch: Batch) -> None:
    """Attachment bytes go to the attachment store before the message row that lists them is
    written; one over the size limit is listed but not kept (and says so)."""
    policy = batch.policy
    for work in batch.active():
        assert work.msg is not None
        extract = policy.attachment_extractors.get(work.raw.content_type)
        if policy.attachment_store is None or extract is None or not work.msg.attachments:
            continue
        for attachment, data in extract(work.raw.payload):
            if attachment.sha256 is None:
                continue
            if len(data) > policy.max_attachment_bytes:
                work.attachment_notes[attachment.sha256] = "too large to keep"
                continue
            policy.attachment_store.put(attachment.sha256, data)
            work.attachment_notes[attachment.sha256] = "stored"


def step_lock(batch: Batch) -> None:
    if batch.conn.dialect.name != "postgresql":
        batch.load_identities()  # SQLite: BEGIN IMMEDIATE made this the only writer already
        return
    idents = batch.identity_keys()
    batch.customer_of = q.lock_and_find_customers(
        batch.conn, [f"id:{kind}:{value}" for kind, value in idents], idents)
    # Customers reached through different identifiers are serialized too; a merge committed by
    # another worker while we waited moves identities, so read them again until stable.  (No
    # known customer: nothing to move, and the identifier locks keep new owners out.)
    for _ in range(3):
        if not batch.customer_of:
            break
        before = dict(batch.customer_of)
        batch.customer_of = q.lock_and_find_customers(
            batch.conn, [f"customer:{c}" for c in sorted(set(before.values()))], idents)
        if before == batch.customer_of:
            break


def step_resolve_customers(batch: Batch) -> None:
    for work in batch.active():
        resolve_customer(batch, work)


def step_load_tickets(batch: Batch) -> None:
    batch.load_tickets()
    merge_duplicate_tickets(batch)


def step_decide_tickets(batch: Batch) -> None:
    for work in batch.active():
        decide_ticket(batch, work)


def step_link_incidents(batch: Batch) -> None:
    link_incidents(batch)


def step_write(batch: Batch) -> None:
    write_new_incidents(batch)
    batch.flush()
    write_incident_links(batch)


def step_acknowledge(batch: Batch) -> None:
    acknowledge(batch, batch.policy.acknowledgement)


# Run inside the write transaction, after ``prepare``.
STEPS: Sequence[Callable[[Batch], None]] = (
    step_drop_duplicates,
    step_store_attachments,
    step_lock,
    step_resolve_customers,
    step_load_tickets,
    step_decide_tickets,
    step_link_incidents,
    step_route_new_tickets,
    step_write,
    step_auto_assign,
    step_acknowledge,
)


# ---------------------------------------------------------------- entry points


def process_claimed(conn: sa.Connection, claimed: Sequence[inbox_store.Claimed], *,
                    policy: IngestPolicy, clock: Clock,
                    prepared: Mapping[int, Prepared] | None = None,
                    ids: IdAllocator | None = None) -> list[Outcome]:
    """Run the steps over rows claimed in this transaction and mark them processed.
    ``prepared`` (by raw id) saves redoing the pure half when it was done beforehand."""
    now = clock.now()
    done = dict(prepared or {})
    missing = [c for c in claimed if c.id not in done]
    done.update({p.raw_id: p for p in prepare(missing, policy)})
    works = []
    for raw in claimed:
        p = done[raw.id]
        work = Work(raw=raw, msg=p.msg, outcome=p.outcome, error=p.error)
        if p.evidence is not None:
            work.evidence = p.evidence
        works.append(work)
    batch = Batch(conn=conn, now=now, ids=ids or IdAllocator(conn, block=max(len(claimed), 1)),
                  policy=policy, works=works)
    with bulk.deferred(conn):  # PostgreSQL: the writes go out together, in one round trip
        for step in STEPS:
            step(batch)
        outcomes = _finish_works(conn, batch, now)
    return outcomes


def _finish_works(conn: sa.Connection, batch: Batch, now: dt.datetime) -> list[Outcome]:
    outcomes = []
    finished: list[tuple[int, str, str | None]] = []
    for work in batch.works:
        if work.duplicate_of is not None:
            work.ticket_id, work.message_id = (work.duplicate_of.ticket_id,
                                               work.duplicate_of.message_id)
            work.customer_id = work.duplicate_of.customer_id
        outcome = work.outcome or "failed"
        status = {"rejected": "quarantined", "ignored": "ignored"}.get(outcome, "done")
        finished.append((work.raw.id, status, work.error))
        outcomes.append(Outcome(raw_id=work.raw.id, outcome=outcome, ticket_id=work.ticket_id,
                                message_id=work.message_id,
                                customer_id=batch.canonical(work.customer_id)
                                if work.customer_id else None,
                                error=work.error))
    inbox_store.finish(conn, finished, now)
    return outcomes


def process_ids(engine: sa.Engine, ids: Sequence[int], *, policy: IngestPolicy,
                clock: Clock, prepared: Mapping[int, Prepared] | None = None) -> list[Outcome]:
    """Process these pending inbox rows now; a failing batch is retried row by row so that one
    poisonous payload is quarantined without holding back the others."""
    try:
        with engine.begin() as conn:
            claimed = inbox_store.claim(conn, limit=len(ids), ids=ids)
            return process_claimed(conn, claimed, policy=policy, clock=clock,
                                   prepared=prepared)
    except Exception:
        log.warning("batch of %d failed; retrying one by one", len(ids), exc_info=True)
    return _one_by_one(engine, ids, policy=policy, clock=clock)


def _one_by_one(engine: sa.Engine, ids: Sequence[int], *, policy: IngestPolicy,
                clock: Clock) -> list[Outcome]:
    out: list[Outcome] = []
    for rid in ids:
        try:
            with engine.begin() as conn:
                claimed = inbox_store.claim(conn, limit=1, ids=[rid])
                out.extend(process_claimed(conn, claimed, policy=policy, clock=clock))
        except Exception:
            log.exception("ingest of inbox row %s failed", rid)
            error = _describe_failure()
            with engine.begin() as conn:
                inbox_store.record_failure(conn, rid, error, clock.now())
            out.append(Outcome(raw_id=rid, outcome="failed", error=error))
    return out


def _describe_failure() -> str:
    exc = sys.exc_info()[1]
    return f"{type(exc).__name__}: {exc}"[:2000] if exc else "unknown failure"


def as_claimed(payloads: Sequence[inbox_store.RawPayload],
               stored: Sequence[inbox_store.Stored]) -> list[inbox_store.Claimed]:
    """The newly stored payloads as a worker would see them (for ``prepare`` ahead of time)."""
    return [inbox_store.Claimed(id=s.id, channel=p.channel, payload=p.payload,
                                content_type=p.content_type, attempts=0, meta=dict(p.meta or {}))
            for p, s in zip(payloads, stored, strict=True) if s.inserted]


def _assemble(engine: sa.Engine, stored: Sequence[inbox_store.Stored],
              done: Mapping[int, Outcome]) -> list[Outcome]:
    earlier = _replayed(engine, [s for s in stored if not s.inserted and s.id not in done])
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


def store_and_process(engine: sa.Engine, payloads: Sequence[inbox_store.RawPayload], *,
                      policy: IngestPolicy, clock: Clock,
                      prepared: Sequence[Prepared] | None = None) -> list[Outcome]:
    """What a live channel does: store the raw payloads and run the pipeline over them in one
    transaction, one commit.  If the pipeline fails, that transaction is rolled back, the raw
    payloads alone are committed (pending) in a second one and retried one by one, so nothing
    accepted is lost; only when even that store fails does the caller get the error (and must
    not acknowledge the message).  No savepoint: the happy path saves its two round trips.
    ``prepared`` (one per payload, in order) is the pure half done beforehand (``prepare`` over
    ``unstored(payloads)``)."""
    done: dict[int, Outcome] | None = None
    try:
        with engine.begin() as conn:
            ids = IdAllocator(conn, block=max(len(payloads), 1))  # one per transaction
            stored = inbox_store.put_many(conn, payloads, clock.now(), ids=ids)
            # Rows inserted by this transaction: no one else can see, let alone claim, them,
            # and their bytes are at hand.
            claimed = as_claimed(payloads, stored)
            ahead = ({s.id: dataclasses.replace(p, raw_id=s.id)
                      for p, s in zip(prepared, stored, strict=True) if s.inserted}
                     if prepared is not None else None)
            done = {o.raw_id: o for o in process_claimed(conn, claimed, policy=policy,
                                                         clock=clock, ids=ids, prepared=ahead)} \
                if claimed else {}
    except Exception:
        log.warning("ingest failed; storing the raw payloads alone and retrying them one by one",
                    exc_info=True)
    if done is None:
        with engine.begin() as conn:
            stored = inbox_store.put_many(conn, payloads, clock.now())
        done = {o.raw_id: o for o in _one_by_one(engine, [s.id for s in stored if s.inserted],
                                                 policy=policy, clock=clock)}
    return _assemble(engine, stored, done)


PrepareAsync = Callable[[list[inbox_store.Claimed]], "Future[list[Prepared]]"]


def unstored(payloads: Sequence[inbox_store.RawPayload]) -> list[inbox_store.Claimed]:
    """Payloads not stored yet, numbered by position, for ``prepare`` ahead of the write."""
    return [inbox_store.Claimed(id=i, channel=p.channel, payload=p.payload,
                                content_type=p.content_type, attempts=0, meta=dict(p.meta or {}))
            for i, p in enumerate(payloads)]


def ingest_chunks(engine: sa.Engine, chunks: Iterable[Sequence[inbox_store.RawPayload]], *,
                  policy: IngestPolicy, clock: Clock, prepare_async: PrepareAsync | None = None
                  ) -> Iterator[tuple[Sequence[inbox_store.RawPayload], list[Outcome]]]:
    """Bulk ingest, in order, chunk by chunk, each stored and processed in one transaction as a
    live channel does (``store_and_process``).  With ``prepare_async`` (another process) the
    pure half of chunk k+1 is computed while chunk k is written: two cores instead of one."""
    pending: tuple[Sequence[inbox_store.RawPayload], Future[list[Prepared]] | None] | None = None
    for chunk in chunks:
        future = prepare_async(unstored(chunk)) if prepare_async else None
        if pending is not None:
            yield _write_chunk(engine, pending, policy, clock)
        pending = (chunk, future)
    if pending is not None:
        yield _write_chunk(engine, pending, policy, clock)


def _write_chunk(engine: sa.Engine, pending: tuple[Sequence[inbox_store.RawPayload],
                                                   Future[list[Prepared]] | None],
                 policy: IngestPolicy, clock: Clock
                 ) -> tuple[Sequence[inbox_store.RawPayload], list[Outcome]]:
    chunk, future = pending
    prepared = future.result() if future is not None else None
    return chunk, store_and_process(engine, chunk, policy=policy, clock=clock, prepared=prepared)


def _replayed(engine: sa.Engine, stored: Sequence[inbox_store.Stored]) -> dict[int, Outcome]:
    """Outcomes for payloads whose key was already in the inbox."""
    ids = [s.id for s in stored]
    if not ids:
        return {}
    msg = q.messages
    out: dict[int, Outcome] = {}
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
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


def run_pending(engine: sa.Engine, *, policy: IngestPolicy, clock: Clock,
                batch_size: int = 500) -> int:
    """One worker pass: claim a batch of pending rows and process them; returns how many.

    On SQLite the pure half runs before the write lock is taken (from a plain read), so that
    several worker processes overlap their CPU work instead of queueing behind the one writer.
    On PostgreSQL it runs inside the claiming transaction, whose row locks keep other workers
    from preparing the same rows."""
    prepared: dict[int, Prepared] | None = None
    if engine.dialect.name == "sqlite":
        with engine.connect().execution_options(readonly=True) as conn, conn.begin():
            peek = inbox_store.claim(conn, limit=batch_size)
        if not peek:
            return 0
        prepared = {p.raw_id: p for p in prepare(peek, policy)}
    ids: list[int] = []
    try:
        with engine.begin() as conn:
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
    _one_by_one(engine, ids, policy=policy, clock=clock)
    return len(ids)
