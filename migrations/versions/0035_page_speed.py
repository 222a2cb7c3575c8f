"""page speed: the queue page's SLA state as generated columns with indexes; the reply
box's latest message per channel indexed

``tickets.sla_due_at`` (when the clock that runs now falls due) and ``tickets.sla_breached``
(either clock breached), computed by the database from the clocks' columns, so no writer can
forget them: SQLite virtual generated columns (``ALTER TABLE ADD COLUMN`` cannot add a stored
one; an index on a virtual column is kept like any other), PostgreSQL stored ones (the table is
rewritten once).  Two partial indexes over the live tickets serve the queue's "due" order, the
SLA state filter and its totals as ranges (models/ticket.py).  And the ticket page's reply box
reads a citizen's latest inbound message per channel through ``ix_messages_customer_latest``.

Revision ID: 0035_page_speed
Revises: 0034_webchat_links
Create Date: 2026-12-06 03:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ticketing.models.base import UTCDateTime

revision: str = '0035_page_speed'
down_revision: str | None = '0034_webchat_links'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As models/ticket.py says them (written out here: a migration keeps its meaning).
SLA_DUE_SQL = ("CASE WHEN first_response_state = 'running' THEN first_response_due_at "
               "WHEN resolution_state = 'running' THEN resolution_due_at END")
SLA_BREACHED_SQL = ("CASE WHEN first_response_state = 'breached' "
                    "OR resolution_state = 'breached' THEN 1 ELSE 0 END")
LIVE_WHERE = "merged_into_id IS NULL"


def upgrade() -> None:
    # PostgreSQL: stored (indexable on every version); SQLite: virtual (the only kind ALTER
    # TABLE can add), named by rendering no keyword.
    stored = True if op.get_bind().dialect.name == "postgresql" else None
    op.add_column("tickets", sa.Column("sla_due_at", UTCDateTime(),
                                       sa.Computed(SLA_DUE_SQL, persisted=stored), nullable=True))
    op.add_column("tickets", sa.Column("sla_breached", sa.SmallInteger(),
                                       sa.Computed(SLA_BREACHED_SQL, persisted=stored),
                                       nullable=True))
    where = sa.text(LIVE_WHERE)
    op.create_index("ix_tickets_sla_due", "tickets", ["sla_due_at", "id"],
                    sqlite_where=where, postgresql_where=where)
    op.create_index("ix_tickets_sla_state", "tickets", ["sla_breached", "sla_due_at"],
                    sqlite_where=where, postgresql_where=where)
    op.create_index("ix_messages_customer_latest", "messages",
                    ["customer_id", "direction", "channel", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_customer_latest", table_name="messages")
    op.drop_index("ix_tickets_sla_state", table_name="tickets")
    op.drop_index("ix_tickets_sla_due", table_name="tickets")
    op.drop_column("tickets", "sla_breached")
    op.drop_column("tickets", "sla_due_at")
