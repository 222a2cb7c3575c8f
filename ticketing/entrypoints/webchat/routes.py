"""The web chat's doors: ``POST /channels/webchat/sessions`` (the pre-chat form → a session
token, also an HttpOnly cookie), ``GET /channels/webchat/session`` (the cookie's session, for
the page after a reload), the WebSocket ``/channels/webchat/ws``, the long-polling fallback
(``GET /channels/webchat/poll``, ``POST /channels/webchat/messages``) and attachment uploads
(``POST /channels/webchat/uploads``).  Errors are the contract's ``{"error": {"code",
"message"}}``; a frame refused on the socket is an ``error`` frame and the socket stays open."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile, WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from starlette.websockets import WebSocketDisconnect, WebSocketState

from channels.webchat.protocol import encode, error
from ticketing.app import App
from ticketing.entrypoints.webchat.hub import CLOSE_SESSION, Hub
from ticketing.entrypoints.webchat.limits import origin_allowed
from ticketing.entrypoints.webchat.uploads import sniff
from ticketing.services import webchat as chats
from ticketing.services import webchat_delivery as replies
from ticketing.services.webchat import BrakeApplied, ChatSession

router = APIRouter(prefix="/channels/webchat")
COOKIE = "webchat_session"
POLL_SECONDS = 25.0


def core(request: Request | WebSocket) -> App:
    app: App = request.app.state.core
    return app


def hub_of(request: Request | WebSocket) -> Hub:
    hub: Hub = request.app.state.webchat
    return hub


def _fail(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers=headers or None)


async def json_object(request: Request) -> dict[str, Any] | Response:
    """The request's body as a JSON object (an empty body is ``{}``), or the 422 to answer."""
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        return _fail(422, "invalid_input", "the body is not JSON")
    if not isinstance(data, dict):
        return _fail(422, "invalid_input", "the body is a JSON object")
    return data


def _ip(request: Request | WebSocket) -> str:
    return request.client.host if request.client else "unknown"


def _token(request: Request | WebSocket, given: str | None) -> str:
    return given or request.cookies.get(COOKIE) or ""


async def _session(request: Request | WebSocket, token: str) -> tuple[ChatSession | None, str]:
    app = core(request)
    return await run_in_threadpool(app.read, chats.find_session, token, app.clock.now())


@router.post("/sessions", status_code=201, summary="Start a web chat session")
async def create_session(request: Request) -> Response:
    """``{"name", "email"?, "phone"?, "nik"?, "topic"?, "language"?}`` → 201 ``{"session":
    TOKEN, "session_id", "expires_at", "ws"}`` and the HttpOnly cookie.  A burst of new sessions
    from one address is braked: 429 with ``Retry-After``."""
    app = core(request)
    data = await json_object(request)
    if isinstance(data, Response):
        return data
    form = chats.check_form(data, app.evidence_policy.classifier)
    s = app.settings
    ttl = dt.timedelta(hours=s.webchat_session_hours)
    try:
        token, chat = await run_in_threadpool(
            app.write, chats.open_session, form, ip=_ip(request), now=app.clock.now(), ttl=ttl,
            burst=s.webchat_sessions_per_ip)
    except BrakeApplied as exc:
        return _fail(429, "slow_down", "Terlalu banyak obrolan baru dari alamat ini; coba lagi "
                     f"dalam {exc.retry_after} detik (too many new chats from this address; "
                     f"try again in {exc.retry_after} s)", **{"Retry-After": str(exc.retry_after)})
    body = {"session": token, "session_id": chat.public_id,
            "expires_at": chat.expires_at.isoformat(), "ws": f"{router.prefix}/ws",
            "poll": f"{router.prefix}/poll", "language": chat.language}
    response = JSONResponse(body, status_code=201, headers={"Cache-Control": "no-store"})
    response.set_cookie(COOKIE, token, max_age=int(ttl.total_seconds()), httponly=True,
                        samesite="lax", secure=request.url.scheme == "https", path="/")
    return response


@router.get("/topics", summary="The topics a citizen may choose in the pre-chat form")
async def topics(request: Request) -> Response:
    classifier = core(request).evidence_policy.classifier
    return JSONResponse({"topics": [{"id": t, "label": classifier.label(t)}
                                    for t in classifier.topics]},
                        headers={"Cache-Control": "public, max-age=300"})


@router.get("/session", summary="The current web chat session (by its cookie)")
async def current_session(request: Request, session: str | None = None) -> Response:
    chat, why = await _session(request, _token(request, session))
    if chat is None:
        return _fail(401, why, "no open chat session")
    return JSONResponse({"session_id": chat.public_id, "name": chat.name,
                         "language": chat.language, "ticket_id": chat.ticket_id,
                         "email": bool(chat.email), "ended": chat.ended_at is not None},
                        headers={"Cache-Control": "no-store"})


