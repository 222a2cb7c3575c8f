"""reply addressing and outbox guard

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 19:59:20.211652
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sender', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient_key', sa.String(length=320), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_external_id'), ['external_id'], unique=False)
        batch_op.create_index('ix_outbox_recipient_created', ['recipient_key', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_recipient_created')
        batch_op.drop_index(batch_op.f('ix_outbox_message_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_external_id'))
        batch_op.drop_column('recipient_key')

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('sender')

