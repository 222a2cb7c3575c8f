"""claims: identities.claimed_link_at, an address linked to its customer only through an
identifier written in a message

"NIK saya ..." from a new address links it to the citizen who owns that NIK for the staff's view,
but it is a claim: until staff check it (or the citizen confirms on a channel we know), nothing of
that citizen's other tickets is sent to the new address.

Revision ID: 0025
Revises: 0019
Create Date: 2026-12-05 19:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0025'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('identities', sa.Column('claimed_link_at', sa.DateTime(timezone=True),
                                          nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('identities') as batch:
        batch.drop_column('claimed_link_at')
