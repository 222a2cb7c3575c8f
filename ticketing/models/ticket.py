"""Tickets: one customer's one complaint, across channels."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, BigId


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        # The per-message dedup lookup: a customer's tickets that are still open, newest first.
        sa.Index("ix_tickets_customer_status", "customer_id", "status", "last_message_at"),
        sa.Index("ix_tickets_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(sa.String(20))
    priority: Mapped[str] = mapped_column(sa.String(10))
    topic: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    channel: Mapped[str] = mapped_column(sa.String(20), index=True)
    subject: Mapped[str | None] = mapped_column(sa.String(300))
    language: Mapped[str | None] = mapped_column(sa.String(8))
    team: Mapped[str | None] = mapped_column(sa.String(60))
    assignee_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("tickets.id"), index=True
    )
    incident_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("incidents.id"), index=True
    )
    # The opening complaint's words (no digits, so no identifiers), for incident look-alikes.
    fingerprint: Mapped[str | None] = mapped_column(sa.String(300))
    message_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(index=True)
    updated_at: Mapped[dt.datetime]
    first_message_at: Mapped[dt.datetime]
    last_message_at: Mapped[dt.datetime]
    last_customer_message_at: Mapped[dt.datetime | None]
    first_response_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
