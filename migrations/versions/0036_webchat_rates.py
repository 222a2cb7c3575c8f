"""webchat_rates: the web chat's message limits (token buckets per session and per client
address) in the database, so that several web processes and hosts share one limit

Revision ID: 0036_webchat_rates
Revises: 0035_page_speed
Create Date: 2026-12-06 03:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0036_webchat_rates'
down_revision: str | None = '0035_page_speed'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'webchat_rates',
        sa.Column('key', sa.String(100), nullable=False),
        sa.Column('tokens', sa.Float(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_webchat_rates')))
    op.create_index(op.f('ix_webchat_rates_at'), 'webchat_rates', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_webchat_rates_at'), table_name='webchat_rates')
    op.drop_table('webchat_rates')
