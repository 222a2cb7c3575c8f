"""Reads and writes for replies our side wrote outside the desk (a staff member answering in a
provider's own app, which the provider echoes back): the ticket they answer, and whether an
echo is really one of the desk's own replies whose provider id is not written yet."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from ticketing.domain.lifecycle import Direction
from ticketing.store import tables

m = tables.messages
o = tables.outbox


def latest_ticket_on(conn: sa.Connection, customer_id: int, channel: str) -> int | None:
    """The ticket of the citizen's latest message on this channel (the conversation a reply
    in the provider's app answers; the caller follows merges)."""
    found = conn.execute(sa.select(m.c.ticket_id).where(
        m.c.customer_id == customer_id, m.c.channel == channel, m.c.direction == Direction.IN)
        .order_by(m.c.sent_at.desc(), m.c.id.desc()).limit(1)).scalar()
    return int(found) if found is not None else None


def unsettled_twin(conn: sa.Connection, ticket_id: int, channel: str, body: str,
                   since: dt.datetime) -> int | None:
    """A reply of the desk on this ticket and channel with this text, sent through the outbox
    since ``since`` and without its provider id yet: the echo overtook the outbox's settlement
    (the provider answered, the outbox has not committed).  Its id, or None."""
    found = conn.execute(sa.select(m.c.id).select_from(m.join(o, o.c.message_id == m.c.id))
                         .where(m.c.ticket_id == ticket_id, m.c.channel == channel,
                                m.c.direction == Direction.OUT, m.c.external_id.is_(None),
                                m.c.sent_at >= since, m.c.body == body,
                                o.c.status != "failed")
                         .order_by(m.c.id).limit(1)).scalar()
    return int(found) if found is not None else None


def claim_provider_id(conn: sa.Connection, message_id: int, external_id: str) -> None:
    conn.execute(m.update().where(m.c.id == message_id, m.c.external_id.is_(None))
                 .values(external_id=external_id))
