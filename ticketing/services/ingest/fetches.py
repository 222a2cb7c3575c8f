"""Attachments a channel only referenced (``Attachment.locator``: a Telegram file id, a CDN
address): the pipeline writes one ``attachment_fetches`` row each with the message, and the
worker fetches them later, outside the ingest transaction (``services.fetching``)."""

from __future__ import annotations

from ticketing.services.ingest.batch import Batch
from ticketing.store import tables
from ticketing.store import tickets as q


def record_fetches(batch: Batch) -> None:
    rows = []
    for work in batch.works:
        if work.outcome not in ("created", "appended") or work.msg is None:
            continue
        for position, attachment in enumerate(work.msg.attachments):
            if attachment.locator and attachment.sha256 is None:
                rows.append({"message_id": work.message_id, "position": position,
                             "channel": str(work.msg.channel), "locator": attachment.locator,
                             "status": "pending", "attempts": 0, "next_attempt_at": batch.now,
                             "last_error": None, "created_at": batch.now})
    if rows:
        q.insert_rows(batch.conn, tables.attachment_fetches, rows)
