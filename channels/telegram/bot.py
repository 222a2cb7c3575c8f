"""The Bot API client: a python-telegram-bot ``Bot`` pointed at ``TICKETING_TELEGRAM_API_URL``
(requests to ``{root}/bot{token}/{method}``, files to ``{root}/file/bot{token}/{path}``), run on
an event loop of its own in a daemon thread, so blocking callers (the outbox worker, the
attachment fetcher, the CLI) can use the async library without an event loop of theirs."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import Bot
from telegram.request import HTTPXRequest

T = TypeVar("T")
DEFAULT_API_URL = "https://api.telegram.org"


def make_bot(token: str, api_url: str = DEFAULT_API_URL, *, timeout: float = 15.0,
             poll_timeout: float = 40.0) -> Bot:
    root = (api_url or DEFAULT_API_URL).rstrip("/")
    request = HTTPXRequest(connection_pool_size=16, read_timeout=timeout, write_timeout=timeout,
                           connect_timeout=min(timeout, 10.0), pool_timeout=timeout)
    updates = HTTPXRequest(connection_pool_size=2, read_timeout=poll_timeout,
                           write_timeout=timeout, connect_timeout=min(timeout, 10.0))
    return Bot(token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot",
               request=request, get_updates_request=updates)


class Cancelled(Exception):
    """``BotRunner.call`` gave up on a call because its caller is stopping."""


class BotRunner:
    """One ``Bot`` on one background event loop; ``call`` runs a coroutine there and waits."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self._loop = asyncio.new_event_loop()
        self._ready = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop.run_forever, name="telegram-bot",
                                        daemon=True)
        self._thread.start()
        # getMe (the token check) now, in the background: not in front of the first send,
        # which the outbox has timed to its pace slot.
        self._init = asyncio.run_coroutine_threadsafe(self._initialize(), self._loop)

    async def _initialize(self) -> None:
        if not self._ready:
            await self.bot.initialize()
            self._ready = True

    def call(self, fn: Callable[[Bot], Awaitable[T]], timeout: float = 120.0, *,
             cancel: Callable[[], bool] | None = None) -> T:
        """Run ``fn(bot)`` on the loop and wait for it.  ``cancel``: asked every 0.1 s while
        waiting; when it says so the call is cancelled on the loop (an in-flight request, a
        long-polling ``getUpdates``, is abandoned) and ``Cancelled`` raised."""
        async def run() -> T:
            if not self._ready:
                await self._initialize()  # getMe: checks the token once
            return await fn(self.bot)
        with self._lock:
            future = asyncio.run_coroutine_threadsafe(run(), self._loop)
        if cancel is None:
            return future.result(timeout)
        until = time.monotonic() + timeout
        while True:
            try:
                return future.result(min(0.1, max(0.0, until - time.monotonic())))
            except concurrent.futures.TimeoutError:
                if cancel():
                    future.cancel()
                    raise Cancelled("the call was cancelled (the process is stopping)") from None
                if time.monotonic() >= until:
                    future.cancel()
                    raise

    def close(self) -> None:
        if self._loop.is_closed():
            return
        if self._ready:
            try:
                asyncio.run_coroutine_threadsafe(self.bot.shutdown(), self._loop).result(10)
            except Exception:  # noqa: BLE001 - closing: nothing left to do about it
                pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()
