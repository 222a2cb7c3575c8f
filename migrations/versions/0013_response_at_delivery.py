"""a reply counts when it reaches the citizen: messages.delivered_at, tickets.reply_failed_at

``messages.delivered_at``: when an outbound reply's channel accepted it (the outbox settled the
row as sent) or a call back reached the citizen; only those count as responses.
``tickets.reply_failed_at``: a reply failed for good and none reached the citizen since (the
queue's flag).

Existing data moves to the rule from the outbox history: a reply's ``delivered_at`` is its
outbox row's ``sent_at`` when that row was sent (failed, bounced and pending replies stay
undelivered); a ticket's ``first_response_at`` is its earliest delivered agent reply or phone
call in which an agent spoke, else NULL; tickets with a finally failed reply are flagged; and
every live ticket with an agent reply gets ``sla_check_at = now`` so that the SLA timer
re-evaluates its clocks (and with them the report's rollups) under the new rule.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 09:40:00
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ticketing.domain.text import Role, transcript_turns

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5_000
_SENT = ("SELECT o.sent_at FROM outbox o WHERE o.message_id = messages.id "
         "AND o.kind = 'reply' AND o.status = 'sent' AND o.sent_at IS NOT NULL")
_REPLY = "messages.direction = 'out' AND messages.author_user_id IS NOT NULL"
_STAMP = sa.DateTime(timezone=True)


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _bound(value: dt.datetime, dialect: str) -> dt.datetime:
    """As the models store it: UTC, naive on SQLite (no zone type there)."""
    value = value.astimezone(dt.UTC)
    return value.replace(tzinfo=None) if dialect == 'sqlite' else value


def _phone_responses(bind: sa.Connection) -> dict[int, dt.datetime]:
    """Per ticket, the earliest phone call in which an agent spoke (the transcript is parsed
    here, as the SLA history does: ``ticketing.domain.text``)."""
    out: dict[int, dt.datetime] = {}
    last = 0
    query = sa.text(
        "SELECT id, ticket_id, sent_at, received_at, body FROM messages "
        "WHERE id > :last AND direction = 'in' AND channel = 'phone' ORDER BY id LIMIT :n"
    ).columns(sa.column('id', sa.Integer()), sa.column('ticket_id', sa.Integer()),
              sa.column('sent_at', _STAMP), sa.column('received_at', _STAMP),
              sa.column('body', sa.Text()))
    while True:
        rows = bind.execute(query, {"last": last, "n": BATCH}).all()
        if not rows:
            return out
        for r in rows:
            turns = transcript_turns(r.body)
            if turns and any(turn.role is Role.AGENT for turn in turns):
                at = min(_utc(r.sent_at), _utc(r.received_at))
                if r.ticket_id not in out or at < out[r.ticket_id]:
                    out[r.ticket_id] = at
        last = rows[-1].id


def upgrade() -> None:
    # Plain ADD COLUMN on both databases (no table copy: the report triggers on tickets stay).
    op.add_column('messages', sa.Column('delivered_at', _STAMP, nullable=True))
    op.add_column('tickets', sa.Column('reply_failed_at', _STAMP, nullable=True))
    bind = op.get_bind()
    now = _bound(dt.datetime.now(dt.UTC), bind.dialect.name)
    if bind.dialect.name == 'postgresql':
        op.execute("UPDATE messages SET delivered_at = o.sent_at FROM outbox o "
                   "WHERE o.message_id = messages.id AND o.kind = 'reply' "
                   "AND o.status = 'sent' AND o.sent_at IS NOT NULL "
                   "AND messages.direction = 'out' AND messages.author_user_id IS NOT NULL")
    else:
        op.execute(f"UPDATE messages SET delivered_at = ({_SENT}) WHERE {_REPLY}")
    # The earliest delivered reply per ticket (NULL where none), then phone calls.
    op.execute("UPDATE tickets SET first_response_at = (SELECT min(messages.delivered_at) "
               f"FROM messages WHERE messages.ticket_id = tickets.id AND {_REPLY})")
    for ticket_id, at in _phone_responses(bind).items():
        bind.execute(sa.text(
            "UPDATE tickets SET first_response_at = :at WHERE id = :id "
            "AND (first_response_at IS NULL OR first_response_at > :at)"),
            {"id": ticket_id, "at": _bound(at, bind.dialect.name)})
    op.execute("UPDATE tickets SET reply_failed_at = (SELECT max(o.next_attempt_at) "
               "FROM outbox o WHERE o.ticket_id = tickets.id AND o.kind = 'reply' "
               "AND o.status = 'failed') WHERE EXISTS (SELECT 1 FROM outbox o "
               "WHERE o.ticket_id = tickets.id AND o.kind = 'reply' AND o.status = 'failed')")
    bind.execute(sa.text(
        "UPDATE tickets SET sla_check_at = :now WHERE merged_into_id IS NULL AND EXISTS "
        f"(SELECT 1 FROM messages WHERE messages.ticket_id = tickets.id AND {_REPLY})"),
        {"now": now})


def downgrade() -> None:
    # Back to "a reply counts when it is queued".
    op.execute(f"UPDATE tickets SET first_response_at = (SELECT min(messages.sent_at) "
               f"FROM messages WHERE messages.ticket_id = tickets.id AND {_REPLY}) "
               f"WHERE first_response_at IS NULL")
    op.drop_column('tickets', 'reply_failed_at')
    op.drop_column('messages', 'delivered_at')
