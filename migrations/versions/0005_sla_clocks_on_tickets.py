"""sla clocks on tickets

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 20:18:34.908770
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_policy', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('sla_policy_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sla_calendar', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('sla_calendar_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('first_response_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('first_response_state', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('next_response_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolution_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolution_state', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('sla_check_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sla_signals', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False, server_default=sa.text("'{}'")))
        batch_op.create_index(batch_op.f('ix_tickets_sla_check_at'), ['sla_check_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_sla_check_at'))
        batch_op.drop_column('sla_signals')
        batch_op.drop_column('sla_check_at')
        batch_op.drop_column('resolution_state')
        batch_op.drop_column('resolution_due_at')
        batch_op.drop_column('next_response_due_at')
        batch_op.drop_column('first_response_state')
        batch_op.drop_column('first_response_due_at')
        batch_op.drop_column('sla_calendar_version')
        batch_op.drop_column('sla_calendar')
        batch_op.drop_column('sla_policy_version')
        batch_op.drop_column('sla_policy')

