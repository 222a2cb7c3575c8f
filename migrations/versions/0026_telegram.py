"""telegram: link_challenges, a one-time code that links a chat to a ticket's citizen

A Telegram ``/start`` with a ticket's deep-link payload never links the chat on the payload
alone: a code goes to the citizen on a channel we already know (their e-mail), and only the code
typed back in the chat links it.

Revision ID: 0026_telegram
Revises: 0025
Create Date: 2026-12-06 00:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0026_telegram'
down_revision: str | None = '0025'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table('link_challenges',
    sa.Column('id', BigId, nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('customer_id', BigId, nullable=False),
    sa.Column('ticket_id', BigId, nullable=False),
    sa.Column('sent_via', sa.String(length=20), nullable=False),
    sa.Column('code_hash', sa.String(length=100), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                            name=op.f('fk_link_challenges_customer_id_customers')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'],
                            name=op.f('fk_link_challenges_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_challenges'))
    )
    op.create_index('ix_link_challenges_address', 'link_challenges', ['channel', 'address'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_link_challenges_address', table_name='link_challenges')
    op.drop_table('link_challenges')
