"""Sign-in links of the web chat (``webchat_links``) and what the continuation of a chat on
another channel reads: the counts the request limits use, taking a link once (a conditional
update: two clicks at once, one wins), the newest chat of an e-mail address, and the citizen's
proven, reachable Telegram chat."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ticketing.store import tables

k, s, i, c = (tables.webchat_links, tables.webchat_sessions, tables.identities,
              tables.customers)


def requests_since(conn: sa.Connection, *, since: dt.datetime, ip: str | None = None,
                   email: str | None = None) -> int:
    where = [k.c.created_at >= since]
    if ip is not None:
        where.append(k.c.ip == ip)
    if email is not None:
        where.append(k.c.email == email)
    return int(conn.execute(sa.select(sa.func.count()).select_from(k).where(*where))
               .scalar_one())


def insert(conn: sa.Connection, values: Mapping[str, Any]) -> int:
    return int(conn.execute(k.insert().values(**values).returning(k.c.id)).scalar_one())


def latest_session_of(conn: sa.Connection, email: str, since: dt.datetime) -> Any:
    """The newest chat that gave this address and has a conversation (a ticket)."""
    return conn.execute(sa.select(s.c.id, s.c.public_id, s.c.name, s.c.email, s.c.ticket_id,
                                  s.c.language)
                        .where(s.c.email == email, s.c.ticket_id.is_not(None),
                               s.c.created_at >= since)
                        .order_by(s.c.created_at.desc(), s.c.id.desc()).limit(1)).first()


def take(conn: sa.Connection, digest: bytes, now: dt.datetime) -> Any:
    """The link of this token, marked used, if it was unused and unexpired; else None."""
    return conn.execute(k.update().where(k.c.token_digest == digest, k.c.used_at.is_(None),
                                         k.c.expires_at > now)
                        .values(used_at=now).returning(k.c.session_id, k.c.email)).first()


def retire_others(conn: sa.Connection, session_id: int, now: dt.datetime) -> None:
    """The session's other unused links stop working (the newest one opened it)."""
    conn.execute(k.update().where(k.c.session_id == session_id, k.c.used_at.is_(None),
                                  k.c.token_digest.is_not(None)).values(used_at=now))


def prove(conn: sa.Connection, identity_id: int) -> None:
    """The address is the citizen's by proof (a sign-in link sent there was opened): no longer
    a claim, and counted like a channel's own sender field."""
    conn.execute(i.update().where(i.c.id == identity_id)
                 .values(claimed_link_at=None, source="sender"))


def proven_telegram(conn: sa.Connection, customer_id: int) -> str | None:
    """The customer's (or a customer merged into it) Telegram chat linked by the channel's own
    evidence (not a claim) and not marked unreachable, newest first."""
    owners = sa.select(c.c.id).where(sa.or_(c.c.id == customer_id,
                                            c.c.merged_into_id == customer_id))
    value = conn.execute(sa.select(i.c.value).where(
        i.c.customer_id.in_(owners), i.c.kind == "telegram", i.c.claimed_link_at.is_(None),
        i.c.unreachable_at.is_(None)).order_by(i.c.created_at.desc(), i.c.id.desc())
        .limit(1)).scalar()
    return str(value) if value is not None else None


def session_for_continuation(conn: sa.Connection, public_id: str) -> Any:
    return conn.execute(sa.select(s.c.id, s.c.public_id, s.c.name, s.c.email, s.c.ticket_id,
                                  s.c.continue_on)
                        .where(s.c.public_id == public_id)).first()


def move_message(conn: sa.Connection, message_id: int, channel: str) -> None:
    """Our reply went out on another channel: the message says so, and the citizen's answer
    there (which names it by that channel's id) threads back to it."""
    conn.execute(tables.messages.update().where(tables.messages.c.id == message_id)
                 .values(channel=channel))
