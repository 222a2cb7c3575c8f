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
import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from ticketing.domain.channels import ChannelCapability
from ticketing.domain.errors import PartlySent, RateLimited, RecipientRejected
from ticketing.domain.events import CitizenUnreachable, DeliveryFailed
from ticketing.domain.identity import ADDRESS_KINDS, address_identity, mask
from ticketing.services.clock import Clock
from ticketing.services.notifications import notify
from ticketing.services.ports import Delivery, Sender
from ticketing.store import pacing, reachability, tables
from ticketing.store import tickets as ticket_store
from ticketing.store.audit import record
from ticketing.store.db import Transactions
from ticketing.store.locking import hand_back, skip_locked

log = logging.getLogger(__name__)

outbox, messages, tickets = tables.outbox, tables.messages, tables.tickets
LEASE = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 8
# A send whose pace slot is further away than this is put back (due at its slot, the attempt
# not counted) instead of holding the worker.
MAX_PACE_WAIT = dt.timedelta(seconds=2)
# What the desk answers the citizen with; acknowledgements and staff notifications never count
# as responses.
RESPONSE_KINDS = ("reply",)

__all__ = ["Sender", "deliver_due", "enqueue", "mark_bounced", "settle_sent"]


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


def _lease(uow: Transactions, clock: Clock, limit: int,
           live: tuple[str, ...] = ()) -> list[Delivery]:
    now = clock.now()
    due = sa.or_(sa.and_(outbox.c.status == "pending", outbox.c.next_attempt_at <= now),
                 sa.and_(outbox.c.status == "sending", outbox.c.next_attempt_at <= now))
    if live:  # delivered by the channel's own transport (``ChannelCapability.live``)
        due = sa.and_(due, outbox.c.channel.not_in(live))
    stmt = (sa.select(outbox.c.id, outbox.c.channel, outbox.c.kind, outbox.c.recipient,
                      outbox.c.payload).where(due).order_by(outbox.c.next_attempt_at)
            .limit(limit))
    with uow.write() as conn:
        rows = conn.execute(skip_locked(conn, stmt)).all()
        if rows:
            conn.execute(outbox.update().where(outbox.c.id.in_([r.id for r in rows]))
                         .values(status="sending", next_attempt_at=now + LEASE,
                                 attempts=outbox.c.attempts + 1))
    return [Delivery(outbox_id=r.id, channel=r.channel, kind=r.kind, recipient=r.recipient,
                     payload=r.payload) for r in rows]


def deliver_due(uow: Transactions, senders: Mapping[str, Sender], clock: Clock, *,
                limit: int = 50,
                capabilities: Mapping[str, ChannelCapability] | None = None,
                sleep: Callable[[float], None] = time.sleep,
                stop: Callable[[], bool] | None = None) -> int:
    """One pass: send what is due; returns how many rows were attempted.  Each lease and each
    settlement is its own short transaction from ``uow`` (no transaction stays open while a
    channel is talked to).  ``capabilities`` bring each channel's pacing (``pace_slots``,
    shared by all workers: every provider message takes a slot, each part of a split text
    too, sent one a call with the progress kept on the row) and its reply address (to mark an unreachable citizen).  ``stop``: asked before each
    row; when it says so, the rows not yet sent are handed back (due now, the attempt not
    counted) for another worker, and the pass ends."""
    live = tuple(sorted(c.channel for c in (capabilities or {}).values() if c.live))
    leased = _lease(uow, clock, limit, live)
    for n, item in enumerate(leased):
        if stop is not None and stop():
            _hand_back(uow, leased[n:], clock.now())
            return n
        sender = senders.get(item.channel)
        if sender is None:  # nothing is queued for a channel that cannot send: say so, once
            _settle_failed(uow, item, f"no sender for channel {item.channel!r}", clock.now())
            continue
        capability = (capabilities or {}).get(item.channel)
        held: tuple[str, dt.datetime] | None = None
        if capability is not None:
            go, held = _paced(uow, item, capability, clock, sleep)
            if not go:
                continue
            if _pace_keys(item, capability):
                item = replace(item, paced=True)
        try:
            external_id = sender(item)
        except RecipientRejected as exc:
            if exc.unreachable:
                _settle_unreachable(uow, item, capability, str(exc), clock.now())
            else:
                _settle_failed(uow, item, f"rejected: {exc}", clock.now())
        except PartlySent as exc:
            _continue_later(uow, item, exc, clock.now())
        except RateLimited as exc:
            _retry(uow, item, str(exc), clock.now() + dt.timedelta(seconds=exc.retry_after))
        except Exception as exc:  # temporary by default: the channel may come back
            log.warning("delivery of outbox row %s failed: %s", item.outbox_id, exc)
            _retry(uow, item, f"{type(exc).__name__}: {exc}", None, clock=clock)
        else:
            _settle_sent(uow, item, external_id, clock.now())
        finally:
            if held is not None and capability is not None:
                _release(uow, held, clock.now(), capability.pace_per_recipient or 0.0)
    return len(leased)


