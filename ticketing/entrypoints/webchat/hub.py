"""The web chat hub of one web process: the sessions connected here (WebSockets and long
polls), a citizen's frame (checked, limited, stored, acknowledged), and a loop pushing the desk's
replies, typing and read receipts to the connections.

A ``message`` frame goes to the raw inbox through the channels' group-commit sink
(``services.intake.GroupCommitSink``: one transaction for every waiting frame, the rate limits
taken in it) and is acknowledged once committed; the workers build the ticket behind it and a
later ``stored`` frame gives the message's id and ticket (then the queue frame, if new).
Every ``interval`` (50 ms) the loop pushes replies waiting for a connected session and settles
them as delivered, announces stored frames, and closes sockets whose session expired.
Blocking database work runs in the thread pool, never on the event loop.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.concurrency import run_in_threadpool

from channels.webchat.intake import frame_delivery
from channels.webchat.parse import external_id
from channels.webchat.protocol import (EndFrame, FrameError, MessageFrame, PingFrame,
                                       RatingFrame, ReadFrame, TypingFrame, encode, error,
                                       parse_frame, refused)
from ticketing.app import App
from ticketing.domain.errors import TicketingError
from ticketing.domain.throttle import Bucket
from ticketing.services import webchat as chats
from ticketing.services import webchat_delivery as replies
from ticketing.services import webchat_rates as rates
from ticketing.entrypoints.webchat import tickets
from ticketing.entrypoints.webchat.settle import Settler
from ticketing.services.intake import GroupCommitSink, Limited
from ticketing.services.webchat import ChatSession

log = logging.getLogger(__name__)
Send = Callable[[dict[str, Any]], Awaitable[bool]]
Close = Callable[[int, str], Awaitable[None]]
TYPING_WRITE_EVERY = 2.0  # seconds between two writes of "typing" for one session
HOUSEKEEPING_EVERY = 5.0  # seconds: presence
FORGET_RATES_EVERY = 60.0
SWEEP_EVERY = 1.0  # seconds between two look-ups of every awaited frame by its external id
AWAIT_STORED_FOR = 300.0  # seconds an acknowledged frame is looked for (a quarantined one never is)
SLOW_PASS = 0.25  # seconds: a push pass longer than this is logged (its phases)
CLOSE_SESSION = 4401  # an application close code: the session is unknown or expired


class Hub:
    def __init__(self, app: App, *, interval: float = 0.05) -> None:
        self.app, self.interval = app, interval
        s = app.settings
        self.limits = rates.ChatLimits(
            per_session=Bucket(per_minute=s.webchat_messages_per_minute,
                               burst=max(3, s.webchat_messages_per_minute // 3)),
            per_ip=Bucket(per_minute=s.webchat_ip_messages_per_minute,
                          burst=max(5, s.webchat_ip_messages_per_minute // 3)))
        self.sink = GroupCommitSink(app.uow, app.clock, gate=self.limits.take,
                                    linger=0.004 if app.uow.has_row_locks() else 0.0)
        # public id → its connections here (each socket's send → its close)
        self.sockets: dict[str, dict[Send, Close | None]] = {}
        # acknowledged frames not yet seen stored: external id → (public id, client id, since)
        self.awaiting: dict[str, tuple[str, str, float]] = {}
        self.polls: dict[str, asyncio.Event] = {}
        self.poll_frames: dict[str, list[dict[str, Any]]] = {}  # for the next long poll
        self.sessions: dict[str, ChatSession] = {}
        self.uploads: dict[tuple[str, str], dict[str, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._typing_written: dict[str, float | None] = {}
        self._desk_since: dt.datetime | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_seen_write = 0.0
        self._last_rates_forget = 0.0
        self._cursor: int | None = None  # the last live event read (None: not started)
        self._last_sweep = 0.0
        self.settler = Settler(app)

    # -- connections --------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop())

    def attach(self, chat: ChatSession, send: Send, close: Close | None = None) -> None:
        self.start()
        self.sessions[chat.public_id] = chat
        self.sockets.setdefault(chat.public_id, {})[send] = close

    def detach(self, public_id: str, send: Send) -> None:
        conns = self.sockets.get(public_id)
        if conns is not None:
            conns.pop(send, None)
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
        conns = self.sockets.pop(public_id, {})
        self.sessions.pop(public_id, None)
        for send, close in conns.items():
            await send(error("session_moved"))
            if close is not None:
                await close(CLOSE_SESSION, "session_moved")

    def to_polls(self, public_id: str, frame: dict[str, Any]) -> None:
        """A frame for the session's long poll, if it has one here (its next answer)."""
        event = self.polls.get(public_id)
        if event is not None:
            self.poll_frames.setdefault(public_id, []).append(frame)
            event.set()

    def take_frames(self, public_id: str) -> list[dict[str, Any]]:
        return self.poll_frames.pop(public_id, [])

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

        def read() -> tuple[ChatSession, list[dict[str, Any]], list[replies.Waiting],
                            dict[str, Any], int | None]:
            with app.engine.begin() as conn:
                chats.renew(conn, chat.id, now, ttl)
                fresh = dataclasses.replace(chats.catch_up(conn, chat), expires_at=now + ttl)
                return (fresh, chats.history(conn, chat.public_id),
                        replies.waiting(conn, chat.public_id), self._queue(conn, fresh),
                        chats.desk_read_id(conn, chat.public_id))
        chat, history, waiting, queue, desk_read = await run_in_threadpool(read)
        if chat.public_id in self.sessions:
            self.sessions[chat.public_id] = chat
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
        attachments = []
        for upload in frame.attachments:
            meta = self.uploads.get((chat.public_id, upload))
            if meta is None:
                await send(error("bad_attachment", client_id=frame.client_id,
                                 language=chat.language, why=upload[:20]))
                return
            attachments.append(meta)
        own = external_id(chat.public_id, frame.client_id)
        lock = self._locks.setdefault(chat.public_id, asyncio.Lock())
        async with lock:  # one message of a session at a time: in order, the first threaded to
            chat = self.sessions.get(chat.public_id, chat)
            topic = (self.app.evidence_policy.classifier.label(chat.topic)
                     if chat.topic else None)
            raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
            delivery = frame_delivery(raw, session=chat.public_id, client_id=frame.client_id,
                                      received_at=self.now(), sender=chat.sender(),
                                      topic_label=topic, thread=chat.first_external_id,
                                      attachments=attachments)
            try:
                inserted = await asyncio.wrap_future(
                    self.sink.submit(delivery, self.limits.keys(chat.public_id, ip)))
            except Limited as exc:
                await send(error("rate_limited", client_id=frame.client_id,
                                 language=chat.language, wait=int(exc.retry_after) + 1,
                                 retry_after=round(exc.retry_after, 1)))
                return
            except Exception:
                log.exception("storing a web chat frame failed")
                await send(error("store_failed", client_id=frame.client_id,
                                 language=chat.language))
                return
            first = chat if chat.first_external_id is None else None
            if first is not None:
                chat = dataclasses.replace(chat, first_external_id=own)
                self.sessions[chat.public_id] = chat
        self.awaiting[own] = (chat.public_id, frame.client_id,
                              asyncio.get_running_loop().time())
        await send({"type": "ack", "client_id": frame.client_id, "duplicate": not inserted})
        if first is not None:  # later frames thread to it (a hint: the session's identity
            # links them too, should this write be lost)
            await run_in_threadpool(self.app.write, chats.landed, first, external_id=own,
                                    ticket_id=None)

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
                if self.sockets or self.polls or self.awaiting:
                    await self.push()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("web chat push pass failed")
                await asyncio.sleep(1.0)

    async def push(self) -> None:
        app, now = self.app, self.now()
        since = self._desk_since or now - dt.timedelta(seconds=10)
        here = set(self.sockets) | set(self.polls)
        read_at = asyncio.get_running_loop().time()
        # Acknowledged frames stored since: the live events' new messages (cost: what is new);
        # once a second also every frame still awaited by its external id (PostgreSQL may
        # commit an event below the cursor after it moved on).
        sweep = (list(self.awaiting) if self.awaiting
                 and read_at - self._last_sweep >= SWEEP_EVERY else [])
        if sweep:
            self._last_sweep = read_at
        cursor = self._cursor

        def read() -> tuple[list[replies.Waiting], list[Any], int | None, list[chats.Landed]]:
            with app.engine.connect() as conn:
                after, landed = (chats.stored_after(conn, cursor) if cursor is not None
                                 else (chats.latest_event(conn), []))
                if sweep:
                    landed += chats.stored(conn, sweep)
                return (replies.waiting(conn, sessions=here), chats.desk_changes(conn, since),
                        after, landed)
        waiting, desk, self._cursor, landed = await run_in_threadpool(read)
        got_at = asyncio.get_running_loop().time()
        landed = [item for item in landed if item.external_id in self.awaiting]
        done = []
        for item in waiting:
            if self.settler.pushed(item.outbox_id, read_at):
                continue  # written already; settled since, or its settling write on its way
            if item.session in self.polls:
                self.polls[item.session].set()
            conns = list(self.sockets.get(item.session, ()))
            results = [await s(item.frame) for s in conns]
            if any(results):
                done.append(item)
        if done:  # settled behind the push (the write may queue behind a worker's batch)
            self.settler.settle(done)
        if landed:  # after the replies: a burst of new tickets never holds them up
            await self._landed(landed)
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
        sent_at = asyncio.get_running_loop().time()
        if sent_at - read_at > SLOW_PASS:
            log.warning("slow web chat push pass: read %.0f ms, sends %.0f ms (%d replies, "
                        "%d stored)", (got_at - read_at) * 1000, (sent_at - got_at) * 1000,
                        len(waiting), len(landed))
        await self._close_expired(now)  # in memory; the database only for those due
        loop_now = asyncio.get_running_loop().time()
        if loop_now - self._last_seen_write >= HOUSEKEEPING_EVERY and self.sockets:
            self._last_seen_write = loop_now
            here_now = set(self.sockets)
            self.settler.background("presence", lambda: run_in_threadpool(
                app.write, chats.seen, here_now, now))
            self.awaiting = {k: v for k, v in self.awaiting.items()
                             if loop_now - v[2] < AWAIT_STORED_FOR}
            self.settler.prune(loop_now)
        if loop_now - self._last_rates_forget >= FORGET_RATES_EVERY:
            self._last_rates_forget = loop_now
            self.settler.background("rates", lambda: run_in_threadpool(
                app.write, rates.forget, now))

    async def _landed(self, landed: list[chats.Landed]) -> None:
        """Frames the workers have stored: the citizen learns the message's id and ticket; a
        session whose ticket is new (or another) records it and gets its queue frame."""
        moved: dict[str, ChatSession] = {}
        gone: dict[str, int] = {}
        for item in landed:
            public_id, client_id, _ = self.awaiting.pop(item.external_id, ("", "", 0.0))
            chat = self.sessions.get(public_id)
            frame = {"type": "stored", "client_id": client_id, "id": item.message_id,
                     "ticket_id": item.ticket_id}
            await self._announce(public_id, frame)
            if chat is not None and chat.ticket_id != item.ticket_id:
                moved[public_id] = dataclasses.replace(chat, ticket_id=item.ticket_id)
            elif chat is None and public_id:  # the citizen left meanwhile: recorded anyway
                gone[public_id] = item.ticket_id
        if not moved and not gone:
            return
        for public_id, chat in moved.items():  # known here at once: not recorded twice
            if public_id in self.sessions:
                self.sessions[public_id] = chat
        self.settler.spawn(tickets.record(self.app, moved, gone, queue=self._queue,
                                          announce=self._announce))  # behind the loop

    async def _announce(self, public_id: str, frame: dict[str, Any]) -> None:
        self.to_polls(public_id, frame)
        for send in list(self.sockets.get(public_id, ())):
            await send(frame)

    async def _close_expired(self, now: dt.datetime) -> None:
        """Sockets whose session has expired (and was not renewed elsewhere meanwhile) are
        told so and closed, not left open until the citizen reconnects."""
        due = {p for p in self.sockets if (c := self.sessions.get(p)) is not None
               and c.expires_at <= now}
        if not due:
            return
        known = await run_in_threadpool(self.app.read, chats.expiries, due)
        for public_id in due:
            chat = self.sessions[public_id]
            until = known.get(public_id)
            if until is not None and until > now:
                self.sessions[public_id] = dataclasses.replace(chat, expires_at=until)
                continue
            for send, close in list(self.sockets.get(public_id, {}).items()):
                await send(error("session_expired", language=chat.language))
                if close is not None:
                    await close(CLOSE_SESSION, "session_expired")
