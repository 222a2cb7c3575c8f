"""The outbox: messages we owe citizens, written in the same transaction as the reply (or the
acknowledgement) that caused them, delivered by the worker with retries.

Delivery holds no transaction open while talking to a channel: a row is leased (``sending``,
due again after the lease) in a short transaction, sent, then settled.  A worker that dies
mid-send leaves a lease that expires, so the row is sent again: at-least-once, and our
Message-ID lets the receiving side recognise a repeat.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

from ticketing.domain.errors import ChannelError, RateLimited, RecipientRejected
from ticketing.services.clock import Clock
from ticketing.services.ports import Delivery
from ticketing.store import tables

log = logging.getLogger(__name__)

outbox, messages, audit = tables.outbox, tables.messages, tables.audit
LEASE = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 8


Sender = Callable[[Delivery], str | None]  # returns the channel's own message id, if any


def enqueue(conn: sa.Connection, *, ticket_id: int | None, message_id: int | None, channel: str,
            kind: str, recipient: Mapping[str, Any], payload: Mapping[str, Any],
            now: dt.datetime, recipient_key: str | None = None) -> int:
    row = conn.execute(outbox.insert().values(
        ticket_id=ticket_id, message_id=message_id, channel=channel, kind=kind,
        recipient=dict(recipient), payload=dict(payload), status="pending", attempts=0,
        next_attempt_at=now, last_error=None, external_id=payload.get("message_id"),
        created_at=now, sent_at=None, recipient_key=recipient_key).returning(outbox.c.id))
    return int(row.scalar_one())


def backoff(attempts: int, *, base: float = 30.0, cap: float = 3600.0,
            rng: random.Random | None = None) -> dt.timedelta:
    """Exponential with full jitter: 30 s, 1 min, 2 min ... capped at an hour."""
    ceiling = min(cap, base * 2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=(rng or random).uniform(ceiling / 2, ceiling))


def _lease(engine: sa.Engine, clock: Clock, limit: int) -> list[Delivery]:
    now = clock.now()
    due = sa.or_(sa.and_(outbox.c.status == "pending", outbox.c.next_attempt_at <= now),
                 sa.and_(outbox.c.status == "sending", outbox.c.next_attempt_at <= now))
    stmt = (sa.select(outbox.c.id, outbox.c.channel, outbox.c.kind, outbox.c.recipient,
                      outbox.c.payload).where(due).order_by(outbox.c.next_attempt_at)
            .limit(limit))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = conn.execute(stmt).all()
        if rows:
            conn.execute(outbox.update().where(outbox.c.id.in_([r.id for r in rows]))
                         .values(status="sending", next_attempt_at=now + LEASE,
                                 attempts=outbox.c.attempts + 1))
    return [Delivery(outbox_id=r.id, channel=r.channel, kind=r.kind, recipient=r.recipient,
                     payload=r.payload) for r in rows]


def deliver_due(engine: sa.Engine, senders: Mapping[str, Sender], clock: Clock, *,
                limit: int = 50) -> int:
    """One pass: send what is due; returns how many rows were attempted."""
    leased = _lease(engine, clock, limit)
    for item in leased:
        sender = senders.get(item.channel)
        try:
            if sender is None:
                raise ChannelError(f"no sender configured for channel {item.channel!r}")
            external_id = sender(item)
        except RecipientRejected as exc:
            _settle_failed(engine, item, f"rejected: {exc}", clock.now())
        except RateLimited as exc:
            _retry(engine, item, str(exc), clock.now() + dt.timedelta(seconds=exc.retry_after))
        except Exception as exc:  # temporary by default: the channel may come back
            log.warning("delivery of outbox row %s failed: %s", item.outbox_id, exc)
            _retry(engine, item, f"{type(exc).__name__}: {exc}", None, clock=clock)
        else:
            _settle_sent(engine, item, external_id, clock.now())
    return len(leased)


def _settle_sent(engine: sa.Engine, item: Delivery, external_id: str | None,
                 now: dt.datetime) -> None:
    with engine.begin() as conn:
        conn.execute(outbox.update().where(outbox.c.id == item.outbox_id).values(
            status="sent", sent_at=now, last_error=None,
            external_id=external_id or item.payload.get("message_id")))


def _retry(engine: sa.Engine, item: Delivery, error: str, when: dt.datetime | None, *,
           clock: Clock | None = None) -> None:
    with engine.begin() as conn:
        attempts = conn.execute(sa.select(outbox.c.attempts)
                                .where(outbox.c.id == item.outbox_id)).scalar_one()
        if attempts >= MAX_ATTEMPTS:
            _fail(conn, item, f"gave up after {attempts} attempts: {error}",
                  (clock.now() if clock else when) or dt.datetime.now(dt.UTC))
            return
        if when is None:
            assert clock is not None
            when = clock.now() + backoff(attempts)
        conn.execute(outbox.update().where(outbox.c.id == item.outbox_id).values(
            status="pending", next_attempt_at=when, last_error=error[:2000]))


def _settle_failed(engine: sa.Engine, item: Delivery, error: str, now: dt.datetime) -> None:
    with engine.begin() as conn:
        _fail(conn, item, error, now)


def _fail(conn: sa.Connection, item: Delivery, error: str, now: dt.datetime) -> None:
    row = conn.execute(sa.select(outbox.c.ticket_id, outbox.c.message_id)
                       .where(outbox.c.id == item.outbox_id)).one()
    conn.execute(outbox.update().where(outbox.c.id == item.outbox_id)
                 .values(status="failed", last_error=error[:2000]))
    conn.execute(audit.insert().values(at=now, kind="message.delivery_failed", actor="system",
                                       ticket_id=row.ticket_id, customer_id=None,
                                       data={"outbox_id": item.outbox_id,
                                             "message_id": row.message_id, "kind": item.kind,
                                             "error": error[:500]}))


def mark_bounced(conn: sa.Connection, bounces: list[tuple[str, str, int]],
                 now: dt.datetime) -> None:
    """A bounce of one of our e-mails: the delivery failed after all (audited on the ticket)."""
    for our_id, status, ticket_id in bounces:
        rows = conn.execute(sa.select(outbox.c.id, outbox.c.kind).where(
            outbox.c.external_id == our_id, outbox.c.channel == "email")).all()
        for r in rows:
            conn.execute(outbox.update().where(outbox.c.id == r.id)
                         .values(status="failed", last_error=f"bounced: {status}"))
            conn.execute(audit.insert().values(
                at=now, kind="message.delivery_failed", actor="system", ticket_id=ticket_id,
                customer_id=None, data={"outbox_id": r.id, "kind": r.kind,
                                        "error": f"bounced ({status or 'no status'})"}))
