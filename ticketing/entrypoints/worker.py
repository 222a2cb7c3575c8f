"""The background worker loop: takes new files from the transcript folder, drains the raw inbox
(and, as they arrive, the outbox and the SLA timers).  Safe to run as several processes on
several hosts against one PostgreSQL: every queue is claimed with ``FOR UPDATE SKIP LOCKED``,
every transcript file with an atomic rename."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time

from ticketing.app import App, settle_for_throughput
from ticketing.services.ingest import run_pending
from ticketing.services.fetching import fetch_pending
from ticketing.services.outbox import deliver_due
from ticketing.services.webchat_delivery import hand_over, hand_over_due
from ticketing.entrypoints.jobs import escalating_sla_tick, routing_tick
from ticketing.entrypoints.telegram import start_polling, yield_to_poller
from ticketing.entrypoints.transcript_folder import poll_transcripts
from ticketing.store import live as live_events
from ticketing.store.rollup import fold as fold_rollup

log = logging.getLogger(__name__)
STOP_GRACE = 10.0  # seconds the stopping worker waits for its pollers


def drain(app: App, stop: threading.Event | None = None) -> int:
    """Process everything pending now (or until asked to stop); returns how many inbox rows
    were handled."""
    total = 0
    while not (stop and stop.is_set()) and (n := run_pending(
            app.uow, policy=app.ingest_policy, clock=app.clock,
            batch_size=app.settings.ingest_batch_size)):
        total += n
        yield_to_poller()  # the Telegram poller's commit, between two batches
    return total


def deliver(app: App, stop: threading.Event | None = None) -> int:
    """Send what the outbox has due now; returns how many deliveries were attempted."""
    total = 0
    while not (stop and stop.is_set()) and (n := deliver_due(
            app.uow, app.senders, app.clock, capabilities=app.capabilities,
            stop=stop.is_set if stop else None)):
        total += n
    return total


def hand_over_chats(app: App) -> int:
    """Web chat replies nobody received for a while continue on the citizen's Telegram chat
    (proven, and the bot can send) or by e-mail."""
    now = app.clock.now()
    after = dt.timedelta(minutes=app.settings.webchat_email_after_minutes)
    if not app.read(hand_over_due, now=now, after=after):
        return 0
    telegram = app.capabilities.get("telegram")
    return app.write(hand_over, now=now, after=after, from_address=app.settings.support_address,
                     telegram_on=telegram is not None and telegram.can_send)


def fetch(app: App, stop: threading.Event | None = None) -> int:
    """Fetch the attachments channels only referenced; returns how many were attempted."""
    total = 0
    while not (stop and stop.is_set()) and (n := fetch_pending(
            app.uow, app.fetchers, app.attachment_store, app.clock,
            max_bytes=app.settings.max_attachment_bytes, capabilities=app.capabilities,
            stop=stop.is_set if stop else None)):
        total += n
    return total


sla_tick = escalating_sla_tick


def fold(app: App) -> int:
    """The report's rollup deltas (PostgreSQL) folded in."""
    return app.write(fold_rollup)


LIVE_EVENTS_KEPT = dt.timedelta(minutes=15)


def expire_live_events(app: App) -> int:
    """Live events older than ``LIVE_EVENTS_KEPT`` forgotten (the pages have read them; a
    reconnecting page is served from its serving process's memory)."""
    return app.write(live_events.expire, app.clock.now() - LIVE_EVENTS_KEPT)


def _poll(app: App) -> int:
    """The transcript folder; a problem there never holds up the queues."""
    try:
        return len(poll_transcripts(app))
    except Exception:
        log.exception("transcript folder pass failed")
        return 0


def worker_loop(app: App, stop: threading.Event, idle_seconds: float = 0.2) -> None:
    next_routing = next_expiry = 0.0
    while not stop.is_set():
        try:
            busy = (_poll(app) + drain(app, stop) + hand_over_chats(app) + deliver(app, stop)
                    + fetch(app, stop))
            sla_tick(app, stop.is_set)
            fold(app)
            if time.monotonic() >= next_routing:
                routing_tick(app)
                next_routing = time.monotonic() + app.routing.tick_seconds
            if time.monotonic() >= next_expiry:
                expire_live_events(app)
                next_expiry = time.monotonic() + 60.0
        except Exception:  # a database blip must not kill the worker: back off and retry
            log.exception("worker pass failed")
            busy = 0
            stop.wait(2.0)
        if not busy:
            stop.wait(idle_seconds)


def run_worker(app: App, *, once: bool = False) -> int:
    if once:
        files = len(poll_transcripts(app))
        print(f"took {files} transcript files; processed {drain(app)} inbox rows; "
              f"attempted {deliver(app)} deliveries, {fetch(app)} attachment fetches; "
              f"SLA {sla_tick(app)}; routing {routing_tick(app)}; "
              f"folded {fold(app)} report rollup deltas")
        return 0
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        if stop.is_set():  # a second Ctrl-C or SIGTERM: do not wait for the current batch
            raise SystemExit(128 + signum)
        stop.set()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    settle_for_throughput(app)
    s = app.settings
    if s.instagram_accounts or (s.instagram_reconcile_dms and s.meta_access_token):
        # blocking instaloader / Graph API calls: a thread of their own; imported only here, so
        # a desk without Instagram reconciliation never loads instaloader
        from ticketing.entrypoints.instagram_poll import poll_forever as poll_instagram
        threading.Thread(target=poll_instagram, args=(app, stop),
                         name="instagram-reconcile", daemon=True).start()
    log.info("worker started")
    started = time.monotonic()
    poller = start_polling(app, stop)  # Telegram's getUpdates, under its lease
    worker_loop(app, stop)
    if poller is not None:
        # Its long poll is abandoned on ``stop`` and it releases the lease; a commit in flight
        # finishes first.  Bounded: a daemon thread still stuck then dies with the process.
        poller.join(timeout=STOP_GRACE)
        if poller.is_alive():
            log.warning("telegram poller still busy after %.0f s; leaving it", STOP_GRACE)
    log.info("worker stopped after %.0f s", time.monotonic() - started)
    return 0
