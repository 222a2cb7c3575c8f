"""Grouping by ``sent_at``, whatever order the messages are processed in.

In order, a vague follow-up ("gimana min?", "udh seminggu loh") joins the ticket of the
citizen's message sent just before it.  Processed out of order (a backlog, another worker's
batch, a channel that delivers late, ``inbox requeue``) the latest ticket at processing time may
be another one.  Two rules restore the in-order result, and both cost nothing while messages come
in order (they start only when the customer has a ticket with a message sent after this one):

* a late vague message joins the ticket of the customer's latest message sent *before* it, not
  the ticket with the latest message;
* a late message, once placed, re-decides the follow-ups that now come right after it: the
  unbroken run of vague messages (``follow_up`` / ``vague_created``) sent after it, up to the
  customer's next non-vague message.  Each moves to its ticket (audited ``message.moved``, with
  where it came from, so it can be undone); a ticket made only of such a run is merged into it
  (the audited, undoable ticket merge).  A ticket staff already wrote on is never changed
  silently: it gets a merge suggestion (``ticket.merge_suggested``) instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ticketing.domain.events import MessageMoved, TicketMergeSuggested
from ticketing.domain.lifecycle import ACTIVE_STATUSES, Direction, TicketStatus
from ticketing.services.ingest.batch import Batch
from ticketing.services.ingest.work import Work
from ticketing.store import tickets as q
from ticketing.store import timeline

# Rules that placed a message by position alone (no topic, no thread): what a late message
# re-decides.
FOLLOW_UPS = frozenset({"follow_up", "vague_created"})


@dataclass(slots=True)
class Entry:
    sent_at: dt.datetime
    message_id: int
    ticket_id: int
    grouping: str | None
    row: dict[str, Any] | None  # the batch's own row, not yet written


def _active(batch: Batch, cid: int) -> list[q.TicketState]:
    return [t for t in batch.tickets_of.get(cid, [])
            if t.merged_into_id is None and t.status in ACTIVE_STATUSES]


def is_late(batch: Batch, cid: int, sent_at: dt.datetime) -> bool:
    """The customer has an active ticket with a message sent after this one."""
    return any(t.last_message_at > sent_at for t in _active(batch, cid))


def _timeline(batch: Batch, cid: int, since: dt.datetime) -> list[Entry]:
    """The customer's inbound messages on their active tickets sent at or after ``since``:
    stored ones (one indexed read) and this batch's, oldest first."""
    live = {t.id for t in _active(batch, cid)}
    stored = [t for t in live if not batch.ticket_by_id[t].is_new]
    moved = batch.moved_messages  # re-decided earlier in this batch, written at flush
    entries = [Entry(_utc(r.sent_at), int(r.id),
                     batch.live_ticket(moved.get(int(r.id), int(r.ticket_id))).id,
                     r.grouping, None)
               for r in _stored(batch, cid, stored, since)]
    for row in batch.new_messages:
        if row["direction"] != Direction.IN or row["sent_at"] < since:
            continue
        tid = batch.live_ticket(row["ticket_id"]).id
        if tid in live:
            entries.append(Entry(row["sent_at"], row["id"], tid, row.get("grouping"), row))
    entries.sort(key=lambda e: (e.sent_at, e.message_id))
    return entries


def _stored(batch: Batch, cid: int, tickets: list[int], since: dt.datetime) -> list[Any]:
    """The stored rows, read once per customer and batch (then filtered)."""
    cached = batch.late_rows.get(cid)
    if cached is not None and cached[0] <= since and cached[1] >= set(tickets):
        return [r for r in cached[2] if _utc(r.sent_at) >= since]
    rows = timeline.inbound_since(batch.conn, tickets, since)
    batch.late_rows[cid] = (since, frozenset(tickets), rows)
    return rows


def vague_target(batch: Batch, cid: int, sent_at: dt.datetime,
                 horizon: dt.datetime) -> q.TicketState | None:
    """For a late vague message: the ticket of the customer's latest message sent before it
    (None: no such message, decide as usual)."""
    before = [e for e in _timeline(batch, cid, horizon) if e.sent_at <= sent_at]
    return batch.live_ticket(before[-1].ticket_id) if before else None


def written_before_resolution(batch: Batch, target: q.TicketState,
                              sent_at: dt.datetime) -> bool:
    """The ticket is resolved, and this message was written before it was (read only for
    resolved tickets: one look-up by id)."""
    if target.is_new or target.status != TicketStatus.RESOLVED:
        return False
    if target.resolved_at is None:
        loaded = q.tickets_by_id(batch.conn, [target.id]).get(target.id)
        target.resolved_at = loaded.resolved_at if loaded is not None else None
    return target.resolved_at is not None and sent_at < target.resolved_at


def redecide_follow_ups(batch: Batch, work: Work, target: q.TicketState) -> None:
    """``work``'s message arrived late and is on ``target``: the follow-ups that now come
    right after it belong there too."""
    msg = work.msg
    assert msg is not None and work.message_id is not None
    run: list[Entry] = []
    for entry in _timeline(batch, target.customer_id, msg.sent_at):
        if entry.message_id == work.message_id or entry.sent_at <= msg.sent_at:
            continue
        if entry.grouping not in FOLLOW_UPS:
            break
        run.append(entry)
    by_source: dict[int, list[Entry]] = {}
    for entry in run:
        if entry.ticket_id != target.id:
            by_source.setdefault(entry.ticket_id, []).append(entry)
    if not by_source:
        return
    touched = timeline.touched_by_staff(
        batch.conn, [t for t in by_source if not batch.ticket_by_id[t].is_new])
    for source_id, moving in sorted(by_source.items()):
        source = batch.live_ticket(source_id)
        if source_id in touched:
            batch.record(TicketMergeSuggested(
                at=batch.now, ticket_id=target.id, customer_id=target.customer_id,
                other_ticket=source_id, message_id=work.message_id,
                reason="pesan yang terlambat: tindak lanjut warga ada di tiket lain (a late "
                       "message: the citizen's follow-up is on another ticket)"))
        elif len(moving) >= source.message_count:
            batch.merge_ticket(source, target, {"rule": "late_message",
                                                "message_id": work.message_id})
        else:
            _move(batch, work, moving, source, target)


def _move(batch: Batch, work: Work, moving: list[Entry], source: q.TicketState,
          target: q.TicketState) -> None:
    for entry in moving:
        if entry.row is None:
            batch.moved_messages[entry.message_id] = target.id
        else:
            entry.row["ticket_id"] = target.id
            for other in batch.works:
                if other.message_id == entry.message_id:
                    other.ticket_id = target.id
        batch.record(MessageMoved(at=batch.now, ticket_id=target.id,
                                  customer_id=target.customer_id, message_id=entry.message_id,
                                  from_ticket=source.id, rule="late_message",
                                  caused_by=work.message_id))
    moved = {e.message_id for e in moving}
    left = [e for e in _timeline(batch, source.customer_id, source.first_message_at)
            if e.ticket_id == source.id and e.message_id not in moved]
    source.message_count -= len(moving)
    if left:
        source.last_message_at = max(e.sent_at for e in left)
        source.last_customer_message_at = source.last_message_at
    source.dirty = True
    newest = max(e.sent_at for e in moving)
    target.message_count += len(moving)
    target.last_message_at = max(target.last_message_at, newest)
    target.last_customer_message_at = max(target.last_customer_message_at or newest, newest)
    target.dirty = True


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
