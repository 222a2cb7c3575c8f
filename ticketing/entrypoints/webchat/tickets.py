"""The hub's recording of the tickets its sessions' messages landed on: database work for
every new ticket (seconds for a burst of hundreds), so it runs behind the push loop, never in
it (replies are not held up by it)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.concurrency import run_in_threadpool

from ticketing.app import App
from ticketing.services import webchat as chats
from ticketing.services.webchat import ChatSession

log = logging.getLogger(__name__)
Queue = Callable[[Any, ChatSession], dict[str, Any]]
Announce = Callable[[str, dict[str, Any]], Awaitable[None]]


async def record(app: App, moved: dict[str, ChatSession], gone: dict[str, int], *,
                 queue: Queue, announce: Announce) -> None:
    """Sessions whose ticket is new (or another) record it and get their queue frame; those
    whose citizen left meanwhile record it anyway."""
    def write() -> list[dict[str, Any]]:
        with app.engine.begin() as conn:
            for chat in moved.values():
                chats.catch_up(conn, chat)  # the ticket its latest message is on
            for public_id, ticket_id in gone.items():
                chats.record_ticket(conn, public_id, ticket_id)
            return [queue(conn, chat) for chat in moved.values()]
    try:
        queues = await run_in_threadpool(write)
    except Exception:  # the session's next connection (its welcome) catches it up
        log.exception("recording %d web chat tickets failed", len(moved) + len(gone))
        return
    for public_id, frame in zip(moved, queues, strict=True):
        await announce(public_id, frame)
