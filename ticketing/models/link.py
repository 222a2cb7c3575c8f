"""Link challenges: a chat address (a Telegram chat) asks to be linked to a ticket's citizen
(a deep link from our e-mail); a one-time code goes to the citizen on a channel we already know,
and only the code typed back links the address.  The code is kept as a digest."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, BigId


class LinkChallenge(Base):
    __tablename__ = "link_challenges"
    __table_args__ = (sa.Index("ix_link_challenges_address", "channel", "address"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(20))  # where the code must be typed back
    address: Mapped[str] = mapped_column(sa.String(320))  # the chat asking to be linked
    customer_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("customers.id"))
    ticket_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("tickets.id"))
    sent_via: Mapped[str] = mapped_column(sa.String(20))  # the channel the code went out on
    code_hash: Mapped[str] = mapped_column(sa.String(100))  # salt$sha256
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    verified_at: Mapped[dt.datetime | None]
