"""The ingest pipeline: a batch of raw payloads, prepared, through a fixed sequence of steps.

A batch is first *prepared* — parsed, its evidence (identifiers, topic, signature) gathered: pure
work that may run before the write transaction or in another process — then goes through
``STEPS``, each a small function over the shared ``Batch``: find the messages edits revise →
drop duplicates → store attachments →
lock → record replies written outside the desk → resolve the customer → load candidate tickets → decide the ticket → link incidents →
route new tickets → write → auto-assign → acknowledge.  Every lookup is one indexed query per
batch and every write one set-based statement per table (``store.bulk``), which is what lets a
2-core machine ingest thousands of messages a second; a live channel runs the very same steps
with a batch of one.  The steps' decisions live in their own modules (``customers``,
``tickets``, ``incidents``, ``route``, ``acknowledge``); the entry points (live, bulk, worker)
are in ``run``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence

import sqlalchemy as sa

from ticketing.domain.errors import MalformedPayload
from ticketing.domain.events import InboundIgnored
from ticketing.domain.message import Command, Ignored
from ticketing.services.clock import Clock
from ticketing.services.ingest.acknowledge import acknowledge
from ticketing.services.ingest.batch import Batch
from ticketing.services.ingest.customers import resolve_customer
from ticketing.services.ingest.evidence import gather
from ticketing.services.ingest.incidents import (accept_early_candidates, early_candidates,
                                                 link_incidents, write_incident_links,
                                                 write_new_incidents)
from ticketing.services.ingest.policy import IngestPolicy
from ticketing.services.ingest.fetches import record_fetches
from ticketing.services.ingest.from_desk import hold_from_desk, record_from_desk
from ticketing.services.ingest.revisions import apply_revised, find_revised
from ticketing.services.ingest.route import step_auto_assign, step_route_new_tickets
from ticketing.services.ingest.tickets import decide_ticket, merge_duplicate_tickets
from ticketing.services.ingest.work import Outcome, Prepared, Work
from ticketing.store import bulk, reachability
from ticketing.store.audit import record
from ticketing.store import inbox as inbox_store
from ticketing.store import tickets as q
from ticketing.store.locking import has_row_locks
from ticketing.store.ids import IdAllocator

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- steps


def prepare(claimed: Sequence[inbox_store.Claimed], policy: IngestPolicy) -> list[Prepared]:
    out = []
    for raw in claimed:
        work = Work(raw=raw)
        _parse(work, policy)
        evidence = gather(work.msg, policy.evidence) if work.msg is not None else None
        out.append(Prepared(raw_id=raw.id, msg=work.msg, outcome=work.outcome,
                            error=work.error, evidence=evidence, command=work.command))
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
    elif isinstance(parsed, Command):
        work.outcome, work.command = "command", parsed
    else:
        work.msg = parsed


def step_find_revised(batch: Batch) -> None:
    find_revised(batch)


def step_drop_duplicates(batch: Batch) -> None:
    if has_row_locks(batch.conn):
        return  # read in the same round trip as the locks (step_lock)
    _mark_duplicates(batch, q.messages_by_external_id(batch.conn, _external_keys(batch)))


def _external_keys(batch: Batch) -> list[tuple[str, str]]:
    return [(str(w.msg.channel), w.msg.external_id) for w in batch.works
            if w.msg is not None and w.outcome is None]


def _mark_duplicates(batch: Batch, stored: Mapping[tuple[str, str], tuple[int, int]]) -> None:
    first: dict[tuple[str, str], Work] = {}
    for work in batch.works:
        if work.msg is None or work.outcome is not None:
            continue
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
    if not has_row_locks(batch.conn):
        batch.load_identities()  # SQLite: BEGIN IMMEDIATE made this the only writer already
        return
    if not batch.active():
        return
    # One round trip: ids, the duplicate check (step_drop_duplicates on SQLite), the locks and
    # every read the decision needs (store.tickets.lock_and_read).
    early = early_candidates(batch)
    read = q.lock_and_read(batch.conn, identifiers=batch.identity_keys(),
                           messages=_external_keys(batch), replies=batch.reply_keys(),
                           prefetch=batch.ids.prefetch(), also=[early] if early else [])
    if read.ids is not None:
        batch.ids.accept(read.ids)
    if early is not None:
        accept_early_candidates(batch, read.also[0])
    _mark_duplicates(batch, read.stored)
    batch.customer_of = read.owners
    if read.active is not None and read.threads is not None:
        batch.preloaded = (read.active, read.threads)


def step_hold_from_desk(batch: Batch) -> None:
    """Replies staff wrote outside the desk (echoes) leave the batch here, before any customer
    or ticket is made for them; they are recorded after the write (``step_write``)."""
    hold_from_desk(batch)


def step_resolve_customers(batch: Batch) -> None:
    for work in batch.active():
        resolve_customer(batch, work)
    # A citizen who writes from an address a channel had called unreachable is reachable there
    # again (one indexed statement per identity kind, nothing written when nothing was marked).
    reachability.clear(batch.conn, [(str(i.kind), i.value) for w in batch.active()
                                    if w.msg is not None and not w.msg.automated
                                    for i in w.evidence.identifiers if i.source == "sender"])


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
    record_fetches(batch)
    apply_revised(batch)
    # the desk's replies written elsewhere, now that the messages they answer are written
    record_from_desk(batch)


def step_acknowledge(batch: Batch) -> None:
    acknowledge(batch, batch.policy.acknowledgement)


def step_answer_commands(batch: Batch) -> None:
    """Requests to a bot (``/start``, ``/status`` ...) are answered by the handler the
    composition root wired in, in this transaction; without one they are ignored, saying so."""
    handler = batch.policy.commands
    for work in batch.works:
        if work.command is None or work.outcome != "command":
            continue
        if handler is None:
            work.outcome, work.error = "ignored", f"no command handler (/{work.command.name})"
            continue
        handler(batch.conn, work.command, batch.now)


# Run inside the write transaction, after ``prepare``.
STEPS: Sequence[Callable[[Batch], None]] = (
    step_find_revised,
    step_drop_duplicates,
    step_store_attachments,
    step_lock,
    step_hold_from_desk,
    step_resolve_customers,
    step_load_tickets,
    step_decide_tickets,
    step_link_incidents,
    step_route_new_tickets,
    step_write,
    step_auto_assign,
    step_acknowledge,
    step_answer_commands,
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
        work = Work(raw=raw, msg=p.msg, outcome=p.outcome, error=p.error, command=p.command)
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
    ignored = [InboundIgnored(at=now, channel=w.raw.channel, inbox_id=w.raw.id,
                              reason=(w.error or "")[:300])
               for w in batch.works if w.outcome == "ignored" and w.msg is None]
    if ignored:
        record(conn, ignored)
    return outcomes
