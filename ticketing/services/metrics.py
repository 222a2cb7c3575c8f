"""Prometheus text exposition of queue depths and ticket counts (SQL aggregates only)."""

from __future__ import annotations

import sqlalchemy as sa

from ticketing.store import tickets as q
from ticketing.store.inbox import inbox


def render_metrics(conn: sa.Connection) -> str:
    lines = ["# HELP ticketing_tickets Tickets by status.", "# TYPE ticketing_tickets gauge"]
    t = q.tickets
    for status, count in conn.execute(sa.select(t.c.status, sa.func.count())
                                      .group_by(t.c.status).order_by(t.c.status)):
        lines.append(f'ticketing_tickets{{status="{status}"}} {count}')
    pending = conn.execute(sa.select(sa.func.count()).select_from(inbox)
                           .where(inbox.c.status == "pending")).scalar_one()
    lines += ["# HELP ticketing_inbox_pending Raw payloads waiting for a worker.",
              "# TYPE ticketing_inbox_pending gauge", f"ticketing_inbox_pending {pending}"]
    return "\n".join(lines) + "\n"
