"""incidents and name keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 19:17:31.346421
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('incidents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('topic', sa.String(length=40), nullable=True),
    sa.Column('label', sa.String(length=300), nullable=True),
    sa.Column('ticket_count', sa.Integer(), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index('ix_incidents_topic_last_seen', ['topic', 'last_seen_at'], unique=False)

    op.create_table('ticket_signatures',
    sa.Column('band_key', sa.BigInteger(), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_signatures_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('band_key', 'ticket_id', name=op.f('pk_ticket_signatures'))
    )
    with op.batch_alter_table('ticket_signatures', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_signatures_key_seen', ['band_key', 'seen_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_signatures_ticket_id'), ['ticket_id'], unique=False)

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_key', sa.String(length=120), nullable=True))
        batch_op.create_index(batch_op.f('ix_customers_name_key'), ['name_key'], unique=False)

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('incident_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('fingerprint', sa.String(length=300), nullable=True))
        batch_op.create_index(batch_op.f('ix_tickets_incident_id'), ['incident_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_tickets_incident_id_incidents'), 'incidents', ['incident_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tickets_incident_id_incidents'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_tickets_incident_id'))
        batch_op.drop_column('fingerprint')
        batch_op.drop_column('incident_id')

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_name_key'))
        batch_op.drop_column('name_key')

    with op.batch_alter_table('ticket_signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_signatures_ticket_id'))
        batch_op.drop_index('ix_ticket_signatures_key_seen')

    op.drop_table('ticket_signatures')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_topic_last_seen')

    op.drop_table('incidents')
