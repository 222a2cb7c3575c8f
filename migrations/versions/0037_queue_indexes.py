"""queue_indexes: the queue page's totals under a topic filter and its "updated" order

``ix_tickets_topic_state`` (topic, sla_breached, sla_due_at) over the live tickets: the totals
per SLA state under a topic filter become ranges of one index instead of a walk of every live
ticket checked for its topic.  ``ix_tickets_updated`` (last_message_at, id) over the live
tickets: the "updated" order (newest activity first) is one backward walk, not a sort of every
matching ticket.

Revision ID: 0037_queue_indexes
Revises: 0036_webchat_rates
Create Date: 2026-12-06 05:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0037_queue_indexes'
down_revision: str | None = '0036_webchat_rates'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE_WHERE = "merged_into_id IS NULL"  # as models/ticket.py says it


def upgrade() -> None:
    where = sa.text(LIVE_WHERE)
    op.create_index("ix_tickets_topic_state", "tickets", ["topic", "sla_breached", "sla_due_at"],
                    sqlite_where=where, postgresql_where=where)
    op.create_index("ix_tickets_updated", "tickets", ["last_message_at", "id"],
                    sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    op.drop_index("ix_tickets_updated", table_name="tickets")
    op.drop_index("ix_tickets_topic_state", table_name="tickets")
