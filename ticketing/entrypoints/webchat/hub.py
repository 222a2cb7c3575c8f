"""The web chat hub of one web process: which sessions are connected here (WebSockets and long
polls), the handling of a citizen's frame (checked, limited, stored, then acknowledged), and a
loop that pushes the desk's replies, typing and read receipts to the connections.

The loop reads the database every ``interval`` (100 ms): replies waiting in the outbox for a
connected session are written to its sockets and settled as delivered at that moment (a long
poll is woken and settles what it returns).  Blocking database work runs in the thread pool,
never on the event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.concurrency import run_in_threadpool

from channels.webchat.intake import frame_delivery
from channels.webchat.parse import external_id
from channels.webchat.protocol import (EndFrame, FrameError, MessageFrame, PingFrame,
                                       RatingFrame, ReadFrame, TypingFrame, error, parse_frame,
                                       refused)
from ticketing.app import App
from ticketing.domain.errors import TicketingError
from ticketing.entrypoints.webchat.limits import Buckets
from ticketing.entrypoints.webchat.sink import IngestSink
from ticketing.services import webchat as chats
from ticketing.services import webchat_delivery as replies
from ticketing.services.webchat import ChatSession

log = logging.getLogger(__name__)
Send = Callable[[dict[str, Any]], Awaitable[bool]]
TYPING_WRITE_EVERY = 2.0  # seconds between two writes of "typing" for one session


class Hub:
    def __init__(self, app: App, *, interval: float = 0.1) -> None:
        self.app, self.interval = app, interval
        s = app.settings
        self.sink = IngestSink(app)
        self.per_session = Buckets(s.webchat_messages_per_minute,
                                   max(3, s.webchat_messages_per_minute // 3))
        self.per_ip = Buckets(s.webchat_ip_messages_per_minute,
                              max(5, s.webchat_ip_messages_per_minute // 3))
        self.sockets: dict[str, set[Send]] = {}
        self.polls: dict[str, asyncio.Event] = {}
        self.sessions: dict[str, ChatSession] = {}
        self.uploads: dict[tuple[str, str], dict[str, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._typing_written: dict[str, float | None] = {}
        self._desk_since: dt.datetime | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_seen_write = 0.0

    # -- connections --------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop())

    def attach(self, chat: ChatSession, send: Send) -> None:
        self.start()
        self.sessions[chat.public_id] = chat
        self.sockets.setdefault(chat.public_id, set()).add(send)

    def detach(self, public_id: str, send: Send) -> None:
        conns = self.sockets.get(public_id)
        if conns is not None:
            conns.discard(send)
            if not conns:
                del self.sockets[public_id]
                self._locks.pop(public_id, None)
                if public_id not in self.polls:
                    self.sessions.pop(public_id, None)

    def poll_event(self, chat: ChatSession) -> asyncio.Event:
        self.start()
        self.sessions[chat.public_id] = chat
        return self.polls.setdefault(chat.public_id, asyncio.Event())

    async def moved(self, public_id: str) -> None:
        """The chat was opened on another device by a sign-in link (its token changed): this
        process's connections of it get nothing more and are told so (their next connection
        is refused: the old token is gone)."""
        conns = self.sockets.pop(public_id, set())
        self.sessions.pop(public_id, None)
        for send in conns:
            await send(error("session_moved"))

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.sink.close()

    def now(self) -> dt.datetime:
        return self.app.clock.now()

    # -- on (re)connecting ----------------------------------------------------------------
    async def welcome(self, chat: ChatSession, send: Send) -> None:
        """History (with replies that waited for this connection, settled once it is
        written), then where the citizen stands in the queue."""
        app, now = self.app, self.now()
        ttl = dt.timedelta(hours=app.settings.webchat_session_hours)

        def read() -> tuple[list[dict[str, Any]], list[replies.Waiting], dict[str, Any],
                            int | None]:
            with app.engine.begin() as conn:
                chats.renew(conn, chat.id, now, ttl)
                return (chats.history(conn, chat.public_id),
                        replies.waiting(conn, chat.public_id), self._queue(conn, chat),
                        chats.desk_read_id(conn, chat.public_id))
        history, waiting, queue, desk_read = await run_in_threadpool(read)
        if await send({"type": "history", "messages": history,
                       "session": {"id": chat.public_id, "name": chat.name,
                                   "ticket_id": chat.ticket_id, "language": chat.language,
                                   "email": bool(chat.email)}}) and waiting:
            await run_in_threadpool(app.write, replies.delivered, waiting, now)
        if desk_read is not None:
            await send({"type": "read", "by": "agent", "id": desk_read})
        await send(queue)

    def _queue(self, conn: Any, chat: ChatSession) -> dict[str, Any]:
        s = self.app.settings
        return chats.queue_status(conn, chat, sla=self.app.sla_setup,
                                  minutes_per_chat=s.webchat_minutes_per_chat,
                                  agents_online=1, now=self.now())

    # -- a citizen's frame ----------------------------------------------------------------
    async def handle(self, public_id: str, text: str | bytes, ip: str, send: Send) -> None:
        chat = self.sessions.get(public_id)
        if chat is None:
            await send(error("no_session"))
            return
        lang = chat.language
        try:
            frame = parse_frame(text)
        except FrameError as exc:
            await send(refused(exc, lang))
            return
        if frame is None:
            return  # an unknown type: ignored, as the contract says
        try:
            if isinstance(frame, MessageFrame):
                await self._message(chat, frame, text, ip, send)
            elif isinstance(frame, TypingFrame):
                await self._typing(chat, frame.on)
            elif isinstance(frame, ReadFrame):
                await run_in_threadpool(self.app.write, chats.citizen_read, chat.id,
                                        frame.message_id, self.now())
            elif isinstance(frame, RatingFrame):
                await self._rate(chat, frame.value, send)
            elif isinstance(frame, EndFrame):
                await self._end(chat, frame.transcript, send)
            elif isinstance(frame, PingFrame):
                await send({"type": "pong"})
        except TicketingError as exc:
            await send(error("bad_frame", language=lang, why=str(exc)[:200]))

    async def _message(self, chat: ChatSession, frame: MessageFrame, text: str | bytes,
                       ip: str, send: Send) -> None:
        for bucket, key in ((self.per_session, chat.public_id), (self.per_ip, ip)):
            wait = bucket.take(key)
            if wait > 0:
                await send(error("rate_limited", client_id=frame.client_id,
                                 language=chat.language, wait=int(wait) + 1,
                                 retry_after=round(wait, 1)))
                return
        attachments = []
        for upload in frame.attachments:
            meta = self.uploads.get((chat.public_id, upload))
            if meta is None:
                await send(error("bad_attachment", client_id=frame.client_id,
                                 language=chat.language, why=upload[:20]))
                return
            attachments.append(meta)
        lock = self._locks.setdefault(chat.public_id, asyncio.Lock())
        async with lock:  # one message of a session at a time: the first is threaded to
            chat = self.sessions.get(chat.public_id, chat)
            topic = (self.app.evidence_policy.classifier.label(chat.topic)
                     if chat.topic else None)
            raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
            delivery = frame_delivery(raw, session=chat.public_id, client_id=frame.client_id,
                                      received_at=self.now(), sender=chat.sender(),
                                      topic_label=topic, thread=chat.first_external_id,
                                      attachments=attachments)
            try:
                outcome = await asyncio.wrap_future(self.sink.submit(delivery))
            except Exception:
                await send(error("store_failed", client_id=frame.client_id,
                                 language=chat.language))
                return
            own = external_id(chat.public_id, frame.client_id)
            if chat.first_external_id is None or (outcome.ticket_id is not None
                                                  and outcome.ticket_id != chat.ticket_id):
                await run_in_threadpool(self.app.write, chats.landed, chat, external_id=own,
                                        ticket_id=outcome.ticket_id)
                chat = dataclasses.replace(chat, first_external_id=chat.first_external_id or own,
                                           ticket_id=outcome.ticket_id or chat.ticket_id)
                self.sessions[chat.public_id] = chat
                new_ticket = True
            else:
                new_ticket = False
        await send({"type": "ack", "client_id": frame.client_id, "id": outcome.message_id,
                    "ticket_id": outcome.ticket_id,
                    "duplicate": outcome.outcome == "duplicate"})
        if new_ticket:
            await send(await run_in_threadpool(self.app.read, self._queue, chat))

    async def _typing(self, chat: ChatSession, on: bool) -> None:
        tick = asyncio.get_running_loop().time()
        last = self._typing_written.get(chat.public_id)
        if on and last is not None and tick - last < TYPING_WRITE_EVERY:
            return
        self._typing_written[chat.public_id] = tick if on else None
        await run_in_threadpool(self.app.write, chats.citizen_typing, chat.id, on, self.now())

    async def _rate(self, chat: ChatSession, value: int, send: Send) -> None:
        await run_in_threadpool(self.app.write, chats.rate, chat, value, self.now())
        await send({"type": "rated", "value": value})

    async def _end(self, chat: ChatSession, transcript: bool, send: Send) -> None:
        app, now = self.app, self.now()

        def end() -> int | None:
            with app.engine.begin() as conn:
                chats.end(conn, chat.id, now)
                if not transcript:
                    return None
                return replies.email_transcript(conn, chat,
                                                from_address=app.settings.support_address,
                                                now=now)
        queued = await run_in_threadpool(end)
        await send({"type": "ended", "transcript": queued is not None})

    # -- the push loop --------------------------------------------------------------------
    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.sleep(self.interval)
                if self.sockets or self.polls:
                    await self.push()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("web chat push pass failed")
                await asyncio.sleep(1.0)

    async def push(self) -> None:
        app, now = self.app, self.now()
        since = self._desk_since or now - dt.timedelta(seconds=10)

        def read() -> tuple[list[replies.Waiting], list[Any]]:
            with app.engine.connect() as conn:
                return replies.waiting(conn), chats.desk_changes(conn, since)
        waiting, desk = await run_in_threadpool(read)
        done = []
        for item in waiting:
            if item.session in self.polls:
                self.polls[item.session].set()
            conns = list(self.sockets.get(item.session, ()))
            results = [await s(item.frame) for s in conns]
            if any(results):
                done.append(item)
        if done:
            await run_in_threadpool(app.write, replies.delivered, done, self.now())
        for row in desk:
            self._desk_since = max(self._desk_since or row.agent_changed_at,
                                   row.agent_changed_at)
            typing = (row.agent_typing_at is not None
                      and now - row.agent_typing_at <= chats.TYPING_FOR)
            for send in list(self.sockets.get(row.public_id, ())):
                await send({"type": "typing", "from": "agent", "on": typing})
                if row.agent_read_id is not None:
                    await send({"type": "read", "by": "agent", "id": row.agent_read_id})
        if self._desk_since is None:
            self._desk_since = now - dt.timedelta(seconds=1)
        loop_now = asyncio.get_running_loop().time()
        if loop_now - self._last_seen_write >= 5.0 and self.sockets:
            self._last_seen_write = loop_now
            await run_in_threadpool(app.write, chats.seen, set(self.sockets), now)
            self.per_session.forget_idle()
            self.per_ip.forget_idle()


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
