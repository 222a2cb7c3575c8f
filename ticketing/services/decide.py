"""The ingest batch and its two decisions: which customer wrote a message, and which ticket it
belongs to.

``Batch`` keeps what the batch has read (identities, candidate tickets, thread targets) and what it
will write (new rows, changed tickets, audit events), so decisions made for one message are seen
by the next message of the same batch exactly as if they had been committed in between.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ticketing.domain.identity import mask
from ticketing.domain.lifecycle import (ACTIVE_STATUSES, Direction, Priority, TicketStatus,
                                        after_customer_message)
from ticketing.domain.message import InboundMessage
from ticketing.domain.similarity import name_key
from ticketing.services.evidence import Evidence
from ticketing.services.outbox import mark_bounced
from ticketing.services.sla import opening_clocks
from ticketing.store import tickets as q
from ticketing.store.ids import IdAllocator
from ticketing.store.inbox import Claimed

if TYPE_CHECKING:
    from ticketing.services.pipeline import IngestPolicy

SYSTEM = "system"
SENDER_FIELDS = ("name", "email", "phone", "telegram_id", "instagram_id", "instagram_username")


@dataclass(slots=True, kw_only=True)
class Work:
    """One payload on its way through the steps."""

    raw: Claimed
    msg: InboundMessage | None = None
    outcome: str | None = None
    error: str | None = None
    evidence: Evidence = field(default_factory=lambda: Evidence(
        identifiers=(), topic="", topic_score=0.0, topic_evidence=""))
    customer_id: int | None = None
    ticket_id: int | None = None
    message_id: int | None = None
    duplicate_of: Work | None = None
    attachment_notes: dict[str, str] = field(default_factory=dict)  # sha256 → stored / why not

    def reject(self, reason: str) -> None:
        self.outcome, self.error = "rejected", reason


@dataclass(slots=True, kw_only=True)
class CandidateRead:
    """Incident candidates read ahead of the decision (services.incidents.early_candidates):
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
    audit: list[dict[str, Any]] = field(default_factory=list)
    merges: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)
    merged_customers: set[int] = field(default_factory=set)
    ticket_merges: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)
    new_incidents: dict[int, dict[str, Any]] = field(default_factory=dict)
    incident_joins: dict[int, int] = field(default_factory=dict)
    incident_growth: dict[int, int] = field(default_factory=dict)
    incident_seen: dict[int, dt.datetime] = field(default_factory=dict)
    new_signatures: list[dict[str, Any]] = field(default_factory=list)
    bounces: list[tuple[str, str, int]] = field(default_factory=list)
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
                for key in thread_keys(w.msg)]

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
                and (tag := subject_tag(w.msg)) is not None}
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

    def add_audit(self, event: str, /, *, ticket_id: int | None = None,
                  customer_id: int | None = None, actor: str = SYSTEM, **data: Any) -> None:
        self.audit.append({"at": self.now, "kind": event, "actor": actor, "ticket_id": ticket_id,
                           "customer_id": customer_id, "data": data})

    # ------------------------------------------------------------ write

    def flush(self) -> None:
        c = self.canonical
        customers = sorted(self.new_customers.values(), key=lambda r: r["id"])
        q.insert_rows(self.conn, q.customers, [{**r, "merged_into_id": None} for r in customers])
        new_tickets = [t for t in self.ticket_by_id.values() if t.is_new]
        q.insert_rows(self.conn, q.tickets, [_ticket_row(t, c, self.now) for t in new_tickets])
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
        # Persisted rows move before the ticket updates below, so the undo record lists them.
        done = q.move_customers(self.conn, [(source, c(target)) for source, target, _ in
                                            self.merges])
        for (source, target, why), moved in zip(self.merges, done, strict=True):
            for (table, row_id), owner in first_owner.items():
                if owner == source:
                    moved[table].append(row_id)
            self.add_audit("customer.merged", customer_id=c(target), source=source,
                           moved=moved, **why)
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
            self.add_audit("ticket.merged", ticket_id=target, customer_id=c(state.customer_id),
                           source=source, moved_messages=moved_messages, **why)
        if self.bounces:
            mark_bounced(self.conn, self.bounces, self.now)
        for row in self.audit:
            if row["customer_id"] is not None:
                row["customer_id"] = c(row["customer_id"])
        q.insert_rows(self.conn, q.audit, self.audit)


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


# ---------------------------------------------------------------- customer


