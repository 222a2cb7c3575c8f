"""Namespaced audit events (``ticket.created``, ``customer.linked`` ...) with actor and data."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, BigId, Json


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime]
    # No index on kind: lookups always go through the ticket or the customer, and every index
    # is one more random B-tree write per event.
    kind: Mapped[str] = mapped_column(sa.String(60))
    actor: Mapped[str] = mapped_column(sa.String(80))  # "system", "user:12", "channel:email"
    ticket_id: Mapped[int | None] = mapped_column(BigId, index=True)
    customer_id: Mapped[int | None] = mapped_column(BigId, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
