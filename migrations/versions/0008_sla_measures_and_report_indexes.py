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

import sqlalchemy as sa
from alembic import op

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
        backfill_measures(conn, app.sla_setup, now=dt.datetime.now(dt.UTC))
    finally:
        app.close()


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_report')
        batch_op.drop_index('ix_tickets_backlog')
        batch_op.drop_column('resolution_business_minutes')
        batch_op.drop_column('first_response_business_minutes')

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_sent')
