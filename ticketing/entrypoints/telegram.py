"""Driving the Telegram channel: the long-polling loop run by every worker (polling only while
it holds the ``telegram:poll`` lease, so one poller at a time across all hosts, taken over when
the holder dies) and the webhook registration behind ``ticketing telegram webhook``.

A pass: take or renew the lease, read the committed offset, ``getUpdates`` from it (which
confirms what was committed before), store the updates and the new offset in one transaction.
A poller killed between that commit and its next call leaves the offset in the database: its
successor asks from there, so nothing is lost and nothing stored twice."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

from channels.telegram.bot import BotRunner, Cancelled
from channels.telegram.parse import bot_id
from channels.telegram.poll import delete_webhook, fetch_updates, set_webhook
from ticketing.app import App
from ticketing.domain.errors import InvalidInput
from ticketing.services.intake import accept_polled, cursor
from ticketing.services.leader import Leader

log = logging.getLogger(__name__)
LEASE = "telegram:poll"
# SQLite has one writer at a time, and the worker's inbox loop takes the lock again the instant
# it commits a batch: the poller (in the same process) would wait behind batch after batch.  The
# poller raises this while it wants to commit; the inbox loop lets it in between two batches.
WRITE_WANTED = threading.Event()


def yield_to_poller(limit: float = 2.0) -> None:
    """Between two inbox batches: wait (at most ``limit`` seconds) while the poller commits."""
    until = time.monotonic() + limit
    while WRITE_WANTED.is_set() and time.monotonic() < until:
        time.sleep(0.001)


def polling_wanted(app: App) -> bool:
    s = app.settings
    return bool(s.telegram_token) and not s.telegram_webhook_url


def cursor_name(app: App) -> str:
    return f"telegram:offset:{bot_id(app.settings.telegram_token)}"


def _runner(app: App) -> BotRunner:
    if app.telegram is None:
        raise InvalidInput("TICKETING_TELEGRAM_TOKEN is not set")
    return app.telegram


class Poller:
    """This process's claim on the poller: the lease, renewed when a third of its time to live
    has passed (not on every pass: on SQLite each renewal waits for the one write lock, which
    the inbox's worker holds for a whole batch)."""

    def __init__(self, app: App, leader: Leader) -> None:
        self.app, self.leader = app, leader
        self._renewed: dt.datetime | None = None

    def lead(self) -> bool:
        now = self.app.clock.now()
        if self._renewed is not None and now - self._renewed < self.leader.ttl / 3:
            return True
        held = self.leader.hold()
        self._renewed = now if held else None
        return held

    def release(self) -> None:
        self._renewed = None
        self.leader.release()


def make_leader(app: App, holder: str | None = None) -> Poller:
    ttl = dt.timedelta(seconds=max(60, app.settings.telegram_poll_timeout * 2 + 10))
    return Poller(app, Leader(app.uow, LEASE, holder, app.clock, ttl))


def poll_once(app: App, poller: Poller, stop: threading.Event | None = None) -> int:
    """One pass if this process leads; returns how many updates were new in the inbox.
    ``stop`` set while ``getUpdates`` waits abandons the call (nothing was committed: the
    successor asks again from the committed offset)."""
    if not poller.lead():
        return 0
    name = cursor_name(app)
    at = cursor(app.uow, name)
    offset = int(at["offset"]) if at and isinstance(at.get("offset"), int) else None
    try:
        deliveries, after = fetch_updates(_runner(app), bot_id(app.settings.telegram_token),
                                          offset, timeout=app.settings.telegram_poll_timeout,
                                          cancel=stop.is_set if stop is not None else None)
    except Cancelled:
        return 0
    if not deliveries or after is None:
        return 0
    WRITE_WANTED.set()
    try:
        new = accept_polled(app.uow, deliveries, cursor_name=name, position={"offset": after},
                            clock=app.clock)
    finally:
        WRITE_WANTED.clear()
    return sum(new)


def poll_loop(app: App, stop: threading.Event, *, idle_seconds: float = 5.0) -> None:
    """The worker's polling thread: until ``stop``; errors back off, never end the loop.  On
    ``stop`` the long poll in flight is abandoned and the lease released at once, so another
    worker takes over without waiting for the lease to run out."""
    poller = make_leader(app)
    log.info("telegram polling started (lease %s, holder %s)", LEASE, poller.leader.holder)
    try:
        while not stop.is_set():
            try:
                if not poller.lead():
                    stop.wait(idle_seconds)
                    continue
                poll_once(app, poller, stop)
            except Exception:  # the Bot API or the database may come back
                log.exception("telegram polling pass failed")
                stop.wait(idle_seconds)
    finally:
        try:
            poller.release()
            log.info("telegram polling stopped; lease %s released", LEASE)
        except Exception:  # noqa: BLE001 - stopping: the lease expires on its own
            log.warning("telegram lease not released; it expires on its own", exc_info=True)


def start_polling(app: App, stop: threading.Event) -> threading.Thread | None:
    """The polling thread, when the channel is on and no webhook URL is set."""
    if not polling_wanted(app):
        return None
    thread = threading.Thread(target=poll_loop, args=(app, stop), name="telegram-poll",
                              daemon=True)
    thread.start()
    return thread


def register_webhook(app: App) -> str:
    s = app.settings
    if not s.telegram_webhook_url:
        raise InvalidInput("TICKETING_TELEGRAM_WEBHOOK_URL is not set")
    if not s.telegram_webhook_secret:
        raise InvalidInput("TICKETING_TELEGRAM_WEBHOOK_SECRET is not set (the webhook refuses "
                           "every request without it)")
    set_webhook(_runner(app), s.telegram_webhook_url, s.telegram_webhook_secret)
    return s.telegram_webhook_url


def remove_webhook(app: App) -> None:
    delete_webhook(_runner(app))
