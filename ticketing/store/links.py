"""Queries behind a bot's answers: whose a chat address is, that citizen's open tickets and
other addresses, link challenges (one-time codes), and linking an address to a citizen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from ticketing.store import tables
from ticketing.store import tickets as q
from ticketing.store.locking import for_update

customers, identities, tickets = tables.customers, tables.identities, tables.tickets
challenges = tables.link_challenges


def canonical_customer(conn: sa.Connection, customer_id: int) -> int:
    """Follow ``merged_into_id`` to the customer a merged one lives on as."""
    seen = {customer_id}
    while True:
        parent = conn.execute(sa.select(customers.c.merged_into_id).where(
            customers.c.id == customer_id)).scalar_one_or_none()
        if parent is None or parent in seen:
            return customer_id
        seen.add(parent)
        customer_id = int(parent)


def identity(conn: sa.Connection, kind: str, value: str) -> Any:
    return conn.execute(sa.select(identities).where(identities.c.kind == kind,
                                                    identities.c.value == value)).one_or_none()


def open_tickets(conn: sa.Connection, customer_id: int, statuses: Iterable[str],
                 limit: int = 10) -> list[Any]:
    return list(conn.execute(
        sa.select(tickets.c.id, tickets.c.topic, tickets.c.status)
        .where(tickets.c.customer_id == customer_id, tickets.c.merged_into_id.is_(None),
               tickets.c.status.in_(list(statuses)))
        .order_by(tickets.c.id.desc()).limit(limit)))


def ticket_owner(conn: sa.Connection, ticket_id: int) -> tuple[int, int] | None:
    """The live ticket (after merges) and its citizen, or None."""
    for _ in range(20):
        row = conn.execute(sa.select(tickets.c.merged_into_id, tickets.c.customer_id)
                           .where(tickets.c.id == ticket_id)).one_or_none()
        if row is None:
            return None
        if row.merged_into_id is None:
            return ticket_id, canonical_customer(conn, int(row.customer_id))
        ticket_id = int(row.merged_into_id)
    return None


def addresses(conn: sa.Connection, customer_id: int) -> list[Any]:
    """The citizen's identities a message can go to: not marked unreachable, not a claim."""
    return list(conn.execute(
        sa.select(identities.c.kind, identities.c.value).where(
            identities.c.customer_id == customer_id, identities.c.unreachable_at.is_(None),
            identities.c.claimed_link_at.is_(None)).order_by(identities.c.id)))


def latest_challenge(conn: sa.Connection, channel: str, address: str,
                     now: dt.datetime) -> Any:
    """The newest open challenge of this chat (unverified, unexpired), locked for the check."""
    stmt = (sa.select(challenges).where(
        challenges.c.channel == channel, challenges.c.address == address,
        challenges.c.verified_at.is_(None), challenges.c.expires_at > now)
        .order_by(challenges.c.id.desc()).limit(1))
    return conn.execute(for_update(conn, stmt)).one_or_none()


def recent_challenges(conn: sa.Connection, ticket_id: int, since: dt.datetime) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(challenges).where(
        challenges.c.ticket_id == ticket_id, challenges.c.created_at > since)).scalar_one())


def add_challenge(conn: sa.Connection, **values: Any) -> int:
    return int(conn.execute(challenges.insert().values(attempts=0, verified_at=None, **values)
                            .returning(challenges.c.id)).scalar_one())


def count_attempt(conn: sa.Connection, challenge_id: int, *, verified_at: dt.datetime | None,
                  expire: dt.datetime | None = None) -> None:
    values: dict[str, Any] = {"attempts": challenges.c.attempts + 1}
    if verified_at is not None:
        values["verified_at"] = verified_at
    if expire is not None:
        values["expires_at"] = expire
    conn.execute(challenges.update().where(challenges.c.id == challenge_id).values(**values))


def link_address(conn: sa.Connection, kind: str, value: str, customer_id: int,
                 now: dt.datetime) -> tuple[int | None, dict[str, list[int]] | None]:
    """Make ``kind``/``value`` an identity of ``customer_id`` (proven: no claim).  If it was
    another customer's, that customer is folded into this one; returns (that customer, the rows
    moved) for the audit record, or (None, None)."""
    found = identity(conn, kind, value)
    if found is None:
        conn.execute(identities.insert().values(
            customer_id=customer_id, kind=kind, value=value, source="sender",
            evidence_message_id=None, created_at=now, unreachable_at=None,
            claimed_link_at=None, unreachable_reason=None))
        return None, None
    owner = canonical_customer(conn, int(found.customer_id))
    conn.execute(identities.update().where(identities.c.id == found.id)
                 .values(claimed_link_at=None))
    if owner == customer_id:
        return None, None
    [moved] = q.move_customers(conn, [(owner, customer_id)])
    return owner, moved
