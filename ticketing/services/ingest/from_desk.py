"""Replies our side wrote outside the desk (``InboundMessage.from_desk``: a staff member
answering in the Instagram app; Meta echoes every message the account sends).

Held out of the batch after the duplicate check and the locks (before customers are
resolved: such a message never makes a customer or a ticket), and recorded after the batch's
own rows are written, so an echo answering a citizen message of the same batch finds it:

* an echo of a reply the desk sent is already stored under the provider's id (the outbox wrote
  it): the duplicate check has taken it out, nothing is stored twice;
* an echo that overtook its own reply's settlement (the provider answered, the outbox has not
  committed the id yet) matches that reply — same ticket, same text, still without an id —
  and only lends it the id;
* otherwise it is stored as an outbound message of the desk on the citizen's ticket (the one
  its thread answers, else the ticket of the citizen's latest message on the channel), without
  an agent, marked ``extra.outside_desk``.  The provider delivered it, so it reached the
  citizen: ``delivered_at`` is its time and it is a response like any delivered reply
  (CONTRACT.md: a citizen is served when a reply reached them; services.sla counts it);
* an echo to nobody we know is recorded as ignored, with why.  It never creates a customer, a
  ticket or a citizen's message.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ticketing.domain.events import RepliedOutsideDesk
from ticketing.domain.lifecycle import Direction
from ticketing.services.ingest.batch import Batch
from ticketing.services.ingest.work import Work
from ticketing.store import from_desk as store
from ticketing.store import links
from ticketing.store import tables
from ticketing.store import tickets as q
from ticketing.store.audit import record

# An echo arrives within seconds of the send; a reply older than this is not its twin.
TWIN_WINDOW = dt.timedelta(hours=1)
AUTHOR = "Staf lewat aplikasi {channel} (di luar desk)"


HELD = "from_desk"


def hold_from_desk(batch: Batch) -> None:
    for work in batch.active():
        if work.msg is not None and work.msg.from_desk:
            work.outcome = HELD


def record_from_desk(batch: Batch) -> None:
    works = [w for w in batch.works if w.outcome == HELD and w.msg is not None]
    if not works:
        return
    answered = q.messages_by_external_id(batch.conn, [
        (str(w.msg.channel), w.msg.thread.in_reply_to) for w in works
        if w.msg is not None and w.msg.thread.in_reply_to])
    rows, events = [], []
    for work in works:
        row = _one(batch, work, answered)
        if row is not None:
            rows.append(row)
            events.append(RepliedOutsideDesk(
                at=batch.now, ticket_id=row["ticket_id"], customer_id=work.customer_id,
                message_id=row["id"], channel=row["channel"],
                external_id=str(row["external_id"])[:200]))
    q.insert_rows(batch.conn, tables.messages, rows)
    # The batch's own events are already written (``step_write``): recorded here.
    record(batch.conn, events)


def _one(batch: Batch, work: Work, answered: dict[tuple[str, str], tuple[int, int]]
         ) -> dict[str, Any] | None:
    msg = work.msg
    assert msg is not None
    channel = str(msg.channel)
    found: int | None = None
    if msg.thread.in_reply_to and (channel, msg.thread.in_reply_to) in answered:
        found = answered[channel, msg.thread.in_reply_to][1]
    else:
        owners = {batch.customer_of[str(i.kind), i.value] for i in work.evidence.identifiers
                  if (str(i.kind), i.value) in batch.customer_of}
        for owner in sorted(owners):
            found = store.latest_ticket_on(batch.conn, batch.canonical(owner), channel)
            if found is not None:
                break
    owned = links.ticket_owner(batch.conn, found) if found is not None else None
    if owned is None:
        work.outcome = "ignored"
        work.error = (f"reply sent outside the desk to a citizen with no {channel} "
                      f"conversation here ({msg.external_id[:60]})")
        return None
    ticket_id, work.customer_id = owned
    work.ticket_id = ticket_id
    twin = store.unsettled_twin(batch.conn, ticket_id, channel, msg.body,
                                batch.now - TWIN_WINDOW)
    if twin is not None:
        store.claim_provider_id(batch.conn, twin, msg.external_id)
        work.outcome, work.message_id = "duplicate", twin
        return None
    sent_at = min(msg.sent_at, batch.now)
    message_id = batch.ids.one(tables.messages)
    work.outcome, work.message_id = "recorded", message_id
    q.responded(batch.conn, ticket_id, sent_at, batch.now, updated_at=batch.now)
    return {"id": message_id, "ticket_id": ticket_id, "customer_id": work.customer_id,
            "direction": str(Direction.OUT), "channel": channel,
            "external_id": msg.external_id, "in_reply_to": msg.thread.in_reply_to,
            "author_user_id": None, "author_name": AUTHOR.format(channel=channel),
            "subject": None, "body": msg.body,
            "sent_at": sent_at, "received_at": batch.now, "delivered_at": sent_at,
            "attachments": [], "automation": None, "automation_reason": None,
            "reference_ids": None, "grouping": None, "topics": None,
            "extra": {**msg.extra, "outside_desk": True}, "sender": None,
            "raw_id": work.raw.id}
