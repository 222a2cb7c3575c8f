"""routing: agent profiles and the shared queue

Revision ID: 0007
Revises: 0008
Create Date: 2026-11-27 21:42:06.438631
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0007'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUE_WHERE = "assignee_id IS NULL AND merged_into_id IS NULL AND status IN ('new', 'open')"
LOAD_WHERE = ("assignee_id IS NOT NULL AND merged_into_id IS NULL "
              "AND status IN ('new', 'open', 'pending_customer')")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'agent_profiles',
        sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('teams', JSON, nullable=False),
        sa.Column('capacity', JSON, nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_heartbeat_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_assigned_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('claim_seq', sa.Integer(), server_default='0', nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_agent_profiles_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_agent_profiles')),
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('queue_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('priority_rank', sa.SmallInteger(), server_default='2',
                                      nullable=False))
    # Existing tickets: the same values the application maintains from now on.
    op.execute("UPDATE tickets SET priority_rank = CASE priority WHEN 'urgent' THEN 0 "
               "WHEN 'high' THEN 1 WHEN 'low' THEN 3 ELSE 2 END")
    running = ("CASE WHEN first_response_at IS NULL THEN first_response_due_at END",
               "next_response_due_at",
               "CASE WHEN resolved_at IS NULL THEN resolution_due_at END")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"UPDATE tickets SET queue_due_at = LEAST({', '.join(running)})")
    else:  # SQLite's min() of several arguments is NULL if any is: put NULLs past every date
        far = "'9999-12-31 00:00:00.000000'"
        op.execute(f"UPDATE tickets SET queue_due_at = NULLIF(min("
                   f"{', '.join(f'coalesce({r}, {far})' for r in running)}), {far})")
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_queue', ['team', 'queue_due_at', 'priority_rank', 'id'],
                              unique=False, sqlite_where=sa.text(QUEUE_WHERE),
                              postgresql_where=sa.text(QUEUE_WHERE))
        batch_op.create_index('ix_tickets_agent_load', ['assignee_id', 'channel'], unique=False,
                              sqlite_where=sa.text(LOAD_WHERE),
                              postgresql_where=sa.text(LOAD_WHERE))


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_agent_load')
        batch_op.drop_index('ix_tickets_queue')
        batch_op.drop_column('priority_rank')
        batch_op.drop_column('queue_due_at')
    op.drop_table('agent_profiles')
