"""topics: messages.topics, the complaint topics a message names with their scores

"waktu ikut gelombang 40, NIK saya ditolak" names a NIK problem and, as its context, a
registration wave: both are recorded on the message, best first, each with its score.

Revision ID: 0031_topics
Revises: 0027_webchat
Create Date: 2026-12-06 01:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0031_topics'
down_revision: str | None = '0027_webchat'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
    op.add_column('messages', sa.Column('topics', json, nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy of ``messages`` would drop
    # its triggers (0033_search's live_messages), which that revision's downgrade then drops.
    op.execute('ALTER TABLE messages DROP COLUMN topics')
