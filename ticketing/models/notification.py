"""In-app notifications for staff (SLA escalations first): one row per recipient, read or not."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, BigId, Json


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        # A user's list, newest first (keyset by id), and the unread ones alone: the partial
        # index stays as small as the unread backlog however long the history grows.
        sa.Index("ix_notifications_user_id_id", "user_id", "id"),
        sa.Index(
            "ix_notifications_unread",
            "user_id",
            "id",
            sqlite_where=sa.text("read_at IS NULL"),
            postgresql_where=sa.text("read_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    ticket_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(sa.String(40))  # e.g. sla.warning, sla.breached
    data: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_at: Mapped[dt.datetime]
    read_at: Mapped[dt.datetime | None]