def _pace_keys(item: Delivery, capability: ChannelCapability) -> list[tuple[str, float]]:
    keys = []
    if capability.pace_overall:
        keys.append((f"{item.channel}", capability.pace_overall))
    if capability.pace_per_recipient:
        address = (item.recipient.get(capability.address_key)
                   if capability.address_key else None)
        who = str(address) if address not in (None, "") else json.dumps(
            dict(item.recipient), sort_keys=True, default=str)
        keys.append((f"{item.channel}:{who}", capability.pace_per_recipient))
    return keys


def _hand_back(uow: Transactions, items: Sequence[Delivery], now: dt.datetime) -> None:
    """Leased rows this worker will not send (it is stopping): due again now."""
    with uow.write() as conn:
        hand_back(conn, outbox, [i.outbox_id for i in items], leased="sending", now=now)


def _continue_later(uow: Transactions, item: Delivery, progress: PartlySent,
                    now: dt.datetime) -> None:
    """Part of a delivery is out: the progress is kept on the row (a retry or another worker
    goes on from there, so no part goes twice), due again one per-recipient gap after the
    last part was answered, where its next message takes a pace slot of its own; the attempt
    is not counted."""
    payload = {**item.payload, "parts_sent": progress.done, "part_id": progress.external_id}
    with uow.write() as conn:
        conn.execute(outbox.update().where(outbox.c.id == item.outbox_id).values(
            status="pending", payload=payload, attempts=outbox.c.attempts - 1,
            next_attempt_at=now + dt.timedelta(seconds=progress.after), last_error=None))


def _paced(uow: Transactions, item: Delivery, capability: ChannelCapability, clock: Clock,
           sleep: Callable[[float], None]) -> tuple[bool, tuple[str, dt.datetime] | None]:
    """Wait for the send's pace slot (True), or put the row back without counting the attempt
    (False) when the slot is further away than ``MAX_PACE_WAIT``: due at it, or in a
    recipient's gap when that recipient is held by a send in flight.  The recipient's key is
    *held* while the send is in flight (returned: key and slot, for ``_release``), so the
    chat's next message is timed from this one's answer, not from a slot a late send overran
    (on a loaded host a send left its slot 0.2-0.3 s late and the next to that chat went on
    time: gaps of 0.78 s were seen)."""
    keys = _pace_keys(item, capability)
    if not keys:
        return True, None
    held = keys[-1][0] if capability.pace_per_recipient else None
    now = clock.now()
    with uow.write() as conn:
        at, reserved = pacing.reserve(conn, keys, now, MAX_PACE_WAIT,
                                      held=(held,) if held else ())
        if not reserved:
            gap = dt.timedelta(seconds=capability.pace_per_recipient or 0.0)
            again = min(at, now + gap) if gap else at
            conn.execute(outbox.update().where(outbox.c.id == item.outbox_id).values(
                status="pending", next_attempt_at=again, attempts=outbox.c.attempts - 1))
            return False, None
    wait = (at - clock.now()).total_seconds()
    if wait > 0:
        sleep(wait)
    return True, ((held, at) if held else None)


def _release(uow: Transactions, held: tuple[str, dt.datetime], now: dt.datetime,
             gap: float) -> None:
    """The send is answered (or failed): the recipient's next message from a gap after now."""
    with uow.write() as conn:
        pacing.release(conn, held[0], held[1], now + dt.timedelta(seconds=gap))


def _settle_sent(uow: Transactions, item: Delivery, external_id: str | None,
                 now: dt.datetime) -> None:
    """The channel accepted it: a reply reaches the citizen now, so it is the ticket's first
    response if there was none, and its clocks are looked at again now (one ticket, by key)."""
    with uow.write() as conn:
        settle_sent(conn, item, external_id, now)


def settle_sent(conn: sa.Connection, item: Delivery, external_id: str | None,
                now: dt.datetime) -> None:
    """``_settle_sent`` inside the caller's transaction (a live transport settles what it
    delivered itself, several rows in one transaction)."""
    row = conn.execute(outbox.update().where(outbox.c.id == item.outbox_id).values(
        status="sent", sent_at=now, last_error=None,
        external_id=external_id or item.payload.get("message_id"))
        .returning(outbox.c.ticket_id, outbox.c.message_id)).one()
    if external_id and row.message_id is not None:
        # The provider's id of what we sent (a Telegram message id, an Instagram mid): the
        # citizen's reply to it, or the echo of it, threads back to this message.
        conn.execute(messages.update().where(messages.c.id == row.message_id,
                                             messages.c.external_id.is_(None))
                     .values(external_id=external_id))
    if item.kind not in RESPONSE_KINDS or row.message_id is None:
        return
    conn.execute(messages.update().where(messages.c.id == row.message_id,
                                         messages.c.delivered_at.is_(None))
                 .values(delivered_at=now))
    if row.ticket_id is not None:
        ticket_store.responded(conn, int(row.ticket_id), now, now)