@router.websocket("/ws")
async def socket(websocket: WebSocket, session: str | None = None) -> None:
    app, hub = core(websocket), hub_of(websocket)
    if not origin_allowed(websocket.headers, app.settings.webchat_origins):
        await websocket.close(code=1008)  # before accept: the handshake is refused (403)
        return
    chat, why = await _session(websocket, _token(websocket, session))
    await websocket.accept()
    if chat is None:
        await websocket.send_text(encode(error(why)))
        await websocket.close(code=CLOSE_SESSION, reason=why)
        return

    async def send(frame: dict[str, Any]) -> bool:
        if websocket.client_state is not WebSocketState.CONNECTED:
            return False
        try:
            await websocket.send_text(encode(frame))
            return True
        except Exception:  # the citizen's connection went away: not delivered
            return False

    async def close(code: int, reason: str) -> None:
        if websocket.client_state is WebSocketState.CONNECTED:
            try:
                await websocket.close(code=code, reason=reason)
            except Exception:  # already going away
                pass

    ip = _ip(websocket)
    hub.attach(chat, send, close)
    try:
        await hub.welcome(chat, send)
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            data = message.get("text")
            if data is None:
                data = message.get("bytes") or b""
            await hub.handle(chat.public_id, data, ip, send)
    except WebSocketDisconnect:
        pass
    finally:
        hub.detach(chat.public_id, send)


@router.post("/messages", summary="Send frames without a WebSocket (long-polling fallback)")
async def post_frame(request: Request, session: str | None = None) -> Response:
    """One citizen frame (the WebSocket's JSON) → ``{"frames": [...]}``, what the socket would
    have answered (the ``ack`` after the commit, or an ``error``)."""
    chat, why = await _session(request, _token(request, session))
    if chat is None:
        return _fail(401, why, "no open chat session")
    hub = hub_of(request)
    hub.poll_event(chat)
    out: list[dict[str, Any]] = []

    async def collect(frame: dict[str, Any]) -> bool:
        out.append(frame)
        return True
    body = await request.body()
    await hub.handle(chat.public_id, body, _ip(request), collect)
    return JSONResponse({"frames": out}, headers={"Cache-Control": "no-store"})


@router.get("/poll", summary="Wait for the desk's replies (long-polling fallback)")
async def poll(request: Request, session: str | None = None, first: bool = False,
               wait: float = POLL_SECONDS) -> Response:
    """``first=1``: the history and queue frames at once.  Otherwise waits up to ``wait``
    seconds (at most 25) for replies addressed to the session (and the ``stored`` and queue
    frames of its messages); a reply it returns is settled as delivered (it reached the
    citizen's client)."""
    app = core(request)
    chat, why = await _session(request, _token(request, session))
    if chat is None:
        return _fail(401, why, "no open chat session")
    hub = hub_of(request)
    frames: list[dict[str, Any]] = []

    async def collect(frame: dict[str, Any]) -> bool:
        frames.append(frame)
        return True
    if first:
        await hub.welcome(chat, collect)
        return JSONResponse({"frames": frames}, headers={"Cache-Control": "no-store"})
    event = hub.poll_event(chat)
    deadline = asyncio.get_running_loop().time() + max(0.0, min(wait, POLL_SECONDS))
    try:
        while True:
            event.clear()
            waiting = await run_in_threadpool(app.read, replies.waiting, chat.public_id)
            if waiting:
                await run_in_threadpool(app.write, replies.delivered, waiting, app.clock.now())
            frames = hub.take_frames(chat.public_id) + [w.frame for w in waiting]
            if frames:
                break
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0 or await request.is_disconnected():
                break
            try:
                await asyncio.wait_for(event.wait(), timeout=min(left, 5.0))
            except TimeoutError:
                pass
    finally:
        if not hub.sockets.get(chat.public_id):
            hub.polls.pop(chat.public_id, None)
            hub.poll_frames.pop(chat.public_id, None)
    return JSONResponse({"frames": frames}, headers={"Cache-Control": "no-store"})


@router.post("/uploads", status_code=201, summary="Attach an image or a PDF to the next message")
async def upload(request: Request,
                 file: Annotated[UploadFile, File(description="PNG, JPEG, GIF, WebP or PDF")],
                 session: str | None = None) -> Response:
    """Checked by size (``TICKETING_WEBCHAT_MAX_UPLOAD_BYTES``, 413) and by its bytes, not its
    name (415); stored by digest.  The returned ``upload`` id goes into the next ``message``
    frame's ``attachments``."""
    app = core(request)
    chat, why = await _session(request, _token(request, session))
    if chat is None:
        return _fail(401, why, "no open chat session")
    limit = app.settings.webchat_max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + 16 * 1024:
        return _fail(413, "payload_too_large", f"Berkas terlalu besar (maks {limit} byte); "
                     f"file too large (at most {limit} bytes)")
    data = await file.read(limit + 1)
    if len(data) > limit:
        return _fail(413, "payload_too_large", f"Berkas terlalu besar (maks {limit} byte); "
                     f"file too large (at most {limit} bytes)")
    kind = sniff(data)
    if kind is None:
        return _fail(415, "unsupported_type", "Hanya gambar (PNG, JPEG, GIF, WebP) atau PDF; "
                     "only images (PNG, JPEG, GIF, WebP) or PDF")
    sha = hashlib.sha256(data).hexdigest()
    await run_in_threadpool(app.attachment_store.put, sha, data)
    name = "".join(c for c in (file.filename or "lampiran") if c.isprintable())[-120:]
    meta = {"sha256": sha, "filename": name or "lampiran", "content_type": kind,
            "size": len(data)}
    hub_of(request).uploads[(chat.public_id, sha)] = meta
    return JSONResponse({"upload": sha, **{k: v for k, v in meta.items() if k != "sha256"}},
                        status_code=201)