def resolve_customer(batch: Batch, work: Work) -> None:
    """Exact identifiers decide: none known → a new customer; several customers → they are one
    person, merged into the oldest (undoable from the audit record)."""
    msg = work.msg
    assert msg is not None
    idents = work.evidence.identifiers
    found = sorted({batch.canonical(batch.customer_of[(str(i.kind), i.value)]) for i in idents
                    if (str(i.kind), i.value) in batch.customer_of})
    work.message_id = batch.ids.one(q.messages)
    if msg.extra.get("auto"):
        # A bounce or an out-of-office speaks for a mail system, not a citizen: it links and
        # creates nobody, and belongs to whoever owns the thread it answers (decide_ticket).
        work.customer_id = found[0] if found else None
        return
    if not found:
        cid = batch.ids.one(q.customers)
        name = msg.sender.name or msg.sender.instagram_username
        batch.new_customers[cid] = {"id": cid, "display_name": (name or "")[:200] or None,
                                    "name_key": name_key(msg.sender.name),
                                    "created_at": batch.now}
    else:
        cid = found[0]
        for other in found[1:]:
            batch.parent[other] = cid
            batch.merged_customers.add(cid)
            batch.merges.append((other, cid, {
                "message_id": work.message_id,
                "evidence": [{"kind": str(i.kind), "value": mask(i.kind, i.value),
                              "source": i.source} for i in idents]}))
    linked = []
    for ident in idents:
        key = (str(ident.kind), ident.value)
        if key in batch.customer_of:
            continue
        batch.customer_of[key] = cid
        batch.new_identities.append({
            "id": batch.ids.one(q.identities), "customer_id": cid, "kind": str(ident.kind),
            "value": ident.value, "source": ident.source, "evidence_message_id": work.message_id,
            "created_at": batch.now})
        linked.append({"kind": str(ident.kind), "value": mask(ident.kind, ident.value),
                       "source": ident.source})
    # One event per message: what a new customer was created from, or what was newly linked.
    if not found:
        batch.add_audit("customer.created", customer_id=cid, message_id=work.message_id,
                        channel=str(msg.channel), identities=linked)
    elif linked:
        batch.add_audit("customer.linked", customer_id=cid, message_id=work.message_id,
                        identities=linked)
    work.customer_id = cid


# ---------------------------------------------------------------- ticket


def merge_duplicate_tickets(batch: Batch) -> None:
    """When two customers turned out to be one person, their active tickets on the same
    complaint become one (the oldest survives); a vague ticket with no topic joins the nearest
    topical one.  Only tickets whose activity lies within the dedup window of each other."""
    window = batch.policy.dedup_window
    fallback = batch.policy.evidence.fallback_topic
    for cid in sorted({batch.canonical(c) for c in batch.merged_customers}):
        active = sorted((t for t in batch.tickets_of.get(cid, [])
                         if t.merged_into_id is None and t.status in ACTIVE_STATUSES),
                        key=lambda t: (t.first_message_at, t.id))
        survivors: list[q.TicketState] = []
        for ticket in active:
            near = [s for s in survivors
                    if ticket.first_message_at - s.last_message_at <= window
                    and s.first_message_at - ticket.last_message_at <= window]
            same = [s for s in near if s.topic == ticket.topic]
            if not same and (ticket.topic == fallback):
                same = near[-1:]
            elif not same:
                same = [s for s in near if s.topic == fallback][:1]
            if same:
                batch.merge_ticket(ticket, same[0], {"rule": "customer_merge",
                                                     "topic": ticket.topic})
            else:
                survivors.append(ticket)


TAG = re.compile(r"\[#T-(\d{1,12})\]")


def thread_keys(msg: InboundMessage) -> list[str]:
    """Ids of earlier messages this one answers, strongest first: In-Reply-To, then References
    newest first, then what a bounce or read receipt reports about."""
    refs = msg.extra.get("references")
    keys = [msg.in_reply_to] if msg.in_reply_to else []
    keys += [r for r in refs if isinstance(r, str)] if isinstance(refs, list) else []
    keys += [msg.extra[k] for k in ("bounce_of", "receipt_of") if isinstance(msg.extra.get(k), str)]
    return list(dict.fromkeys(keys))


def subject_tag(msg: InboundMessage) -> int | None:
    found = TAG.search(msg.subject or "")
    return int(found.group(1)) if found else None


def _thread_target(batch: Batch, msg: InboundMessage, cid: int
                   ) -> tuple[q.TicketState | None, dict[str, Any], int | None]:
    linked: int | None = None
    for key in thread_keys(msg):
        tid = batch.thread.get((str(msg.channel), key))
        if tid is None or tid not in batch.ticket_by_id:
            continue
        state = batch.live_ticket(tid)
        if state.status in ACTIVE_STATUSES:
            return state, {"rule": "reply_thread", "in_reply_to": key}, None
        linked = state.id
        break
    tag = subject_tag(msg)
    if tag is not None and tag in batch.ticket_by_id:
        state = batch.live_ticket(tag)
        # A ticket number in a subject is trusted only from that ticket's own citizen.
        if state.customer_id == cid and state.status in ACTIVE_STATUSES:
            return state, {"rule": "subject_tag", "tag": tag}, None
        linked = linked or state.id
    return None, {}, linked


