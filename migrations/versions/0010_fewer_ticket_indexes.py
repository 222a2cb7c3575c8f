"""tickets: drop the single-column indexes on topic and created_at

Nothing reads tickets by topic or creation time alone (the dedup lookup uses
ix_tickets_customer_status, the report ix_tickets_report, the queue ix_tickets_queue), and every
index costs each ticket insert, and each update on PostgreSQL (a non-HOT update writes an entry
in every index).

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-27 22:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0010'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_tickets_topic', table_name='tickets')
    op.drop_index('ix_tickets_created_at', table_name='tickets')


def downgrade() -> None:
    op.create_index('ix_tickets_created_at', 'tickets', ['created_at'], unique=False)
    op.create_index('ix_tickets_topic', 'tickets', ['topic'], unique=False)
