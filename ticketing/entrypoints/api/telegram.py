"""``POST /channels/telegram/webhook``: Telegram's webhook (served when
``TICKETING_TELEGRAM_WEBHOOK_SECRET`` and the token are set; 404 otherwise).

The request must carry ``X-Telegram-Bot-Api-Secret-Token`` equal to the secret given to
``setWebhook`` (compared in constant time; missing or wrong: 403).  The untouched update goes
into the raw inbox under ``telegram:<bot id>:<update_id>`` through the group-commit sink (one
transaction for every request waiting), and only after that commit is Telegram answered 200; a
failed commit is a 503, so Telegram delivers the update again.  A repeat (Telegram retries
after a lost answer) lands on the same key: stored once, answered 200.  The worker turns it
into a ticket message.  A body that is not an update is a 400 (Telegram does not resend it).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging

from fastapi import APIRouter, Request, Response

from channels.telegram.parse import CONTENT_TYPE, bot_id, update_id, update_key
from ticketing.app import App
from ticketing.domain.errors import MalformedPayload
from ticketing.domain.raw import RawDelivery
from ticketing.entrypoints.api.auth import core
from ticketing.entrypoints.api.errors import ApiError
from ticketing.services.intake import GroupCommitSink

log = logging.getLogger(__name__)
router = APIRouter(prefix="/channels/telegram")
MAX_UPDATE_BYTES = 1024 * 1024  # an update is a few KB; files are only referenced


def sink(request: Request) -> GroupCommitSink:
    """The process's group-commit sink, made on first use (closed by the API's shutdown)."""
    state = request.app.state
    found: GroupCommitSink | None = getattr(state, "raw_sink", None)
    if found is None:
        app = core(request)
        found = state.raw_sink = GroupCommitSink(app.uow, app.clock)
    return found


@router.post("/webhook", include_in_schema=False)
async def webhook(request: Request) -> Response:
    app: App = core(request)
    secret = app.settings.telegram_webhook_secret
    if not secret or not app.settings.telegram_token:
        raise ApiError(404, "not_found", "the Telegram webhook is not configured")
    given = request.headers.get("x-telegram-bot-api-secret-token", "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise ApiError(403, "forbidden", "wrong or missing X-Telegram-Bot-Api-Secret-Token")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPDATE_BYTES:
        raise ApiError(413, "payload_too_large", f"update over {MAX_UPDATE_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_UPDATE_BYTES:
        raise ApiError(413, "payload_too_large", f"update over {MAX_UPDATE_BYTES} bytes")
    try:
        uid = update_id(json.loads(body))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "malformed_payload", f"not a JSON update: {exc}") from exc
    except MalformedPayload as exc:
        raise ApiError(400, "malformed_payload", str(exc)) from exc
    delivery = RawDelivery(channel="telegram", key=update_key(bot_id(app.settings.telegram_token),
                                                              uid),
                           payload=body, content_type=CONTENT_TYPE, meta={"via": "webhook"})
    try:
        await asyncio.wrap_future(sink(request).submit(delivery))
    except Exception as exc:
        log.exception("telegram update %s could not be stored", uid)
        raise ApiError(503, "unavailable", "the update could not be stored; "
                       "Telegram will deliver it again") from exc
    return Response(status_code=200)
