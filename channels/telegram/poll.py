"""Long polling: one ``getUpdates`` call through python-telegram-bot, each update turned back
into its JSON and wrapped as a raw delivery keyed ``telegram:<bot id>:<update_id>`` (the same
key the webhook uses, so a switch between the two never stores an update twice).

Telegram confirms updates when a later call passes ``offset`` past them; the driver passes the
offset it committed with the updates (``store.cursors``), so an update is confirmed only after
it is in the inbox.  No database here: the driver commits."""

from __future__ import annotations

import json
from collections.abc import Callable

from telegram import Bot

from channels.telegram.bot import BotRunner
from channels.telegram.parse import CONTENT_TYPE, update_key
from ticketing.domain.raw import RawDelivery

# What the desk takes; everything else is never even sent to us.
ALLOWED_UPDATES = ("message", "edited_message")


def fetch_updates(runner: BotRunner, bot_id: str, offset: int | None, *, timeout: int,
                  limit: int = 100, cancel: Callable[[], bool] | None = None,
                  ) -> tuple[list[RawDelivery], int | None]:
    """The updates waiting after ``offset`` (confirming everything before it), as raw
    deliveries, and the offset that confirms them (None: nothing new).  ``cancel``: asked while
    the long poll waits; when it says so the call is abandoned (``bot.Cancelled``): nothing
    was committed, so nothing is lost (Telegram confirms only by a later offset)."""
    async def call(bot: Bot) -> list[tuple[int, bytes]]:
        # The raw JSON, not ``Bot.get_updates``: turning 100 updates into PTB objects and back
        # costs ~85 ms of CPU (0.8 ms an update), the poller's whole budget at 500 updates/s.
        # The Bot API's method names are case-insensitive; the lower-case name keeps
        # ``do_api_request`` from warning that ``getUpdates`` has a typed method.
        result = await bot.do_api_request(
            "getupdates", api_kwargs={"offset": offset, "timeout": timeout, "limit": limit,
                                      "allowed_updates": list(ALLOWED_UPDATES)},
            read_timeout=timeout + 15)
        if not isinstance(result, list):
            return []
        return [(int(u["update_id"]), json.dumps(u, ensure_ascii=False,
                                                 separators=(",", ":")).encode())
                for u in result if isinstance(u, dict) and isinstance(u.get("update_id"), int)]

    got = runner.call(call, timeout=timeout + 60, cancel=cancel)
    deliveries = [RawDelivery(channel="telegram", key=update_key(bot_id, uid), payload=body,
                              content_type=CONTENT_TYPE, meta={"via": "getUpdates"})
                  for uid, body in got]
    return deliveries, (max(uid for uid, _ in got) + 1 if got else None)


def set_webhook(runner: BotRunner, url: str, secret: str) -> bool:
    async def call(bot: Bot) -> bool:
        return await bot.set_webhook(url, secret_token=secret or None,
                                     allowed_updates=list(ALLOWED_UPDATES))
    return runner.call(call)


def delete_webhook(runner: BotRunner) -> bool:
    async def call(bot: Bot) -> bool:
        return await bot.delete_webhook()
    return runner.call(call)
