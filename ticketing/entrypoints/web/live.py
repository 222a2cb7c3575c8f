"""Live updates for the staff pages: ``GET /events`` (server-sent events) and the small script
that shows them, ``GET /static/live.js``.

One hub per serving process reads the events every writer committed (``store.live``: polled
on SQLite, ``LISTEN``/``NOTIFY`` on PostgreSQL, so events written by workers on other hosts
arrive too) in one background thread, loads each batch once (``services.live.load``) and hands
it to the event loop, which gives every open page what is its own (``services.live.shown``,
masked for agents) through a bounded queue.  An open page costs a queue and a coroutine, no
thread and no database connection: hundreds of pages share one reader.

The stream is authenticated by the page session (cookie) and refused to other sites (403 on
a cross-site ``Origin``/``Sec-Fetch-Site``; no CORS headers).  Each event carries its id; a
reconnecting browser sends ``Last-Event-ID`` and gets what it missed from the hub's recent
history (in the order this process received them).  A page whose queue overflows is closed
and reconnects the same way.  The session is checked again every few minutes.  The worker forgets events
after ``LIVE_EVENTS_KEPT`` (``entrypoints/worker.py``)."""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from ticketing.app import App
from ticketing.services import live
from ticketing.entrypoints.web.session import HEADERS, core, same_origin, viewer
from ticketing.store import live as store

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
SCRIPT = Path(__file__).with_name("static") / "live.js"
HISTORY = 5000  # events kept for reconnecting pages
QUEUE = 500  # events waiting for one slow page before it is closed
POLL_SECONDS = 0.1  # SQLite: an indexed look-up that finds nothing, ten times a second
PING_SECONDS = 15.0
RECHECK_SECONDS = 300.0


@dataclass(eq=False)
class Page:
    watcher: live.Watcher
    queue: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(QUEUE))


def frame(event_id: int | None, kind: str, data: dict[str, Any]) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


class Hub:
    def __init__(self, app: App) -> None:
        self.app = app
        self.pages: set[Page] = set()
        self.history: collections.deque[live.LiveEvent] = collections.deque(maxlen=HISTORY)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._cursor = 0  # the last event id read (SQLite) or caught up to (PostgreSQL)

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self, cursor: int) -> None:
        """Start reading after event ``cursor`` (read before the first page joined, so that
        nothing committed after that page's first answer is missed)."""
        if self._thread is None:
            self._cursor = cursor
            self._loop = asyncio.get_running_loop()
            self._thread = threading.Thread(target=self._run, name="live-events", daemon=True)
            self._thread.start()

    # ---------------------------------------------------------------- on the event loop
    def join(self, watcher: live.Watcher, last_id: int | None) -> Page:
        page = Page(watcher)
        if last_id is not None:
            for event in self._since(last_id):
                self._offer(page, event)
        self.pages.add(page)
        return page

    def leave(self, page: Page) -> None:
        self.pages.discard(page)

    def _since(self, last_id: int) -> list[live.LiveEvent]:
        ids = [e.id for e in self.history]
        if last_id in ids:
            return list(self.history)[ids.index(last_id) + 1:]
        return [e for e in self.history if e.id > last_id]

    def _offer(self, page: Page, event: live.LiveEvent,
               frames: dict[tuple[bool, bool], str] | None = None) -> None:
        seen = live.audience(event, page.watcher)
        if seen is None:
            return
        # At most four renderings of an event (masked or whole, yours or not), whatever the
        # number of pages: serialising once per page was most of the fan-out's cost.
        frames = {} if frames is None else frames
        text = frames.get(seen)
        if text is None:
            text = frames[seen] = frame(event.id, event.kind, live.payload(event, *seen))
        try:
            page.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.pages.discard(page)  # it reconnects with Last-Event-ID
            while not page.queue.empty():
                page.queue.get_nowait()
            page.queue.put_nowait(None)

    def _fan_out(self, events: list[live.LiveEvent]) -> None:
        for event in events:
            self.history.append(event)
            frames: dict[tuple[bool, bool], str] = {}
            for page in list(self.pages):
                self._offer(page, event, frames)

    # ---------------------------------------------------------------- the reader thread
    def _deliver(self, rows: list[Any]) -> None:
        if rows and self._loop is not None:
            events = self.app.read(live.load, rows)
            self._loop.call_soon_threadsafe(self._fan_out, events)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if store.notifies(self.app.engine):
                    self._listen()
                else:
                    self._poll()
            except Exception:  # the database went away: log, wait, resume where we were
                log.exception("live events reader failed; retrying in 2 s")
                self._stop.wait(2.0)

    def _poll(self) -> None:
        while not self._stop.is_set():
            rows = self.app.read(store.after, self._cursor)
            if rows:
                self._cursor = int(rows[-1].id)
                self._deliver(rows)
                continue
            self._stop.wait(POLL_SECONDS)

    def _listen(self) -> None:
        listener = store.Listener(self.app.engine)
        try:
            # Listening first, then catching up: nothing committed in between is missed, and
            # what arrives twice is dropped by id.
            seen: collections.deque[int] = collections.deque(maxlen=HISTORY)
            cursor = self._cursor
            rows = self.app.read(store.after, cursor)
            while not self._stop.is_set():
                fresh = [r for r in rows if int(r.id) not in seen]
                seen.extend(int(r.id) for r in fresh)
                if fresh:
                    self._cursor = max(cursor, max(int(r.id) for r in fresh))
                    cursor = self._cursor
                self._deliver(fresh)
                ranges = listener.wait(1.0)
                rows = self.app.read(store.within, ranges) if ranges else []
        finally:
            listener.close()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def hub(request: Request) -> Hub:
    state = request.app.state
    found: Hub | None = getattr(state, "live_hub", None)
    if found is None:
        found = state.live_hub = Hub(core(request))
    return found


