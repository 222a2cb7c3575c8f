"""webchat: web chat sessions (resumable token digest, pre-chat form, read receipts, typing)
and the citizen's 1-5 rating on the ticket

Revision ID: 0027_webchat
Revises: 0025
Create Date: 2026-12-06 00:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0027_webchat'
down_revision: str | None = '0026_telegram'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'webchat_sessions',
        sa.Column('id', BigId, nullable=False),
        sa.Column('public_id', sa.String(64), nullable=False),
        sa.Column('token_digest', sa.LargeBinary(32), nullable=False),
        sa.Column('name', sa.String(200), nullable=False),
        sa.Column('email', sa.String(320), nullable=True),
        sa.Column('phone', sa.String(40), nullable=True),
        sa.Column('nik', sa.String(16), nullable=True),
        sa.Column('topic', sa.String(80), nullable=True),
        sa.Column('language', sa.String(5), nullable=False),
        sa.Column('ip', sa.String(64), nullable=True),
        sa.Column('created_at', When, nullable=False),
        sa.Column('expires_at', When, nullable=False),
        sa.Column('last_seen_at', When, nullable=True),
        sa.Column('ended_at', When, nullable=True),
        sa.Column('first_external_id', sa.String(200), nullable=True),
        sa.Column('ticket_id', BigId, nullable=True),
        sa.Column('citizen_read_id', BigId, nullable=True),
        sa.Column('agent_read_id', BigId, nullable=True),
        sa.Column('citizen_typing_at', When, nullable=True),
        sa.Column('agent_typing_at', When, nullable=True),
        sa.Column('agent_changed_at', When, nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'],
                                name='fk_webchat_sessions_ticket_id_tickets'),
        sa.PrimaryKeyConstraint('id', name='pk_webchat_sessions'),
        sa.UniqueConstraint('public_id', name='uq_webchat_sessions_public_id'),
        sa.UniqueConstraint('token_digest', name='uq_webchat_sessions_token_digest'),
    )
    op.create_index('ix_webchat_sessions_ip_created', 'webchat_sessions', ['ip', 'created_at'])
    op.create_index('ix_webchat_sessions_ticket_id', 'webchat_sessions', ['ticket_id'])
    op.create_index('ix_webchat_sessions_agent_changed_at', 'webchat_sessions',
                    ['agent_changed_at'])
    op.add_column('tickets', sa.Column('rating', sa.SmallInteger(), nullable=True))
    op.add_column('tickets', sa.Column('rated_at', When, nullable=True))


def downgrade() -> None:
    op.drop_table('webchat_sessions')
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy of ``tickets`` would drop
    # a table that other rows point to.
    op.execute('ALTER TABLE tickets DROP COLUMN rated_at')
    op.execute('ALTER TABLE tickets DROP COLUMN rating')
