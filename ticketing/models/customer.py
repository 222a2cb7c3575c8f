"""Customers (citizens) and their typed identities."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, BigId


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    display_name: Mapped[str | None] = mapped_column(sa.String(200))
    # Folded name for "possibly the same citizen" suggestions (a weak signal, never a link).
    name_key: Mapped[str | None] = mapped_column(sa.String(120), index=True)
    created_at: Mapped[dt.datetime]
    # Set when this customer was folded into another one; the audit record allows undoing it.
    merged_into_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("customers.id"), index=True
    )


class Identity(Base):
    """One normalized identifier (E.164 phone, NIK, e-mail ...) proven to belong to a customer."""

    __tablename__ = "identities"
    __table_args__ = (sa.UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    value: Mapped[str] = mapped_column(sa.String(320))
    source: Mapped[str] = mapped_column(sa.String(16))  # "sender" or "text"
    evidence_message_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("messages.id"))
    created_at: Mapped[dt.datetime]
    # A channel said the citizen cannot be reached at this address any more (blocked the bot,
    # not reachable): replies there are refused with the reason until they write from it again.
    unreachable_at: Mapped[dt.datetime | None]
    # An address linked to this customer only through an identifier written in a message ("NIK
    # saya ..." from a new address): a claim.  Until staff check it (audited), nothing of the
    # customer's other tickets is sent there.  NULL: the link is the channel's own evidence.
    claimed_link_at: Mapped[dt.datetime | None]
    unreachable_reason: Mapped[str | None] = mapped_column(sa.String(300))
