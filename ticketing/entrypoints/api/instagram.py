"""``GET|POST /channels/instagram/webhook``: Meta's webhook for Instagram.

``GET`` answers Meta's verification handshake (``TICKETING_META_VERIFY_TOKEN``).  ``POST`` checks
``X-Hub-Signature-256`` over the raw body with ``TICKETING_META_APP_SECRET`` before anything
else: a missing, malformed or wrong signature is ``403`` and nothing is stored.  A signed body is
split into one inbox row per event (``channels.instagram.events``), committed through the
group-commit sink, and only then answered ``200``; a storage failure is ``503`` so that Meta
retries, and its retries are absorbed by the rows' keys (mid, comment id).  Workers parse later.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from channels.instagram.events import split
from channels.instagram.webhook import SIGNATURE_HEADER, handshake, verify_signature
from ticketing.entrypoints.api.auth import core

log = logging.getLogger(__name__)
router = APIRouter(prefix="/channels/instagram")


@router.get("/webhook", response_class=PlainTextResponse, include_in_schema=False)
async def verify(request: Request) -> PlainTextResponse:
    app = core(request)
    challenge = handshake(dict(request.query_params), app.settings.meta_verify_token)
    if challenge is None:
        return PlainTextResponse("forbidden", status_code=403)
    return PlainTextResponse(challenge)


@router.post("/webhook", response_class=PlainTextResponse, include_in_schema=False)
async def receive(request: Request) -> PlainTextResponse:
    app = core(request)
    limit = app.settings.meta_webhook_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return PlainTextResponse("too large", status_code=413)
    body = await request.body()
    if len(body) > limit:
        return PlainTextResponse("too large", status_code=413)
    if not verify_signature(app.settings.meta_app_secret, body,
                            request.headers.get(SIGNATURE_HEADER)):
        return PlainTextResponse("forbidden", status_code=403)
    deliveries = split(body, {"source": "webhook",
                              "received_at": app.clock.now().isoformat()})
    sink = app.raw_sink
    try:
        await asyncio.gather(*(asyncio.wrap_future(sink.submit(d)) for d in deliveries))
    except Exception:
        log.exception("storing an Instagram webhook body failed")
        return PlainTextResponse("try again later", status_code=503)
    return PlainTextResponse("EVENT_RECEIVED")
