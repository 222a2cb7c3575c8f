"""Incident clusters: near-identical complaints from different citizens (a mass outage), linked
for supervisors, never merged."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, BigId


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (sa.Index("ix_incidents_topic_last_seen", "topic", "last_seen_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topic: Mapped[str | None] = mapped_column(sa.String(40))
    label: Mapped[str | None] = mapped_column(sa.String(300))
    ticket_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    first_seen_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime]


class TicketSignature(Base):
    """MinHash band keys of a ticket's opening complaint: an indexed way to find look-alikes.

    The primary key is the only index, in lookup order (key, newest first), and on SQLite the
    table is clustered on it (WITHOUT ROWID): one B-tree write per row instead of three."""

    __tablename__ = "ticket_signatures"
    __table_args__ = {"sqlite_with_rowid": False}

    band_key: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tickets.id"), primary_key=True)
