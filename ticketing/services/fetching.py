"""Use case: fetch the attachments channels only referenced (a Telegram file id, an Instagram CDN
address) into the attachment store, after ingest and outside its transaction.

Like the outbox: a row is leased (``fetching``, due again after the lease) in a short
transaction, fetched with the channel's ``Fetcher``, then settled; the message's attachment
entry says what happened (stored, too large with the limit, gone).  An entry marked
``as_body`` holds the message's own text (an Instagram mention's, read through the Graph API):
stored, it becomes the message's body."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ticketing.domain import bot_text
from ticketing.domain.channels import ChannelCapability
from ticketing.domain.errors import RecipientRejected, TooLarge
from ticketing.domain.identity import address_identity
from ticketing.services.clock import Clock
from ticketing.services.outbox import backoff, enqueue
from ticketing.services.ports import AttachmentSink, Fetcher
from ticketing.store import tables
from ticketing.store.db import Transactions
from ticketing.store.locking import for_update, hand_back, skip_locked

log = logging.getLogger(__name__)

f, messages = tables.attachment_fetches, tables.messages
LEASE = dt.timedelta(minutes=5)
MAX_ATTEMPTS = 6


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a file was not kept, for the citizen's notice: too large (else: not obtainable),
    the limit, and the channels whose citizens are told (by their capability)."""

    too_large: bool
    limit: int
    tell: Mapping[str, ChannelCapability]


def fetch_pending(uow: Transactions, fetchers: Mapping[str, Fetcher], store: AttachmentSink,
                  clock: Clock, *, max_bytes: int, limit: int = 20,
                  capabilities: Mapping[str, ChannelCapability] | None = None,
                  stop: Callable[[], bool] | None = None) -> int:
    """One pass; returns how many fetches were attempted.  ``capabilities``: the channels
    (those that can send at any time) whose citizens are told of a refused file; ``stop``:
    asked before each fetch; when it says so, the rows not yet fetched are handed back (due
    now, the attempt not counted) for another worker."""
    leased = _lease(uow, clock.now(), limit)
    tell = capabilities or {}
    for n, row in enumerate(leased):
        if stop is not None and stop():
            _hand_back(uow, leased[n:], clock.now())
            return n
        fetcher = fetchers.get(row.channel)
        if fetcher is None:
            _settle(uow, row, "failed", f"no fetcher for channel {row.channel!r}", None,
                    clock.now())
            continue
        try:
            data, content_type = fetcher(row.locator, max_bytes)
            if len(data) > max_bytes:
                raise TooLarge(f"{len(data)} bytes")
        except TooLarge as exc:
            _settle(uow, row, "too_large", f"lebih dari {bot_text.size_words(max_bytes)}, tidak "
                    f"disimpan (over the {max_bytes} byte limit: {exc})", None, clock.now(),
                    Refusal(True, max_bytes, tell))
        except RecipientRejected as exc:
            _settle(uow, row, "failed", f"tidak bisa diambil (gone: {exc})", None, clock.now(),
                    Refusal(False, max_bytes, tell))
        except Exception as exc:  # the provider may come back: retried with backoff
            log.warning("attachment fetch %s failed: %s", row.id, exc)
            _retry(uow, row, f"{type(exc).__name__}: {exc}", clock.now(),
                   Refusal(False, max_bytes, tell))
        else:
            digest = hashlib.sha256(data).hexdigest()
            store.put(digest, data)
            _settle(uow, row, "stored", None, {"sha256": digest, "size": len(data),
                                               "content_type": content_type, "data": data},
                    clock.now())
    return len(leased)


def _hand_back(uow: Transactions, rows: Sequence[Any], now: dt.datetime) -> None:
    """Leased rows this worker will not fetch (it is stopping): due again now."""
    with uow.write() as conn:
        hand_back(conn, f, [r.id for r in rows], leased="fetching", now=now)