def _retry(uow: Transactions, item: Delivery, error: str, when: dt.datetime | None, *,
           clock: Clock | None = None) -> None:
    with uow.write() as conn:
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


def _settle_failed(uow: Transactions, item: Delivery, error: str, now: dt.datetime) -> None:
    with uow.write() as conn:
        _fail(conn, item, error, now)


def _settle_unreachable(uow: Transactions, item: Delivery,
                        capability: ChannelCapability | None, error: str,
                        now: dt.datetime) -> None:
    """The citizen cannot be reached at this address any more: the reply failed, and the
    address is marked so (on the customer, audited on the ticket) until they write from it."""
    keys = ([capability.address_key] if capability is not None and capability.address_key
            else [k for k in item.recipient if k in ADDRESS_KINDS])
    with uow.write() as conn:
        _fail(conn, item, f"unreachable: {error}", now)
        ticket_id = conn.execute(sa.select(outbox.c.ticket_id)
                                 .where(outbox.c.id == item.outbox_id)).scalar_one()
        for key in keys:
            ident = address_identity(key, item.recipient.get(key))
            if ident is None:
                continue
            kind, value = ident
            customer_id = reachability.mark(conn, str(kind), value, error, now)
            if customer_id is not None:
                record(conn, CitizenUnreachable(
                    at=now, ticket_id=ticket_id, customer_id=customer_id,
                    channel=item.channel, identity=f"{kind} {mask(kind, value)}",
                    reason=error[:300], outbox_id=item.outbox_id))


def _fail(conn: sa.Connection, item: Delivery, error: str, now: dt.datetime) -> None:
    row = conn.execute(sa.select(outbox.c.ticket_id, outbox.c.message_id)
                       .where(outbox.c.id == item.outbox_id)).one()
    conn.execute(outbox.update().where(outbox.c.id == item.outbox_id)
                 .values(status="failed", last_error=error[:2000]))
    record(conn, DeliveryFailed(at=now, ticket_id=row.ticket_id, outbox_id=item.outbox_id,
                                message_id=row.message_id, kind=item.kind,
                                error=error[:500]))
    _reply_failed(conn, item.kind, row.ticket_id, row.message_id, item.outbox_id, error, now)


def _reply_failed(conn: sa.Connection, kind: str, ticket_id: int | None,
                  message_id: int | None, outbox_id: int, error: str, now: dt.datetime) -> None:
    """A reply that will not reach the citizen: it is no response (a bounce takes back its
    delivery, and the SLA timer re-evaluates the clocks, which keep running), the ticket is
    flagged for the queue, and the reply's author is told."""
    if kind not in RESPONSE_KINDS or message_id is None or ticket_id is None:
        return
    author = conn.execute(sa.update(messages).where(messages.c.id == message_id)
                          .values(delivered_at=None)
                          .returning(messages.c.author_user_id)).scalar_one_or_none()
    conn.execute(tickets.update().where(tickets.c.id == ticket_id)
                 .values(reply_failed_at=now, sla_check_at=now))
    if author is not None:
        notify(conn, [author], ticket_id=ticket_id, kind="reply.failed",
               data={"target": "delivery", "message_id": message_id, "outbox_id": outbox_id,
                     "error": error[:500]}, now=now)


def mark_bounced(conn: sa.Connection, bounces: list[tuple[str, str, str, int]],
                 now: dt.datetime) -> None:
    """A bounce of one of our messages (``(channel, our id, status, ticket)``): the delivery
    failed after all (audited on the ticket)."""
    for channel, our_id, status, ticket_id in bounces:
        rows = conn.execute(sa.select(outbox.c.id, outbox.c.kind, outbox.c.ticket_id,
                                      outbox.c.message_id).where(
            outbox.c.external_id == our_id, outbox.c.channel == channel)).all()
        for r in rows:
            conn.execute(outbox.update().where(outbox.c.id == r.id)
                         .values(status="failed", last_error=f"bounced: {status}"))
            record(conn, DeliveryFailed(at=now, ticket_id=ticket_id, outbox_id=r.id,
                                        message_id=r.message_id, kind=r.kind,
                                        error=f"bounced ({status or 'no status'})"))
            _reply_failed(conn, r.kind, r.ticket_id, r.message_id, r.id,
                          f"bounced ({status or 'no status'})", now)
