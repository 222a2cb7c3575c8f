"""``POST /channels/telegram/webhook``: Telegram's webhook (served when
``TICKETING_TELEGRAM_WEBHOOK_SECRET`` and the token are set; 404 otherwise).

The request must carry ``X-Telegram-Bot-Api-Secret-Token`` equal to the secret given to
``setWebhook`` (compared in constant time; missing or wrong: 403).  The untouched update goes
into the raw inbox under ``telegram:<bot id>:<update_id>`` through the group-commit sink (one
transaction for every request waiting), and only after that commit is Telegram answered 200; a
failed commit is a 503, so Telegram delivers the update again.  A repeat (Telegram retries
after a lost answer) lands on the same key: stored once, answered 200.  The worker turns it
into a ticket message.  A body that is not an update is a 400 (Telegram does not resend it).

Served as a plain ASGI middleware in front of the API's routing: it is the hottest door of the
desk (Telegram pushes every update of every citizen through it) and needs nothing of FastAPI's
request machinery, which costs more per request than the commit itself (bench/telegram_webhook).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from channels.telegram.parse import CONTENT_TYPE, bot_id, update_id, update_key
from ticketing.app import App
from ticketing.entrypoints.api.asgi_body import read_body
from ticketing.domain.errors import MalformedPayload
from ticketing.domain.raw import RawDelivery
from ticketing.services.intake import GroupCommitSink

log = logging.getLogger(__name__)
PATH = "/channels/telegram/webhook"
MAX_UPDATE_BYTES = 1024 * 1024  # an update is a few KB; files are only referenced
_HEADER = b"x-telegram-bot-api-secret-token"


class TelegramWebhook:
    """The webhook in front of ``app``; every other request goes on to ``app``."""

    def __init__(self, app: ASGIApp, core: App, state: Any) -> None:
        """``state``: where the process's group-commit sink is kept (``raw_sink``, made on
        first use; the API's shutdown closes it)."""
        self.app, self.core, self.state = app, core, state

    def _sink(self) -> GroupCommitSink:
        found: GroupCommitSink | None = getattr(self.state, "raw_sink", None)
        if found is None:
            uow = self.core.uow
            found = self.state.raw_sink = GroupCommitSink(
                uow, self.core.clock, linger=0.004 if uow.has_row_locks() else 0.0)
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings = self.core.settings
        if (scope["type"] != "http" or scope["path"] != PATH
                or not settings.telegram_webhook_secret or not settings.telegram_token):
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            await _answer(send, 405, "method_not_allowed", "POST only")
            return
        headers = dict(scope["headers"])
        given = headers.get(_HEADER, b"")
        if not hmac.compare_digest(given, settings.telegram_webhook_secret.encode()):
            await _answer(send, 403, "forbidden",
                          "wrong or missing X-Telegram-Bot-Api-Secret-Token")
            return
        body = await read_body(receive, MAX_UPDATE_BYTES)
        if body is None:
            await _answer(send, 413, "payload_too_large", f"update over {MAX_UPDATE_BYTES} bytes")
            return
        try:
            uid = update_id(json.loads(body))
        except (ValueError, UnicodeDecodeError) as exc:
            await _answer(send, 400, "malformed_payload", f"not a JSON update: {exc}")
            return
        except MalformedPayload as exc:
            await _answer(send, 400, "malformed_payload", str(exc))
            return
        delivery = RawDelivery(channel="telegram",
                               key=update_key(bot_id(settings.telegram_token), uid),
                               payload=body, content_type=CONTENT_TYPE, meta={"via": "webhook"})
        try:
            await asyncio.wrap_future(self._sink().submit(delivery))
        except Exception:
            log.exception("telegram update %s could not be stored", uid)
            await _answer(send, 503, "unavailable", "the update could not be stored; "
                          "Telegram will deliver it again")
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})


async def _answer(send: Send, status: int, code: str, text: str) -> None:
    body: Any = json.dumps({"error": {"code": code, "message": text}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
