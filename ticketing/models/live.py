"""Live events: what the staff pages are told as it happens (a new ticket, a citizen's new
message, a ticket taken, a notification).  Rows are written by database triggers in the writing
transaction (migration 0033), so every writer on every host is seen, and read by each serving
process's event hub (``entrypoints/web/live.py``), which prunes what it no longer needs."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, BigId


class LiveEvent(Base):
    __tablename__ = "live_events"
    # SQLite: AUTOINCREMENT, so an id is never reused after the table was pruned empty (the
    # hub reads ``id > cursor``).
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # ticket.created / message.created / ticket.assigned / notification
    kind: Mapped[str] = mapped_column(sa.String(20))
    ticket_id: Mapped[int | None] = mapped_column(BigId)
    message_id: Mapped[int | None] = mapped_column(BigId)
    # ticket.assigned: the new assignee; notification: its recipient.
    user_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[dt.datetime]
