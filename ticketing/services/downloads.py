"""Read use case: what an attachment download serves, for the API and the staff pages alike.

The bytes are in the attachment store under their digest; a download is always offered as a
file to save (never rendered inline): the type is announced only for a few harmless ones,
anything else as ``application/octet-stream``, and ``HEADERS`` forbid sniffing and scripts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa

from ticketing.domain.errors import NotFound
from ticketing.services.views import attachment_of
from ticketing.store import tickets as q

INLINE_SAFE = frozenset({"image/png", "image/jpeg", "image/gif", "application/pdf"})
HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}


class AttachmentFiles(Protocol):
    def path(self, sha256: str) -> Path:
        """Where the bytes with this digest are (or would be) kept."""
        ...


@dataclass(frozen=True, slots=True)
class Download:
    path: Path
    media_type: str
    filename: str  # as the citizen sent it; the HTTP layer encodes it for the header


def attachment_download(conn: sa.Connection, files: AttachmentFiles, message_id: int,
                        index: int, *, ticket_id: int | None = None) -> Download:
    """Attachment ``index`` of message ``message_id``; with ``ticket_id``, only if the message
    is on that ticket.  NotFound when there is no such message or attachment, when it was not
    kept, or when its file is missing from the store."""
    if ticket_id is not None:
        on = conn.execute(sa.select(q.messages.c.ticket_id)
                          .where(q.messages.c.id == message_id)).scalar()
        if on != ticket_id:
            raise NotFound(f"ticket {ticket_id} has no message {message_id}")
    item = attachment_of(conn, message_id, index)
    path = files.path(str(item["sha256"]))
    if not path.exists():
        raise NotFound("the attachment file is missing from the store")
    ctype = str(item.get("content_type") or "")
    return Download(path=path,
                    media_type=ctype if ctype in INLINE_SAFE else "application/octet-stream",
                    filename=str(item.get("filename") or "attachment"))
