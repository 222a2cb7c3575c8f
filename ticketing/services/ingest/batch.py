"""The ingest batch: what it has read (identities, candidate tickets, thread targets) and what it
will write (new rows, changed tickets, audit events), so decisions made for one message are seen
by the next message of the same batch exactly as if they had been committed in between; and the
write itself (``Batch.flush``), one set-based statement per table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa

from ticketing.domain.events import CustomerMerged, Event, TicketMerged
from ticketing.domain.lifecycle import Priority
from ticketing.services.ingest.policy import IngestPolicy
from ticketing.services.ingest.work import Work
from ticketing.services.outbox import mark_bounced
from ticketing.store import tickets as q
from ticketing.store import claims, timeline
from ticketing.store.audit import record
from ticketing.store.ids import IdAllocator



@dataclass(slots=True, kw_only=True)
class CandidateRead:
    """Incident candidates read ahead of the decision (``incidents.early_candidates``):
    the most recent tickets under each band key, seen since ``horizon``."""

    keys: set[int]
    horizon: dt.datetime
    known: dict[int, list[dict[str, Any]]]


@dataclass(slots=True, kw_only=True)
class Batch:
    conn: sa.Connection
    now: dt.datetime
    ids: IdAllocator
    policy: IngestPolicy
    works: list[Work]
    customer_of: dict[tuple[str, str], int] = field(default_factory=dict)
    parent: dict[int, int] = field(default_factory=dict)
    tickets_of: dict[int, list[q.TicketState]] = field(default_factory=dict)
    thread: dict[tuple[str, str], int] = field(default_factory=dict)
    ticket_by_id: dict[int, q.TicketState] = field(default_factory=dict)
    new_customers: dict[int, dict[str, Any]] = field(default_factory=dict)
    new_identities: list[dict[str, Any]] = field(default_factory=list)
    new_messages: list[dict[str, Any]] = field(default_factory=list)
    # Stored messages re-decided onto another ticket (message id → ticket id), written at flush
    # (the ticket may be new in this batch).
    moved_messages: dict[int, int] = field(default_factory=dict)
    # Stored addresses whose message joined another customer through a written identifier.
    claimed_addresses: list[tuple[str, str]] = field(default_factory=list)
    # services.ingest.late's read of a customer's stored timeline: (since, tickets, rows)
    late_rows: dict[int, tuple[dt.datetime, frozenset[int], list[Any]]] = field(
        default_factory=dict)
    # services.ingest.grouping's read of stored tickets' complaint words (ticket id → words)
    fingerprints: dict[int, str] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    merges: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)
    merged_customers: set[int] = field(default_factory=set)
    ticket_merges: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)
    new_incidents: dict[int, dict[str, Any]] = field(default_factory=dict)
    incident_joins: dict[int, int] = field(default_factory=dict)
    incident_growth: dict[int, int] = field(default_factory=dict)
    incident_seen: dict[int, dt.datetime] = field(default_factory=dict)
    new_signatures: list[dict[str, Any]] = field(default_factory=list)
    # (channel, our message's id on it, the provider's status, ticket)
    bounces: list[tuple[str, str, str, int]] = field(default_factory=list)
    # PostgreSQL: the owners' active tickets and the reply targets, read with the locks
    preloaded: tuple[dict[int, list[q.TicketState]],
                     dict[tuple[str, str], tuple[int, int]]] | None = None
    incident_candidates: CandidateRead | None = None

    def active(self) -> list[Work]:
        return [w for w in self.works if w.msg is not None and w.outcome is None]

    def canonical(self, customer_id: int) -> int:
        while customer_id in self.parent:
            customer_id = self.parent[customer_id]
        return customer_id

    def identity_keys(self) -> list[tuple[str, str]]:
        return [(str(i.kind), i.value) for w in self.active() for i in w.evidence.identifiers]

    def load_identities(self) -> None:
        self.customer_of = q.customers_by_identity(self.conn, self.identity_keys())

    def reply_keys(self) -> list[tuple[str, str]]:
        return [(str(w.msg.channel), key) for w in self.active() if w.msg is not None
                for key in w.msg.thread_keys()]

    def load_tickets(self) -> None:
        # Tickets of customers merged in this batch are loaded too and filed under the survivor.
        # (A customer resolve_customer added is either one of those owners or a new one.)
        self.tickets_of = {}
        if self.preloaded is not None:
            active, found = self.preloaded
        else:
            persisted = set(self.customer_of.values()) | set(self.parent)
            active, found = q.active_tickets_and_threads(self.conn, persisted, self.reply_keys())
        for owner, states in active.items():
            for t in states:
                t.customer_id = self.canonical(owner)
                self.ticket_by_id[t.id] = t
                self.tickets_of.setdefault(t.customer_id, []).append(t)
        self.thread = {k: v[1] for k, v in found.items()}
        tags = {tag for w in self.active() if w.msg is not None
                and (tag := w.msg.thread.ticket) is not None}
        missing = {t for t in [*self.thread.values(), *tags] if t not in self.ticket_by_id}
        # Follow merges so a reply to a merged ticket lands on the surviving one.
        while missing:
            loaded = q.tickets_by_id(self.conn, missing)
            self.ticket_by_id.update(loaded)
            missing = {t.merged_into_id for t in loaded.values()
                       if t.merged_into_id and t.merged_into_id not in self.ticket_by_id}

    def live_ticket(self, ticket_id: int) -> q.TicketState:
        state = self.ticket_by_id[ticket_id]
        while state.merged_into_id is not None:
            state = self.ticket_by_id[state.merged_into_id]
        return state

    def merge_ticket(self, source: q.TicketState, target: q.TicketState,
                     why: dict[str, Any]) -> None:
        """Fold ``source`` into ``target`` (written, and audited for an exact undo, at flush)."""
        source.merged_into_id = target.id
        source.dirty = True
        target.dirty = True
        target.message_count += source.message_count
        target.first_message_at = min(target.first_message_at, source.first_message_at)
        target.last_message_at = max(target.last_message_at, source.last_message_at)
        if source.last_customer_message_at is not None:
            target.last_customer_message_at = max(
                target.last_customer_message_at or source.last_customer_message_at,
                source.last_customer_message_at)
        if target.topic == self.policy.evidence.fallback_topic:
            target.topic = source.topic
        self.ticket_merges.append((source.id, target.id, why))

    def record(self, event: Event) -> None:
        """An audit event of this batch, written with its other rows (customer ids made
        canonical then: a merge later in the batch may move them)."""
        self.events.append(event)

    # ------------------------------------------------------------ write

    def flush(self) -> None:
        c = self.canonical
        customers = sorted(self.new_customers.values(), key=lambda r: r["id"])
        q.insert_rows(self.conn, q.customers, [{**r, "merged_into_id": None} for r in customers])
        new_tickets = [t for t in self.ticket_by_id.values() if t.is_new]
        q.insert_rows(self.conn, q.tickets, [_ticket_row(t, c, self.now) for t in new_tickets])
        by_ticket: dict[int, list[int]] = {}
        for message_id, ticket_id in self.moved_messages.items():
            by_ticket.setdefault(self.live_ticket(ticket_id).id, []).append(message_id)
        for ticket_id, message_ids in sorted(by_ticket.items()):
            timeline.move(self.conn, message_ids, ticket_id)
        moved_new: dict[int, list[int]] = {}
        for row in self.new_messages:
            row["customer_id"] = c(row["customer_id"])
            live = self.live_ticket(row["ticket_id"])
            if live.id != row["ticket_id"]:
                moved_new.setdefault(row["ticket_id"], []).append(row["id"])
                row["ticket_id"] = live.id
        q.insert_rows(self.conn, q.messages, self.new_messages)
        # Who each new row belonged to before merges in this batch: the exact undo needs it.
        first_owner = {("identities", r["id"]): r["customer_id"] for r in self.new_identities}
        first_owner.update({("messages", w.message_id): w.customer_id for w in self.works
                            if w.outcome in ("created", "appended") and w.message_id})
        for row in self.new_identities:
            row["customer_id"] = c(row["customer_id"])
        q.insert_rows(self.conn, q.identities, self.new_identities)
        if self.claimed_addresses:
            claims.mark(self.conn, self.claimed_addresses, self.now)
        # Persisted rows move before the ticket updates below, so the undo record lists them.
        done = q.move_customers(self.conn, [(source, c(target)) for source, target, _ in
                                            self.merges])
        for (source, target, why), moved in zip(self.merges, done, strict=True):
            for (table, row_id), owner in first_owner.items():
                if owner == source:
                    moved[table].append(row_id)
            self.record(CustomerMerged(at=self.now, customer_id=c(target), source=source,
                                       moved=moved, details=why))
        for state in self.ticket_by_id.values():
            state.customer_id = c(state.customer_id)
        changed = sorted((t for t in self.ticket_by_id.values() if t.dirty and not t.is_new),
                         key=lambda t: t.id)
        # One UPDATE per ticket; with SLA clocks on, it also asks the timer to re-evaluate.
        q.update_tickets(self.conn, changed, self.now, recheck=self.policy.sla is not None)
        for source, target, why in self.ticket_merges:
            state = self.ticket_by_id[source]
            moved_messages = moved_new.get(source, [])
            if not state.is_new:
                moved_messages = q.move_ticket(self.conn, source, target) + moved_messages
            self.record(TicketMerged(at=self.now, ticket_id=target,
                                     customer_id=c(state.customer_id), source=source,
                                     moved_messages=moved_messages, details=why))
        if self.bounces:
            mark_bounced(self.conn, self.bounces, self.now)
        record(self.conn, (e if e.customer_id is None or c(e.customer_id) == e.customer_id
                           else replace(e, customer_id=c(e.customer_id)) for e in self.events))


def _ticket_row(t: q.TicketState, canonical: Any, now: dt.datetime) -> dict[str, Any]:
    return {"id": t.id, "customer_id": canonical(t.customer_id), "status": t.status,
            "priority": Priority.NORMAL, "topic": t.topic, "channel": t.channel,
            "subject": t.subject, "language": None, "team": None, "assignee_id": None,
            "merged_into_id": t.merged_into_id, "message_count": t.message_count,
            "incident_id": t.incident_id, "fingerprint": t.fingerprint,
            "sla_signals": {}, **(t.sla or {}), **(t.routing or {}),
            "created_at": now,
            "updated_at": now, "first_message_at": t.first_message_at,
            "last_message_at": t.last_message_at,
            "last_customer_message_at": t.last_customer_message_at, "first_response_at": None,
            "resolved_at": None, "closed_at": None}

