"""Tickets: one customer's one complaint, across channels."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, BigId, Json

# The shared queue: tickets nobody holds that still need work.  Spelled with literals, once, so
# that the claim query repeats the partial index's predicate word for word (both planners prove
# the index usable only from constants; a bound parameter would defeat a generic plan).
QUEUE_WHERE = ("assignee_id IS NULL AND merged_into_id IS NULL "
               "AND status IN ('new', 'open')")
RATED_WHERE = "rated_at IS NOT NULL"
# An agent's load: the tickets they hold that are not finished.
LOAD_WHERE = ("assignee_id IS NOT NULL AND merged_into_id IS NULL "
              "AND status IN ('new', 'open', 'pending_customer')")
# The queue page's SLA state, kept by the database itself from the clocks' columns (generated
# columns: SQLite virtual, PostgreSQL stored), so that the state filter, the per-state totals
# and the "due" sort are index range scans instead of a CASE evaluated on every ticket
# (migration 0035_page_speed).  ``sla_due_at``: when the clock that runs now falls due (first response
# until it is met, then resolution; NULL when none runs); ``sla_breached``: 1 when either
# clock breached.  The queue's "warning" is ``sla_breached = 0 AND sla_due_at <= now + 1 h``.
SLA_DUE_SQL = ("CASE WHEN first_response_state = 'running' THEN first_response_due_at "
               "WHEN resolution_state = 'running' THEN resolution_due_at END")
SLA_BREACHED_SQL = ("CASE WHEN first_response_state = 'breached' "
                    "OR resolution_state = 'breached' THEN 1 ELSE 0 END")
LIVE_WHERE = "merged_into_id IS NULL"


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        # The per-message dedup lookup: a customer's tickets that are still open, newest first,
        # with everything the pipeline reads of a candidate (no table lookup per candidate).
        sa.Index("ix_tickets_customer_status", "customer_id", "status", "last_message_at",
                 "merged_into_id", "topic", "channel", "first_message_at",
                 "last_customer_message_at", "message_count"),
        sa.Index("ix_tickets_status_id", "status", "id"),
        # (The SLA report reads its rollups, kept by triggers: models/report.py, migration 0009.)
        # The report's backlog: open tickets by status and channel, ages from the entry.
        sa.Index("ix_tickets_backlog", "status", "channel", "first_message_at", "merged_into_id"),
        # Claim next: per queue, most urgent first; a claim is a walk down this small index.
        sa.Index("ix_tickets_queue", "team", "queue_due_at", "priority_rank", "id",
                 sqlite_where=sa.text(QUEUE_WHERE), postgresql_where=sa.text(QUEUE_WHERE)),
        # Capacity: an agent's unfinished tickets per channel (stays small however long the
        # agent's history grows).
        sa.Index("ix_tickets_agent_load", "assignee_id", "channel",
                 sqlite_where=sa.text(LOAD_WHERE), postgresql_where=sa.text(LOAD_WHERE)),
        # The queue page: the "due" order (PostgreSQL's ascending order puts NULLs last, as
        # the page wants), and the SLA state's filter and totals as ranges.
        sa.Index("ix_tickets_sla_due", "sla_due_at", "id",
                 sqlite_where=sa.text(LIVE_WHERE), postgresql_where=sa.text(LIVE_WHERE)),
        sa.Index("ix_tickets_sla_state", "sla_breached", "sla_due_at",
                 sqlite_where=sa.text(LIVE_WHERE), postgresql_where=sa.text(LIVE_WHERE)),
        # The queue page under a topic filter: its totals per SLA state as ranges of one
        # topic (migration 0037_queue_indexes); and the "updated" order, newest activity
        # first, as one backward walk.
        sa.Index("ix_tickets_topic_state", "topic", "sla_breached", "sla_due_at",
                 sqlite_where=sa.text(LIVE_WHERE), postgresql_where=sa.text(LIVE_WHERE)),
        sa.Index("ix_tickets_updated", "last_message_at", "id",
                 sqlite_where=sa.text(LIVE_WHERE), postgresql_where=sa.text(LIVE_WHERE)),
        # The chat ratings of the report: rated tickets only (unrated ones cost nothing), with
        # every column it groups by, so the report reads the index alone.
        sa.Index("ix_tickets_rated", "rated_at", "rating", "channel", "topic", "team",
                 "assignee_id", sqlite_where=sa.text(RATED_WHERE),
                 postgresql_where=sa.text(RATED_WHERE)),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(sa.String(20))
    priority: Mapped[str] = mapped_column(sa.String(10))
    # No index on topic or created_at alone: nothing filters by them that a composite index
    # (customer, report, queue, topic_state) does not serve, and each costs every ticket write.
    topic: Mapped[str | None] = mapped_column(sa.String(40))
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
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    first_message_at: Mapped[dt.datetime]
    last_message_at: Mapped[dt.datetime]
    last_customer_message_at: Mapped[dt.datetime | None]
    first_response_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    # A reply to the citizen failed for good (gave up, rejected, bounced) and none reached them
    # since: flagged in the queue until a later reply is delivered.
    reply_failed_at: Mapped[dt.datetime | None]
    # SLA: the policy and calendar (with versions) the ticket is measured under, the clocks as
    # last evaluated, and when the timer worker must look again (indexed: the due set is a
    # range scan, never a scan of open tickets).
    sla_policy: Mapped[str | None] = mapped_column(sa.String(60))
    sla_policy_version: Mapped[int | None] = mapped_column(sa.Integer)
    sla_calendar: Mapped[str | None] = mapped_column(sa.String(40))
    sla_calendar_version: Mapped[int | None] = mapped_column(sa.Integer)
    first_response_due_at: Mapped[dt.datetime | None]
    first_response_state: Mapped[str | None] = mapped_column(sa.String(12))
    next_response_due_at: Mapped[dt.datetime | None]
    resolution_due_at: Mapped[dt.datetime | None]
    resolution_state: Mapped[str | None] = mapped_column(sa.String(12))
    sla_check_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    sla_signals: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    # The policy's terms as they were when the ticket was measured (targets, warning share,
    # escalation steps): a later edit of the policy applies to new tickets only, until an
    # explicit ``ticketing sla recompute``.  NULL on tickets opened before migration 0006.
    sla_terms: Mapped[dict[str, Any] | None] = mapped_column(Json)
    # The measures, in whole business minutes on the ticket's calendar, written with the clocks
    # once the target is fulfilled (NULL until then, and again while a resolved ticket is
    # reopened): the report aggregates these numbers instead of recomputing business time.
    first_response_business_minutes: Mapped[int | None] = mapped_column(sa.Integer)
    resolution_business_minutes: Mapped[int | None] = mapped_column(sa.Integer)
    # Routing: the earliest due time of a clock not yet met (first/next response, resolution),
    # kept wherever the SLA columns are written, and the priority as a sortable number
    # (urgent 0 … low 3): together with the id (creation order) the queue's order.
    queue_due_at: Mapped[dt.datetime | None]
    priority_rank: Mapped[int] = mapped_column(sa.SmallInteger, default=2, server_default="2")
    # Generated by the database (see SLA_DUE_SQL): never written by the code.
    sla_due_at: Mapped[dt.datetime | None] = mapped_column(sa.Computed(SLA_DUE_SQL))
    sla_breached: Mapped[int | None] = mapped_column(sa.SmallInteger, sa.Computed(SLA_BREACHED_SQL))
    # The citizen's 1–5 rating at the end of a chat (web chat), and when it was given.
    rating: Mapped[int | None] = mapped_column(sa.SmallInteger)
    # The report counts the ratings given in its period: ``ix_tickets_rated`` (a range of it).
    rated_at: Mapped[dt.datetime | None]
