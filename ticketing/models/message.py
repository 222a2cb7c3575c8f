"""Messages on a ticket: inbound from a citizen, outbound replies, internal notes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, BigId, Json


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        # Idempotency: a channel's own id is stored once (NULL for notes and unsent replies).
        sa.UniqueConstraint("channel", "external_id"),
        sa.Index("ix_messages_ticket_sent", "ticket_id", "sent_at"),
        # The SLA report's volumes: per direction and channel, each day is a range of this
        # index counted from the index alone (no GROUP BY, so no sort on SQLite).
        sa.Index("ix_messages_volume", "direction", "channel", "sent_at"),
        # The reply box: a citizen's latest inbound message per channel (``replies._uses``), a
        # range of this index (without it SQLite walked the whole inbound volume).
        sa.Index("ix_messages_customer_latest", "customer_id", "direction", "channel",
                 "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tickets.id"))
    customer_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("customers.id"), index=True
    )
    direction: Mapped[str] = mapped_column(sa.String(8))  # in / out / note
    channel: Mapped[str] = mapped_column(sa.String(20))
    external_id: Mapped[str | None] = mapped_column(sa.String(500))
    in_reply_to: Mapped[str | None] = mapped_column(sa.String(500))
    author_user_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    author_name: Mapped[str | None] = mapped_column(sa.String(200))
    subject: Mapped[str | None] = mapped_column(sa.String(998))
    body: Mapped[str] = mapped_column(sa.Text)
    sent_at: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime]
    # An outbound reply: when its channel's provider accepted it (the outbox settled it as sent);
    # a call back: when the call reached the citizen.  NULL until then, or for good (failed,
    # bounced, not reached).  Only a delivered reply counts as a response.
    delivered_at: Mapped[dt.datetime | None]
    # The citizen took the message back (Instagram "unsend"): kept for the record, shown struck.
    retracted_at: Mapped[dt.datetime | None]
    # The ingest rule that put an inbound message on its ticket (``follow_up``, ``same_topic``,
    # ``created`` ...): a message processed late re-decides the follow-ups sent after it.
    grouping: Mapped[str | None] = mapped_column(sa.String(32))
    # The complaint topics the message names, best first, each with its score
    # ([["nik", 0.72], ["gelombang", 0.12]]): the problem and, after it, the context it was
    # named with (domain.topics).  NULL: no topic words (a follow-up), or not inbound.
    topics: Mapped[list[list[Any]] | None] = mapped_column(Json)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    # The sender's channel identity as received (address, chat id ...): where a reply goes.
    sender: Mapped[dict[str, Any] | None] = mapped_column(Json)
    # What the core reads back from the message contract (``domain.message``), typed:
    # which machine wrote it (an ``Automation`` value; NULL: a person), the channel's own words
    # for it, and the provider ids it answers after ``in_reply_to`` (newest first; NULL: none).
    automation: Mapped[str | None] = mapped_column(sa.String(20))
    automation_reason: Mapped[str | None] = mapped_column(sa.String(60))
    reference_ids: Mapped[list[str] | None] = mapped_column(Json)
    # Channel data the core never reads (the whole original text, quoted part, headers ...).
    extra: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    raw_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("inbox.id"))
