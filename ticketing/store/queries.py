"""Read-side queries shared by the API, the web pages and the exports."""

from __future__ import annotations

import sqlalchemy as sa

from ticketing.store import tables
from ticketing.store import tickets as q

users = tables.users


def ticket_columns() -> sa.Select[tuple[object, ...]]:
    """The contract's ticket fields (``export tickets``, ``GET /tickets``) in one indexed join."""
    t = q.tickets
    assignee = users.alias("assignee")
    return (sa.select(
        t.c.id.label("ticket_id"), t.c.customer_id, t.c.status, t.c.topic, t.c.priority,
        t.c.channel, t.c.subject, t.c.created_at,
        t.c.first_response_due_at, t.c.first_response_at, t.c.first_response_state,
        t.c.resolution_due_at, t.c.resolved_at, t.c.resolution_state, t.c.next_response_due_at,
        t.c.sla_policy, t.c.sla_policy_version, t.c.sla_calendar, t.c.sla_calendar_version,
        assignee.c.email.label("assignee"), t.c.merged_into_id.label("merged_into"),
        t.c.team, t.c.language, t.c.message_count, t.c.first_message_at, t.c.last_message_at,
        t.c.updated_at, t.c.reply_failed_at)
        .select_from(t.outerjoin(assignee, assignee.c.id == t.c.assignee_id)))
