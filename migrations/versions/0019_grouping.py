"""grouping: messages.grouping, the rule that put an inbound message on its ticket

A message processed out of its ``sent_at`` order (a backlog, another worker's batch, a channel
that delivers late) re-decides the vague follow-ups sent after it; to find them, each inbound
message records the rule that placed it (``follow_up``, ``same_topic``, ``created`` ...).

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-05 18:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('messages', sa.Column('grouping', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.drop_column('grouping')
