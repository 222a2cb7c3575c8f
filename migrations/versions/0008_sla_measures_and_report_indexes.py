"""sla measures and report indexes

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-27 21:40:18.215162

Stores on each ticket the business minutes its first response and resolution took (written by
the SLA service with the clocks), and the covering indexes the SLA report reads.  Existing
tickets get their measures by replaying their history under their SLA policy and calendar
(``ticketing.services.sla.backfill_measures``); a database with no fulfilled target (a new one)
skips that and needs no configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from ticketing.models.base import Json, UTCDateTime

revision: str = '0008'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_sent', ['sent_at', 'direction', 'channel'], unique=False)

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_response_business_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('resolution_business_minutes', sa.Integer(), nullable=True))
        batch_op.create_index('ix_tickets_backlog', ['status', 'channel', 'first_message_at', 'merged_into_id'], unique=False)
        batch_op.create_index('ix_tickets_report', ['first_message_at', 'merged_into_id', 'channel', 'topic', 'team', 'assignee_id', 'customer_id', 'first_response_state', 'resolution_state', 'resolved_at', 'first_response_business_minutes', 'resolution_business_minutes'], unique=False)

    _backfill()


def _backfill() -> None:
    conn = op.get_bind()
    tickets = sa.table('tickets', sa.column('id'), sa.column('first_response_at'),
                       sa.column('resolved_at'), sa.column('merged_into_id'))
    pending = conn.execute(sa.select(sa.func.count()).select_from(tickets).where(
        tickets.c.merged_into_id.is_(None),
        sa.or_(tickets.c.first_response_at.is_not(None), tickets.c.resolved_at.is_not(None)))
    ).scalar_one()
    if not pending:
        return
    # Only now is the SLA configuration needed: the measures are the clocks' own figures.
    import datetime as dt

    from ticketing.app import build_app
    from ticketing.services.sla import backfill_measures

    app = build_app()
    try:
        backfill_measures(conn, app.sla_setup, now=dt.datetime.now(dt.UTC),
                          read_history=_history)
    finally:
        app.close()


def _history(conn: sa.Connection, ticket_ids: Sequence[int]) -> dict[int, list[Any]]:
    """``services.sla.history`` over this revision's schema (automated mail was marked by
    ``extra["auto"]``; migration 0014 made it a column), so that the replay does not depend on
    columns added later."""
    from ticketing.domain.sla import EventKind, TicketEvent
    from ticketing.domain.text import Role, transcript_turns

    out: dict[int, list[Any]] = {tid: [] for tid in ticket_ids}
    m = sa.table('messages', sa.column('ticket_id'), sa.column('direction'),
                 sa.column('channel'), sa.column('sent_at', UTCDateTime()),
                 sa.column('received_at', UTCDateTime()), sa.column('author_user_id'),
                 sa.column('body'), sa.column('extra', Json))
    audit = sa.table('audit_events', sa.column('ticket_id'), sa.column('at', UTCDateTime()),
                     sa.column('kind'), sa.column('data', Json))
    rows = conn.execute(sa.select(m).where(m.c.ticket_id.in_(list(ticket_ids))))
    for r in rows:
        if r.direction == "in" and not (r.extra or {}).get("auto"):
            at = min(r.sent_at, r.received_at)
            out[r.ticket_id].append(TicketEvent(at=at, kind=EventKind.CUSTOMER_MESSAGE))
            turns = transcript_turns(r.body) if r.channel == "phone" else None
            if turns and any(turn.role is Role.AGENT for turn in turns):
                out[r.ticket_id].append(TicketEvent(at=at, kind=EventKind.AGENT_RESPONSE))
        elif r.direction == "out" and r.author_user_id is not None:
            out[r.ticket_id].append(TicketEvent(at=r.sent_at, kind=EventKind.AGENT_RESPONSE))
    statuses = conn.execute(sa.select(audit).where(
        audit.c.ticket_id.in_(list(ticket_ids)),
        audit.c.kind.in_(('ticket.status_changed', 'ticket.reopened'))))
    for s in statuses:
        to = "open" if s.kind == "ticket.reopened" else str((s.data or {}).get("status"))
        kind = EventKind.RESOLVED if to in ("resolved", "closed") else EventKind.STATUS_CHANGE
        out[s.ticket_id].append(TicketEvent(at=s.at, kind=kind, to=to))
    return out


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_report')
        batch_op.drop_index('ix_tickets_backlog')
        batch_op.drop_column('resolution_business_minutes')
        batch_op.drop_column('first_response_business_minutes')

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_sent')
