"""channel_state: leases, cursors, pace slots, attachment fetches, message revisions;
messages.retracted_at; identities.unreachable_at / unreachable_reason

What the channels' background work shares across worker hosts (one poller leader, where it
resumes, the send pacing of a channel), attachments fetched after ingest, edited and unsent
messages, and addresses a channel says no longer reach the citizen.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 15:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table('leases',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('fence', sa.BigInteger(), nullable=False),
    sa.Column('acquired_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_leases'))
    )
    op.create_table('cursors',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('value', Json, nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_cursors'))
    )
    op.create_table('pace_slots',
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('next_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_pace_slots'))
    )
    op.create_table('attachment_fetches',
    sa.Column('id', BigId, nullable=False),
    sa.Column('message_id', BigId, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('locator', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'],
                            name=op.f('fk_attachment_fetches_message_id_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment_fetches')),
    sa.UniqueConstraint('message_id', 'position',
                        name=op.f('uq_attachment_fetches_message_id_position'))
    )
    op.create_index('ix_attachment_fetches_due', 'attachment_fetches',
                    ['status', 'next_attempt_at'], unique=False)
    op.create_table('message_revisions',
    sa.Column('id', BigId, nullable=False),
    sa.Column('message_id', BigId, nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('external_id', sa.String(length=500), nullable=False),
    sa.Column('body_before', sa.Text(), nullable=False),
    sa.Column('revised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'],
                            name=op.f('fk_message_revisions_message_id_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_revisions')),
    sa.UniqueConstraint('message_id', 'external_id',
                        name=op.f('uq_message_revisions_message_id_external_id'))
    )
    op.create_index(op.f('ix_message_revisions_message_id'), 'message_revisions',
                    ['message_id'], unique=False)
    # Plain ADD COLUMN (nullable, no default): no table copy on SQLite, no rewrite on PostgreSQL.
    op.add_column('messages', sa.Column('retracted_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('identities', sa.Column('unreachable_at', sa.DateTime(timezone=True),
                                          nullable=True))
    op.add_column('identities', sa.Column('unreachable_reason', sa.String(length=300),
                                          nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('identities') as batch:
        batch.drop_column('unreachable_reason')
        batch.drop_column('unreachable_at')
    with op.batch_alter_table('messages') as batch:
        batch.drop_column('retracted_at')
    op.drop_index(op.f('ix_message_revisions_message_id'), table_name='message_revisions')
    op.drop_table('message_revisions')
    op.drop_index('ix_attachment_fetches_due', table_name='attachment_fetches')
    op.drop_table('attachment_fetches')
    op.drop_table('pace_slots')
    op.drop_table('cursors')
    op.drop_table('leases')