def _lease(uow: Transactions, now: dt.datetime, limit: int) -> list[Any]:
    due = sa.and_(f.c.status.in_(("pending", "fetching")), f.c.next_attempt_at <= now)
    stmt = (sa.select(f.c.id, f.c.message_id, f.c.position, f.c.channel, f.c.locator,
                      f.c.attempts).where(due).order_by(f.c.next_attempt_at).limit(limit))
    with uow.write() as conn:
        rows = conn.execute(skip_locked(conn, stmt)).all()
        if rows:
            conn.execute(f.update().where(f.c.id.in_([r.id for r in rows])).values(
                status="fetching", next_attempt_at=now + LEASE, attempts=f.c.attempts + 1))
    return list(rows)


def _retry(uow: Transactions, row: Any, error: str, now: dt.datetime,
           refusal: Refusal | None = None) -> None:
    if row.attempts + 1 >= MAX_ATTEMPTS:
        _settle(uow, row, "failed", f"gave up after {row.attempts + 1} attempts: {error}", None,
                now, refusal)
        return
    with uow.write() as conn:
        conn.execute(f.update().where(f.c.id == row.id).values(
            status="pending", next_attempt_at=now + backoff(row.attempts + 1),
            last_error=error[:500]))


def _settle(uow: Transactions, row: Any, status: str, note: str | None,
            stored: Mapping[str, Any] | None, now: dt.datetime,
            refusal: Refusal | None = None) -> None:
    """The fetch row and the message's attachment entry (and, for a refused file, the notice
    to the citizen), in one transaction."""
    with uow.write() as conn:
        settled = conn.execute(f.update().where(f.c.id == row.id, f.c.status == "fetching")
                               .values(status=status, last_error=note[:500] if note else None))
        if settled.rowcount != 1:
            return  # settled already (this worker's lease ran out and another took the row)
        found = conn.execute(for_update(conn, sa.select(
            messages.c.attachments, messages.c.ticket_id, messages.c.external_id,
            messages.c.sender, messages.c.extra).where(messages.c.id == row.message_id))).first()
        attachments = found.attachments if found is not None else None
        if not attachments or row.position >= len(attachments):
            return
        entry = dict(attachments[row.position])
        if refusal is not None:
            _tell_citizen(conn, row, found, str(entry.get("filename") or "lampiran"), refusal,
                          now)
        if stored is not None:
            entry.update(sha256=stored["sha256"], size=stored["size"], stored=True,
                         note="stored")
            if stored["content_type"] and not entry.get("content_type"):
                entry["content_type"] = stored["content_type"]
        else:
            entry.update(stored=False, note=note)
        updated = [*attachments[:row.position], entry, *attachments[row.position + 1:]]
        values: dict[str, Any] = {"attachments": updated}
        if stored is not None and entry.get("as_body"):
            # The message's own words, which the provider gave only on request (a mention):
            # they replace the placeholder the parser wrote.
            values["body"] = stored["data"].decode("utf-8", "replace").replace("\x00", "")
        conn.execute(messages.update().where(messages.c.id == row.message_id).values(**values))


def _tell_citizen(conn: sa.Connection, row: Any, message: Any, filename: str, refusal: Refusal,
                  now: dt.datetime) -> None:
    """The notice of a refused file, as a reply to the citizen's message that carried it."""
    capability = refusal.tell.get(row.channel)
    if (capability is None or not capability.can_send or capability.reply_window is not None
            or capability.live or not capability.address_key):
        return
    sender = dict(message.sender or {})
    ident = address_identity(capability.address_key, sender.get(capability.address_key))
    if ident is None:
        return
    own = (message.extra or {}).get(row.channel)
    language = str(own.get("language") or "id") if isinstance(own, dict) else "id"
    text = bot_text.file_refused(language, filename=filename, too_large=refusal.too_large,
                                 limit=refusal.limit, via=capability.label)
    enqueue(conn, ticket_id=message.ticket_id, message_id=None, channel=row.channel,
            kind="bot_reply", recipient={capability.address_key: ident[1]},
            payload={"body": text, "in_reply_to": message.external_id}, now=now,
            recipient_key=ident[1][:320])
