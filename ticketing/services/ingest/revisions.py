"""Edits and take-backs (``InboundMessage.revision``) in the ingest pipeline.

Before the duplicate check, each revision finds the message it changes: stored earlier, or
earlier in this batch.  Found, it leaves the pipeline (outcome ``revised``) and is applied after
the batch's rows are written; an edit of a message we never stored (the channel lost the
original) is stored as that message, with the edited text; a take-back of one is ignored."""

from __future__ import annotations

from dataclasses import replace

from ticketing.domain.events import MessageRevised
from ticketing.domain.message import RevisionKind
from ticketing.services.ingest.batch import Batch
from ticketing.store import revisions
from ticketing.store.audit import record
from ticketing.store import tickets as q


def find_revised(batch: Batch) -> None:
    pending = [w for w in batch.active() if w.msg is not None and w.msg.revision is not None]
    if not pending:
        return
    keys = [(str(w.msg.channel), w.msg.revision.of) for w in pending
            if w.msg is not None and w.msg.revision is not None]
    stored = q.messages_by_external_id(batch.conn, keys)
    earlier = {(str(w.msg.channel), w.msg.external_id): w for w in batch.active()
               if w.msg is not None and w.msg.revision is None}
    for work in pending:
        msg = work.msg
        assert msg is not None and msg.revision is not None
        key = (str(msg.channel), msg.revision.of)
        if key in stored:
            work.message_id, work.ticket_id = stored[key]
            work.outcome, work.revises = "revised", work.message_id
        elif key in earlier:
            work.outcome, work.revises = "revised", earlier[key]
        elif msg.revision.kind is RevisionKind.EDIT:
            # The original never reached us: the edited text stands in for it.
            work.msg = replace(msg, external_id=msg.revision.of, revision=None)
        else:
            work.outcome = "ignored"
            work.error = f"take-back of a message never stored ({msg.revision.of})"


def apply_revised(batch: Batch) -> None:
    for work in batch.works:
        if work.revises is None or work.msg is None or work.msg.revision is None:
            continue
        target = work.revises
        message_id = target if isinstance(target, int) else target.message_id
        if message_id is None:  # the original failed in this batch: nothing to change
            work.outcome, work.error = "ignored", "the revised message was not stored"
            continue
        if not isinstance(target, int):
            work.message_id, work.ticket_id = message_id, target.ticket_id
        kind = work.msg.revision.kind
        if revisions.apply(batch.conn, message_id=message_id, kind=str(kind),
                           event_id=work.msg.external_id, body=work.msg.body,
                           revised_at=work.msg.sent_at, now=batch.now):
            # The batch's own events are already written (``step_write``): recorded here.
            record(batch.conn, MessageRevised(at=batch.now, ticket_id=work.ticket_id,
                                              message_id=message_id, revision=str(kind),
                                              event_id=work.msg.external_id))
        else:
            work.outcome = "duplicate"
