"""``GET|POST /channels/instagram/webhook``: Meta's webhook for Instagram.

``GET`` answers Meta's verification handshake (``TICKETING_META_VERIFY_TOKEN``).  ``POST`` checks
``X-Hub-Signature-256`` over the raw body with ``TICKETING_META_APP_SECRET`` before anything
else: a missing, malformed or wrong signature is ``403`` and nothing is stored.  A signed body is
split into one inbox row per event (``channels.instagram.events``), committed through the
group-commit sink, and only then answered ``200``; a storage failure is ``503`` so that Meta
retries, and its retries are absorbed by the rows' keys (mid, comment id).  Workers parse later.

The ``POST`` is served by a plain ASGI middleware in front of the API's routing (like
Telegram's webhook): every event Meta pushes goes through it, and FastAPI's request machinery
cost more per event than verifying and storing it (bench/instagram_webhook.py).
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from channels.instagram.events import split
from channels.instagram.webhook import SIGNATURE_HEADER, handshake, verify_signature
from ticketing.app import App
from ticketing.entrypoints.api.asgi_body import read_body
from ticketing.entrypoints.api.auth import core

log = logging.getLogger(__name__)
PATH = "/channels/instagram/webhook"
router = APIRouter(prefix="/channels/instagram")
_SIGNATURE = SIGNATURE_HEADER.encode()


@router.get("/webhook", response_class=PlainTextResponse, include_in_schema=False)
async def verify(request: Request) -> PlainTextResponse:
    app = core(request)
    challenge = handshake(dict(request.query_params), app.settings.meta_verify_token)
    if challenge is None:
        return PlainTextResponse("forbidden", status_code=403)
    return PlainTextResponse(challenge)


class InstagramWebhook:
    """The ``POST`` in front of ``app``; every other request goes on to ``app``."""

    def __init__(self, app: ASGIApp, core: App) -> None:
        self.app, self.core = app, core

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        app = self.core
        limit = app.settings.meta_webhook_max_bytes
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _answer(send, 413, b"too large")
            return
        body = await read_body(receive, limit)
        if body is None:
            await _answer(send, 413, b"too large")
            return
        signature = headers.get(_SIGNATURE)
        if not verify_signature(app.settings.meta_app_secret, body,
                                signature.decode("latin-1") if signature else None):
            await _answer(send, 403, b"forbidden")
            return
        deliveries = split(body, {"source": "webhook",
                                  "received_at": app.clock.now().isoformat()})
        sink = app.raw_sink
        try:
            if len(deliveries) == 1:
                await asyncio.wrap_future(sink.submit(deliveries[0]))
            else:
                await asyncio.gather(*(asyncio.wrap_future(sink.submit(d))
                                       for d in deliveries))
        except Exception:
            log.exception("storing an Instagram webhook body failed")
            await _answer(send, 503, b"try again later")
            return
        await _answer(send, 200, b"EVENT_RECEIVED")


async def _answer(send: Send, status: int, text: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(text)).encode())]})
    await send({"type": "http.response.body", "body": text})