def _cross_site(request: Request) -> bool:
    return request.headers.get("sec-fetch-site") == "cross-site" or not same_origin(request)


def _int(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit() or len(value.strip()) > 15:
        return None
    return int(value.strip())


@router.get("/events")
async def events(request: Request) -> Response:
    if _cross_site(request):
        return PlainTextResponse("cross-site stream refused", 403, headers=HEADERS)
    who = await run_in_threadpool(viewer, request)
    if who is None:
        return PlainTextResponse("sign in first", 401, headers=HEADERS)
    raw_ticket = request.query_params.get("ticket")
    ticket = _int(raw_ticket)
    if raw_ticket is not None and ticket is None:
        return PlainTextResponse("ticket: a ticket number", 422, headers=HEADERS)
    last = _int(request.headers.get("last-event-id") or request.query_params.get("last_id"))
    app = core(request)
    count = await run_in_threadpool(app.read, live.unread, who.user_id)
    the_hub = hub(request)
    if not the_hub.started:
        the_hub.start(await run_in_threadpool(app.read, store.latest_id))
    page = the_hub.join(live.Watcher.of(who, ticket), last)

    async def stream() -> AsyncIterator[str]:
        checked = time.monotonic()
        try:
            yield "retry: 2000\n\n"
            yield frame(None, "hello", {"user_id": who.user_id, "unread": count})
            while True:
                try:
                    chunk = await asyncio.wait_for(page.queue.get(), timeout=PING_SECONDS)
                except TimeoutError:
                    chunk = ": ping\n\n"
                    if time.monotonic() - checked > RECHECK_SECONDS:
                        checked = time.monotonic()
                        if await run_in_threadpool(viewer, request) is None:
                            yield frame(None, "signed_out", {})
                            return
                if chunk is None:
                    return
                yield chunk
        finally:
            the_hub.leave(page)

    headers = {**HEADERS, "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@router.get("/static/live.js")
async def script() -> Response:
    return Response(SCRIPT.read_bytes(), media_type="text/javascript; charset=utf-8",
                    headers={**HEADERS, "Cache-Control": "no-cache"})
