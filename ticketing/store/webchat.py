"""Web chat sessions and the rows the live transport reads: a session by its token digest or
public id, the brake's count of new sessions per address, a session's history (its own
messages by external-id range, the replies addressed to it through the outbox), the replies
waiting for a connected session, and the desk-side changes (typing, read) since a moment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from ticketing.store import tables

s, m, o, t = tables.webchat_sessions, tables.messages, tables.outbox, tables.tickets

SESSION_COLUMNS = (s.c.id, s.c.public_id, s.c.name, s.c.email, s.c.phone, s.c.nik, s.c.topic,
                   s.c.language, s.c.created_at, s.c.expires_at, s.c.ended_at,
                   s.c.first_external_id, s.c.ticket_id, s.c.citizen_read_id, s.c.agent_read_id)


def insert(conn: sa.Connection, values: Mapping[str, Any]) -> int:
    return int(conn.execute(s.insert().values(**values).returning(s.c.id)).scalar_one())


def by_digest(conn: sa.Connection, digest: bytes) -> Any:
    return conn.execute(sa.select(*SESSION_COLUMNS).where(s.c.token_digest == digest)).first()


def by_public_id(conn: sa.Connection, public_id: str) -> Any:
    return conn.execute(sa.select(*SESSION_COLUMNS).where(s.c.public_id == public_id)).first()


def update(conn: sa.Connection, session_id: int, **values: Any) -> None:
    conn.execute(s.update().where(s.c.id == session_id).values(**values))


def update_by_public(conn: sa.Connection, public_ids: Collection[str], **values: Any) -> None:
    ids = sorted(public_ids)
    for start in range(0, len(ids), 500):
        conn.execute(s.update().where(s.c.public_id.in_(ids[start:start + 500])).values(**values))


def created_since(conn: sa.Connection, ip: str, since: dt.datetime) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(s).where(
        s.c.ip == ip, s.c.created_at >= since)).scalar_one())


def _own_range(public_id: str) -> sa.ColumnElement[bool]:
    # ``<session>:<client_id>``: every id of the session sorts between "<session>:" and
    # "<session>;" (";" follows ":"), so the unique (channel, external_id) index serves it.
    return sa.and_(m.c.channel == "webchat", m.c.external_id >= f"{public_id}:",
                   m.c.external_id < f"{public_id};")


_HISTORY_COLUMNS = (m.c.id, m.c.direction, m.c.external_id, m.c.body, m.c.sent_at,
                    m.c.author_name, m.c.attachments, m.c.retracted_at)


def history(conn: sa.Connection, public_id: str, limit: int = 500) -> list[Any]:
    """The session's messages, oldest first: what the citizen wrote in it and what the desk
    addressed to it (replies, wherever they were delivered in the end)."""
    own = sa.select(*_HISTORY_COLUMNS).where(_own_range(public_id), m.c.direction == "in")
    replies = (sa.select(*_HISTORY_COLUMNS).join(o, o.c.message_id == m.c.id)
               .where(o.c.recipient_key == public_id, o.c.kind == "reply"))
    both = sa.union_all(own, replies).subquery()
    return list(conn.execute(sa.select(both).order_by(both.c.sent_at, both.c.id)
                             .limit(limit)))


def pending_replies(conn: sa.Connection, limit: int = 1000) -> list[Any]:
    """Web chat replies not yet delivered to any connection (the partial due index)."""
    return list(conn.execute(
        sa.select(o.c.id, o.c.kind, o.c.recipient, o.c.payload, o.c.recipient_key,
                  o.c.message_id, o.c.created_at, m.c.author_name, m.c.sent_at)
        .join(m, m.c.id == o.c.message_id)
        .where(o.c.status == "pending", o.c.channel == "webchat")
        .order_by(o.c.id).limit(limit)))


def pending_for(conn: sa.Connection, public_id: str) -> list[Any]:
    return [r for r in pending_replies(conn) if r.recipient_key == public_id]


def desk_changes(conn: sa.Connection, since: dt.datetime) -> list[Any]:
    return list(conn.execute(sa.select(s.c.public_id, s.c.agent_typing_at, s.c.agent_read_id,
                                       s.c.agent_changed_at)
                             .where(s.c.agent_changed_at > since)))


def of_ticket(conn: sa.Connection, ticket_id: int) -> Any:
    """The ticket's latest session (presence on the agent's page)."""
    return conn.execute(sa.select(s.c.id, s.c.public_id, s.c.last_seen_at,
                                  s.c.citizen_typing_at, s.c.citizen_read_id, s.c.ended_at)
                        .where(s.c.ticket_id == ticket_id)
                        .order_by(s.c.id.desc()).limit(1)).first()


def mark_desk(conn: sa.Connection, ticket_id: int, now: dt.datetime, **values: Any) -> int:
    return int(conn.execute(s.update().where(s.c.ticket_id == ticket_id)
                            .values(agent_changed_at=now, **values)).rowcount or 0)


def last_inbound_id(conn: sa.Connection, ticket_id: int) -> int | None:
    value = conn.execute(sa.select(sa.func.max(m.c.id)).where(
        m.c.ticket_id == ticket_id, m.c.direction == "in", m.c.channel == "webchat")
    ).scalar_one()
    return int(value) if value is not None else None


def queue_ahead(conn: sa.Connection, ticket_id: int) -> tuple[int, Any]:
    """How many unassigned tickets in the shared queue came before this one (same team), and
    the ticket's own state (assignee, status, first response due)."""
    me = conn.execute(sa.select(t.c.id, t.c.status, t.c.assignee_id, t.c.team,
                                t.c.created_at, t.c.first_response_due_at,
                                t.c.first_response_at).where(t.c.id == ticket_id)).first()
    if me is None:
        return 0, None
    ahead = conn.execute(sa.select(sa.func.count()).select_from(t).where(
        t.c.assignee_id.is_(None), t.c.merged_into_id.is_(None),
        t.c.status.in_(("new", "open")), t.c.first_response_at.is_(None),
        t.c.created_at < me.created_at,
        (t.c.team == me.team) if me.team is not None else sa.true())).scalar_one()
    return int(ahead), me


def rate(conn: sa.Connection, ticket_id: int, value: int, now: dt.datetime) -> None:
    conn.execute(t.update().where(t.c.id == ticket_id).values(rating=value, rated_at=now))


def hand_over_due(conn: sa.Connection, before: dt.datetime, now: dt.datetime,
                  limit: int = 200) -> list[Any]:
    return list(conn.execute(sa.select(o.c.id, o.c.recipient, o.c.payload, o.c.ticket_id,
                                       o.c.recipient_key, o.c.message_id)
                             .where(o.c.status == "pending", o.c.channel == "webchat",
                                    o.c.created_at < before, o.c.next_attempt_at <= now)
                             .order_by(o.c.id).limit(limit)))


def readdress(conn: sa.Connection, outbox_id: int, *, channel: str,
              recipient: Mapping[str, Any], payload: Mapping[str, Any],
              external_id: str | None, now: dt.datetime) -> None:
    conn.execute(o.update().where(o.c.id == outbox_id, o.c.status == "pending").values(
        channel=channel, recipient=dict(recipient), payload=dict(payload),
        external_id=external_id, next_attempt_at=now))


def park(conn: sa.Connection, ids: Sequence[int], until: dt.datetime) -> None:
    """Replies that cannot be handed over (no e-mail): looked at again later, not every pass."""
    if ids:
        conn.execute(o.update().where(o.c.id.in_(list(ids))).values(next_attempt_at=until))
