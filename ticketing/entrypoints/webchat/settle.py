"""The hub's writes that must not hold up its push loop: replies written to a socket are
settled (``settle_sent``) behind the push, and presence and housekeeping writes run as
background tasks.  A reply being settled, or settled after the loop's last read began, is not
pushed again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.concurrency import run_in_threadpool

from ticketing.app import App
from ticketing.services import webchat_delivery as replies

log = logging.getLogger(__name__)
KEEP_SETTLED = 5.0  # seconds a settled id is remembered (longer than any read of a pass)


class Settler:
    def __init__(self, app: App) -> None:
        self.app = app
        self._settling: set[int] = set()  # outbox ids pushed, their settling write pending
        self._settled: dict[int, float] = {}  # outbox id → when its settling committed
        self._tasks: set[asyncio.Task[Any]] = set()
        self._busy: set[str] = set()  # background writes of a kind not finished yet

    def pushed(self, outbox_id: int, read_at: float) -> bool:
        """Written already: being settled, or settled after a read that began at
        ``read_at`` (which may still have seen it pending)."""
        return outbox_id in self._settling or self._settled.get(outbox_id, -1.0) >= read_at

    def settle(self, done: list[replies.Waiting]) -> None:
        self._settling.update(d.outbox_id for d in done)
        self._spawn(self._settle(done))

    def background(self, kind: str, write: Callable[[], Awaitable[Any]]) -> None:
        """One write of this kind at a time (a slow one is not queued up behind itself)."""
        if kind in self._busy:
            return
        self._busy.add(kind)

        async def run() -> None:
            try:
                await write()
            except Exception:
                log.exception("web chat %s write failed", kind)
            finally:
                self._busy.discard(kind)
        self._spawn(run())

    def prune(self, loop_now: float) -> None:
        self._settled = {k: at for k, at in self._settled.items()
                         if loop_now - at < KEEP_SETTLED}

    def spawn(self, work: Awaitable[Any]) -> None:
        """Work of the hub's loop that must not hold it up (its failures are its own)."""
        self._spawn(work)

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle(self, done: list[replies.Waiting]) -> None:
        # With row locks (PostgreSQL) one reply a transaction: settling touches its ticket's
        # row, and several tickets in one transaction could deadlock with a worker's batch.
        app, now = self.app, self.app.clock.now()
        groups = [[d] for d in done] if app.uow.has_row_locks() else [done]
        try:
            for group in groups:
                await run_in_threadpool(app.write, replies.delivered, group, now)
        except Exception:  # pushed but not settled: pushed again next pass (the page dedups)
            log.exception("settling %d web chat replies failed", len(done))
        else:
            at = asyncio.get_running_loop().time()
            self._settled.update((d.outbox_id, at) for d in done)
        finally:
            self._settling.difference_update(d.outbox_id for d in done)
