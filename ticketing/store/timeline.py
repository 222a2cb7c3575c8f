"""Reads and writes for messages processed out of their ``sent_at`` order: a customer's inbound
messages on some tickets since an instant (with the rule that placed each), which tickets staff
have touched, and moving a message to another ticket."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from ticketing.domain.lifecycle import Direction
from ticketing.store import tables

m = tables.messages


def inbound_since(conn: sa.Connection, ticket_ids: Iterable[int],
                  since: dt.datetime) -> list[Any]:
    """(id, ticket_id, sent_at, grouping) of the inbound messages of these tickets sent at or
    after ``since`` (``ix_messages_ticket_sent``), oldest first."""
    ids = sorted(set(ticket_ids))
    if not ids:
        return []
    return list(conn.execute(
        sa.select(m.c.id, m.c.ticket_id, m.c.sent_at, m.c.grouping)
        .where(m.c.ticket_id.in_(ids), m.c.direction == Direction.IN, m.c.sent_at >= since)
        .order_by(m.c.sent_at, m.c.id)).all())


def touched_by_staff(conn: sa.Connection, ticket_ids: Iterable[int]) -> set[int]:
    """The tickets among these staff worked on: wrote on (a reply, a call log, a note) or
    changed (any audited act of a user: status, topic, assignment, merge)."""
    ids = sorted(set(ticket_ids))
    if not ids:
        return set()
    a = tables.audit
    wrote = sa.select(m.c.ticket_id).where(m.c.ticket_id.in_(ids), sa.or_(
        m.c.author_user_id.is_not(None),
        # a reply written in the provider's own app (no agent of ours), not the auto-reply
        sa.and_(m.c.direction == Direction.OUT, m.c.automation.is_(None))))
    changed = sa.select(a.c.ticket_id).where(a.c.ticket_id.in_(ids), a.c.actor.like("user:%"))
    return {int(r[0]) for r in conn.execute(sa.union(wrote, changed))}


def move(conn: sa.Connection, message_ids: Iterable[int], ticket_id: int) -> None:
    ids = sorted(set(message_ids))
    if ids:
        conn.execute(m.update().where(m.c.id.in_(ids)).values(ticket_id=ticket_id))