def decide_ticket(batch: Batch, work: Work) -> None:
    """An explicit reply thread (or our ticket tag from the same citizen) wins; then the
    customer's active ticket on the same topic within the window; a vague follow-up joins the
    customer's latest active ticket; else a new ticket.  Automated mail (bounces, out-of-office)
    only ever joins a thread, never reopens or opens a ticket."""
    msg = work.msg
    assert msg is not None
    auto = msg.extra.get("auto")
    cid = batch.canonical(work.customer_id) if work.customer_id is not None else -1
    ev = work.evidence
    policy = batch.policy
    vague = ev.is_vague(policy.evidence)
    target, why, linked = _thread_target(batch, msg, cid)
    if auto:
        if target is None:
            work.outcome = "ignored"
            work.error = f"automated mail ({auto}) that answers none of our tickets"
            return
        cid = work.customer_id = target.customer_id
    if target is None:
        horizon = msg.sent_at - policy.dedup_window
        candidates = [t for t in batch.tickets_of.get(cid, [])
                      if t.status in ACTIVE_STATUSES and t.merged_into_id is None
                      and t.last_message_at >= horizon]
        candidates.sort(key=lambda t: t.last_message_at, reverse=True)
        # We asked the citizen something: their next message is most likely the answer.
        waiting = [t for t in candidates if t.status == TicketStatus.PENDING_CUSTOMER]
        if vague and candidates:
            target, why = (waiting or candidates)[0], {"rule": "follow_up",
                                                       "score": ev.topic_score}
        elif not vague:
            same = [t for t in candidates if t.topic == ev.topic]
            vague_ones = [t for t in candidates if t.topic == policy.evidence.fallback_topic]
            if same:
                target, why = same[0], {"rule": "same_topic", "topic": ev.topic,
                                        "evidence": ev.topic_evidence}
            elif waiting:
                target, why = waiting[0], {"rule": "answer_to_pending", "topic": ev.topic}
            elif vague_ones:
                target, why = vague_ones[0], {"rule": "names_topic_of_vague_ticket",
                                              "topic": ev.topic, "evidence": ev.topic_evidence}
    if target is None:
        tid = batch.ids.one(q.tickets)
        target = q.TicketState(
            id=tid, customer_id=cid, status=TicketStatus.NEW, topic=ev.topic,
            channel=str(msg.channel), subject=(msg.subject or msg.body[:120])[:300] or None,
            created_at=batch.now, first_message_at=msg.sent_at, last_message_at=msg.sent_at,
            last_customer_message_at=None, message_count=0, is_new=True)
        if policy.sla is not None:
            target.sla = opening_clocks(policy.sla, channel=target.channel, topic=target.topic,
                                        priority=Priority.NORMAL, team=None,
                                        first_message_at=msg.sent_at, now=batch.now)
        batch.ticket_by_id[tid] = target
        batch.tickets_of.setdefault(cid, []).append(target)
        batch.add_audit("ticket.created", ticket_id=tid, customer_id=cid,
                        message_id=work.message_id, channel=str(msg.channel), topic=ev.topic,
                        topic_evidence=ev.topic_evidence, topic_score=ev.topic_score,
                        linked_to=linked)
        work.outcome = "created"
    else:
        work.outcome = "appended"
        new_status = target.status if auto else after_customer_message(target.status)
        if auto:
            why["automated"] = auto
            if msg.extra.get("bounce_of"):
                batch.bounces.append((str(msg.extra["bounce_of"]),
                                      str(msg.extra.get("bounce_status") or ""), target.id))
        if new_status != target.status:
            batch.add_audit("ticket.reopened", ticket_id=target.id, customer_id=cid,
                            previous=target.status, message_id=work.message_id)
            target.status = new_status
        if target.topic == policy.evidence.fallback_topic and not vague:
            batch.add_audit("ticket.topic_changed", ticket_id=target.id, previous=target.topic,
                            topic=ev.topic, actor=SYSTEM, evidence=ev.topic_evidence)
            target.topic = ev.topic
        target.dirty = True
    target.message_count += 1
    target.first_message_at = min(target.first_message_at, msg.sent_at)
    target.last_message_at = max(target.last_message_at, msg.sent_at)
    last = target.last_customer_message_at
    if not auto:
        target.last_customer_message_at = msg.sent_at if last is None else max(last, msg.sent_at)
    work.ticket_id = target.id
    batch.thread[(str(msg.channel), msg.external_id)] = target.id
    batch.new_messages.append({
        "id": work.message_id, "ticket_id": target.id, "customer_id": cid,
        "direction": Direction.IN, "channel": str(msg.channel), "external_id": msg.external_id,
        "in_reply_to": msg.in_reply_to, "author_user_id": None,
        "author_name": msg.sender.name or msg.sender.instagram_username,
        "subject": msg.subject, "body": msg.body, "sent_at": msg.sent_at,
        "received_at": batch.now,
        "attachments": [{"filename": a.filename, "content_type": a.content_type, "size": a.size,
                         "sha256": a.sha256,
                         "stored": work.attachment_notes.get(a.sha256 or "") == "stored",
                         "note": work.attachment_notes.get(a.sha256 or "")}
                        for a in msg.attachments],
        "extra": {**msg.extra, **({"instagram_kind": msg.instagram_kind}
                                  if msg.instagram_kind else {})},
        "sender": {k: v for k in SENDER_FIELDS if (v := getattr(msg.sender, k))},
        "raw_id": work.raw.id})
    if work.outcome == "appended":
        batch.add_audit("message.appended", ticket_id=target.id, customer_id=cid,
                        message_id=work.message_id, **why)
