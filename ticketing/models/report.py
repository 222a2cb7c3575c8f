"""The SLA report's rollups, kept by database triggers on ``tickets`` (migration 0009): every
write path (ingest's bulk writes, replies, updates, merges, the SLA timer, recompute) keeps them
exact without knowing they exist.  Nothing in Python writes them.

* ``report_rollup``: live (unmerged) tickets counted per WIB day of first contact, channel,
  topic, team and agent, stored as the report shows them (no topic → ``lainnya``, no team →
  ``-``, unassigned → agent 0), with a ``kind``: 0 = the report's flags (value = the flag
  bits), 1 = first-response business minutes, 2 = resolution business minutes (value = the
  minutes; tickets without the measure have no row).  Counts may fall to zero and stay.
* ``report_rollup_delta`` (PostgreSQL): the triggers append ±1 rows here instead of updating
  ``report_rollup`` in place, so that concurrent writers never wait on (or deadlock over) the
  same hot rollup row; the worker folds them into ``report_rollup``
  (``store.rollup.fold``) and the report reads both.  On SQLite (one writer at a
  time) the triggers update ``report_rollup`` directly and this table stays empty.
* ``report_customer_tickets``: live tickets per customer.
* ``report_repeat_tickets``: the live tickets of customers that have two or more, one row each
  (distinct citizens: a customer with a single live ticket is one citizen wherever that ticket
  is counted; only repeat customers need a distinct count).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, BigId


class ReportRollup(Base):
    __tablename__ = "report_rollup"
    __table_args__ = {"sqlite_with_rowid": False}

    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    kind: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    topic: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    team: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    agent: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    value: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    n: Mapped[int] = mapped_column(sa.BigInteger)


class ReportCustomerTickets(Base):
    __tablename__ = "report_customer_tickets"

    customer_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(sa.Integer)


class ReportRepeatTicket(Base):
    __tablename__ = "report_repeat_tickets"
    __table_args__ = (
        # The report reads a range of days from the index alone.
        sa.Index("ix_report_repeat_tickets_day", "day", "channel", "topic", "team", "agent",
                 "customer_id", "met"),
        sa.Index("ix_report_repeat_tickets_customer_id", "customer_id"),
    )

    ticket_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    customer_id: Mapped[int] = mapped_column(sa.BigInteger)
    day: Mapped[dt.date] = mapped_column(sa.Date)
    channel: Mapped[str] = mapped_column(sa.String(20))
    topic: Mapped[str] = mapped_column(sa.String(40))
    team: Mapped[str] = mapped_column(sa.String(60))
    agent: Mapped[int] = mapped_column(sa.BigInteger)
    met: Mapped[int] = mapped_column(sa.SmallInteger)


# No key: rows are only appended (by triggers) and deleted (when folded).
report_rollup_delta = sa.Table(
    "report_rollup_delta", Base.metadata,
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("kind", sa.SmallInteger, nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("topic", sa.String(40), nullable=False),
    sa.Column("team", sa.String(60), nullable=False),
    sa.Column("agent", sa.BigInteger, nullable=False),
    sa.Column("value", sa.Integer, nullable=False),
    sa.Column("n", sa.BigInteger, nullable=False),
)
