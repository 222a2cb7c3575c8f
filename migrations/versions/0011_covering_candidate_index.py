"""tickets: the dedup candidate lookup reads the index alone

ix_tickets_customer_status (customer_id, status, last_message_at) becomes a covering index of
everything the pipeline reads of a candidate ticket (merged_into_id, topic, channel, first and
last message times, message count).  With a million tickets the table lookup per candidate
was a page miss per candidate: measured, the ingest rate into a 1M-message SQLite database fell
by half, almost all of it in that lookup.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERING = ['customer_id', 'status', 'last_message_at', 'merged_into_id', 'topic', 'channel',
            'first_message_at', 'last_customer_message_at', 'message_count']


def upgrade() -> None:
    op.drop_index('ix_tickets_customer_status', table_name='tickets')
    op.create_index('ix_tickets_customer_status', 'tickets', COVERING, unique=False)


def downgrade() -> None:
    op.drop_index('ix_tickets_customer_status', table_name='tickets')
    op.create_index('ix_tickets_customer_status', 'tickets',
                    ['customer_id', 'status', 'last_message_at'], unique=False)
