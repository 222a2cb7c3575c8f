"""The durable queues at the edges: the raw inbox (what channels received) and the outbox
(what we must deliver)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, BigId, Json


class InboxItem(Base):
    """The untouched payload a transport accepted, before any parsing."""

    __tablename__ = "inbox"
    __table_args__ = (
        # Workers look only at pending rows; the partial index stays small however large the
        # history grows.
        sa.Index(
            "ix_inbox_pending",
            "id",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(20))
    idempotency_key: Mapped[str] = mapped_column(sa.String(600))
    # Uniqueness is enforced on SHA-256(idempotency_key)[:16] (store.inbox.digest): a fixed,
    # short index entry, however long a channel's key is (migration 0012 says why).
    key_digest: Mapped[bytes] = mapped_column(sa.LargeBinary(16), unique=True)
    payload: Mapped[bytes] = mapped_column(sa.LargeBinary)
    content_type: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(16))  # pending / done / quarantined / ignored
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    received_at: Mapped[dt.datetime]
    processed_at: Mapped[dt.datetime | None]
    meta: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class OutboxItem(Base):
    """A message to deliver, written in the same transaction as the reply that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index(
            "ix_outbox_due",
            "next_attempt_at",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
        # The acknowledgement loop guard counts recent sends to one address.
        sa.Index("ix_outbox_recipient_created", "recipient_key", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("tickets.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("messages.id"),
                                                   index=True)
    recipient_key: Mapped[str | None] = mapped_column(sa.String(320))
    channel: Mapped[str] = mapped_column(sa.String(20))
    kind: Mapped[str] = mapped_column(sa.String(30))  # reply / acknowledgement / notification
    recipient: Mapped[dict[str, Any]] = mapped_column(Json)
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    status: Mapped[str] = mapped_column(sa.String(16))  # pending / sent / failed
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # Our own id on the channel (an e-mail's Message-ID): how a bounce finds its delivery.
    external_id: Mapped[str | None] = mapped_column(sa.String(500), index=True)
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
