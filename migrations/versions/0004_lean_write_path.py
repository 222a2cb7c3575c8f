"""lean write path: no index on audit kind; ticket_signatures clustered on its lookup key

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 20:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _signatures(name: str, with_rowid: bool) -> None:
    op.create_table(
        name,
        sa.Column('band_key', sa.BigInteger(), nullable=False),
        sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'],
                                name=op.f('fk_ticket_signatures_ticket_id_tickets')),
        sa.PrimaryKeyConstraint('band_key', 'seen_at', 'ticket_id',
                                name=op.f('pk_ticket_signatures')),
        sqlite_with_rowid=with_rowid,
    )


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_kind'))
    # The derived signatures move to the new layout (copied, not recomputed).
    op.rename_table('ticket_signatures', 'ticket_signatures_old')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE ticket_signatures_old '
                   'RENAME CONSTRAINT pk_ticket_signatures TO pk_ticket_signatures_old')
        op.execute('ALTER TABLE ticket_signatures_old RENAME CONSTRAINT '
                   'fk_ticket_signatures_ticket_id_tickets TO fk_ticket_signatures_old_ticket')
    op.execute('DROP INDEX IF EXISTS ix_ticket_signatures_key_seen')
    op.execute('DROP INDEX IF EXISTS ix_ticket_signatures_ticket_id')
    _signatures('ticket_signatures', with_rowid=False)
    op.execute('INSERT INTO ticket_signatures (band_key, seen_at, ticket_id) '
               'SELECT band_key, seen_at, ticket_id FROM ticket_signatures_old')
    op.drop_table('ticket_signatures_old')


def downgrade() -> None:
    op.rename_table('ticket_signatures', 'ticket_signatures_new')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE ticket_signatures_new '
                   'RENAME CONSTRAINT pk_ticket_signatures TO pk_ticket_signatures_new')
        op.execute('ALTER TABLE ticket_signatures_new RENAME CONSTRAINT '
                   'fk_ticket_signatures_ticket_id_tickets TO fk_ticket_signatures_new_ticket')
    op.create_table(
        'ticket_signatures',
        sa.Column('band_key', sa.BigInteger(), nullable=False),
        sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'],
                                name=op.f('fk_ticket_signatures_ticket_id_tickets')),
        sa.PrimaryKeyConstraint('band_key', 'ticket_id', name=op.f('pk_ticket_signatures')),
    )
    op.create_index('ix_ticket_signatures_key_seen', 'ticket_signatures',
                    ['band_key', 'seen_at'])
    op.create_index(op.f('ix_ticket_signatures_ticket_id'), 'ticket_signatures', ['ticket_id'])
    op.execute('INSERT INTO ticket_signatures (band_key, ticket_id, seen_at) '
               'SELECT band_key, ticket_id, seen_at FROM ticket_signatures_new')
    op.drop_table('ticket_signatures_new')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_kind'), ['kind'], unique=False)
