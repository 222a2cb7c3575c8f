"""webchat links: sign-in links by e-mail for a web chat (single-use token digests, the
requests the limits count), the session's proven e-mail and where replies continue, and a
partial covering index of the rated tickets for the report's ratings

Revision ID: 0034_webchat_links
Revises: 0033_search
Create Date: 2026-12-06 03:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0034_webchat_links'
down_revision: str | None = '0033_search'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'webchat_links',
        sa.Column('id', BigId, nullable=False),
        sa.Column('session_id', BigId, nullable=True),
        sa.Column('token_digest', sa.LargeBinary(32), nullable=True),
        sa.Column('email', sa.String(320), nullable=False),
        sa.Column('ip', sa.String(64), nullable=True),
        sa.Column('created_at', When, nullable=False),
        sa.Column('expires_at', When, nullable=True),
        sa.Column('used_at', When, nullable=True),
        sa.ForeignKeyConstraint(['session_id'], ['webchat_sessions.id'],
                                name='fk_webchat_links_session_id_webchat_sessions'),
        sa.PrimaryKeyConstraint('id', name='pk_webchat_links'),
        sa.UniqueConstraint('token_digest', name='uq_webchat_links_token_digest'),
    )
    op.create_index('ix_webchat_links_email_created', 'webchat_links', ['email', 'created_at'])
    op.create_index('ix_webchat_links_ip_created', 'webchat_links', ['ip', 'created_at'])
    op.create_index('ix_webchat_links_session_id', 'webchat_links', ['session_id'])
    op.add_column('webchat_sessions', sa.Column('email_verified_at', When, nullable=True))
    op.add_column('webchat_sessions', sa.Column('continue_on', sa.String(16), nullable=True))
    op.create_index('ix_tickets_rated', 'tickets',
                    ['rated_at', 'rating', 'channel', 'topic', 'team', 'assignee_id'],
                    sqlite_where=sa.text('rated_at IS NOT NULL'),
                    postgresql_where=sa.text('rated_at IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_tickets_rated', table_name='tickets')
    op.execute('ALTER TABLE webchat_sessions DROP COLUMN continue_on')
    op.execute('ALTER TABLE webchat_sessions DROP COLUMN email_verified_at')
    op.drop_table('webchat_links')
