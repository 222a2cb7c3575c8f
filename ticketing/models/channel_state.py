"""State the channels' background work shares across worker hosts: who leads a poller (a lease),
where a poller resumes (a cursor), when the next send on a channel may go (pacing), which
attachments still have to be fetched from a provider, and the earlier texts of edited messages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, BigId, Json


class Lease(Base):
    """One holder at a time for ``name`` (a poller) until ``expires_at``; another worker takes
    over once the holder stops renewing.  ``fence`` grows with every change of holder."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(200))
    fence: Mapped[int] = mapped_column(sa.BigInteger, default=1)
    acquired_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]


class Cursor(Base):
    """Where a poller resumes (an offset, a high-water mark), as JSON."""

    __tablename__ = "cursors"

    name: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(Json)
    updated_at: Mapped[dt.datetime]


class PaceSlot(Base):
    """The earliest instant the next send for ``key`` (a channel, or a channel and one
    recipient) may go: a send takes the slot and moves it one interval on."""

    __tablename__ = "pace_slots"

    key: Mapped[str] = mapped_column(sa.String(400), primary_key=True)
    next_at: Mapped[dt.datetime]


class AttachmentFetch(Base):
    """An attachment the channel only referenced (a Telegram file id, a CDN address): fetched by
    the worker, outside any transaction, into the attachment store."""

    __tablename__ = "attachment_fetches"
    __table_args__ = (sa.UniqueConstraint("message_id", "position"),
                      sa.Index("ix_attachment_fetches_due", "status", "next_attempt_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("messages.id"))
    position: Mapped[int] = mapped_column(sa.Integer)  # index in messages.attachments
    channel: Mapped[str] = mapped_column(sa.String(20))
    locator: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(12))  # pending / fetching / stored / too_large / failed
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[dt.datetime]


class MessageRevision(Base):
    """A citizen edited or took back (unsent) a message: the text it had before, kept for the
    record; ``external_id`` is the channel's id of the edit event (stored once)."""

    __tablename__ = "message_revisions"
    __table_args__ = (sa.UniqueConstraint("message_id", "external_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("messages.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(8))  # edit / unsend
    external_id: Mapped[str] = mapped_column(sa.String(500))
    body_before: Mapped[str] = mapped_column(sa.Text)
    revised_at: Mapped[dt.datetime]  # when the citizen did it
    recorded_at: Mapped[dt.datetime]
