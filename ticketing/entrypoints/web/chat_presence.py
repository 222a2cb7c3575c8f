"""The web chat on the agent's ticket page: whether the citizen's chat is open and they are
typing (rendered with the page, then refreshed by a small script, ``/chat/desk.js``, from
``GET /tickets/{id}/chat-presence``), the agent's typing sent to the citizen (``POST
/tickets/{id}/chat-typing``), and the citizen's messages marked read when an agent opens the
ticket (the citizen's page then shows "dibaca")."""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from ticketing.app import App
from ticketing.domain import bounds
from ticketing.services import webchat
from ticketing.entrypoints.web.session import WORK_ROLES, core, same_origin, viewer

router = APIRouter(include_in_schema=False)
# The ticket page with a chat runs our one script (same origin only).
SCRIPT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
              "script-src 'self'; connect-src 'self'; form-action 'self'; "
              "frame-ancestors 'none'; base-uri 'none'")


def describe(p: dict[str, Any]) -> str:
    if not p["online"]:
        return "Warga tidak sedang membuka obrolan (pesan menunggu sambungan berikutnya)"
    return "Warga sedang online" + (" · sedang mengetik…" if p["typing"] else "")


def section(ticket_id: int, p: dict[str, Any] | None) -> str:
    """The presence line for the ticket page (empty for a ticket without a chat)."""
    if p is None:
        return ""
    return (f'<p id="chat-presence" data-ticket="{ticket_id}" '
            f'data-online="{"1" if p["online"] else "0"}">{escape(describe(p))}</p>'
            '<script src="/chat/desk.js" defer></script>')


def seen_by_desk(app: App, ticket_id: int) -> dict[str, Any] | None:
    """Presence for the page, and the citizen's messages so far marked read by the desk."""
    now = app.clock.now()
    with app.engine.begin() as conn:
        p = webchat.presence(conn, ticket_id, now)
        if p is not None:
            webchat.desk_read(conn, ticket_id, now)
        return p


async def _staff(request: Request) -> bool:
    who = await run_in_threadpool(viewer, request)
    return who is not None and who.role in WORK_ROLES


@router.get("/tickets/{raw_id}/chat-presence")
async def presence(request: Request, raw_id: str) -> Response:
    tid = bounds.parse_id(raw_id)
    if not await _staff(request) or tid is None:
        return JSONResponse({"error": {"code": "forbidden", "message": "sign in"}}, 403)
    app = core(request)
    p = await run_in_threadpool(app.read, webchat.presence, tid, app.clock.now())
    if p is None:
        return JSONResponse({"error": {"code": "not_found", "message": "no chat"}}, 404)
    return JSONResponse({**p, "text": describe(p)}, headers={"Cache-Control": "no-store"})


@router.post("/tickets/{raw_id}/chat-typing")
async def typing(request: Request, raw_id: str) -> Response:
    tid = bounds.parse_id(raw_id)
    if not same_origin(request) or not await _staff(request) or tid is None:
        return JSONResponse({"error": {"code": "forbidden", "message": "sign in"}}, 403)
    app = core(request)
    await run_in_threadpool(app.write, webchat.desk_typing, tid, app.clock.now())
    return Response(status_code=204)
