"""What the whole desk shares over HTTP: ``/`` (to ``/login`` or one's start page), the language
switch (``/lang``), the pages' own static files (``/static/app.js``, ``/static/app.css``:
package files, no CDN), the presence toggle and the heartbeats of open pages
(``/presence``, ``/presence/heartbeat``), and the dev mailbox (``/dev/mailbox``: the mail the
desk "sent" while no SMTP relay is configured)."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from ticketing.app import App
from ticketing.domain.errors import TicketingError
from ticketing.services import presence
from ticketing.entrypoints.web import templating
from ticketing.entrypoints.web.render import error, render_page
from ticketing.entrypoints.web.session import (HEADERS, WORK_ROLES, core, home, safe_next,
                                               same_origin, to_login, viewer)

router = APIRouter(include_in_schema=False)
STATIC = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
FOREIGN_FORM = "Formulir dari situs lain ditolak."


@router.get("/")
async def root(request: Request) -> Response:
    who = await run_in_threadpool(viewer, request)
    return RedirectResponse(home(who.role) if who else "/login", status_code=303)


@router.get("/lang")
async def switch_language(request: Request, to: str = "", next: str = "") -> Response:
    response = RedirectResponse(safe_next(next) or "/", status_code=303)
    if to in templating.LANGS:
        response.set_cookie(templating.LANG_COOKIE, to, max_age=365 * 86400, path="/",
                            samesite="lax", httponly=True)
    return response


@router.get("/static/{name}")
async def static(name: str) -> Response:
    media = STATIC.get(name)
    if media is None:
        return Response("not found", status_code=404, media_type="text/plain")
    body = files(templating.PACKAGE).joinpath("static", name).read_bytes()
    return Response(body, media_type=media,
                    headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"})


def _set_presence(app: App, user_id: int, status: str) -> None:
    with app.engine.begin() as conn:
        presence.set_status(conn, user_id, status, config=app.routing, now=app.clock.now())


@router.post("/presence")
async def set_presence(request: Request) -> Response:
    """The header's online / away / offline toggle (a form: works without script too)."""
    if not same_origin(request):
        return await error(request, None, "Ditolak", FOREIGN_FORM, 403)
    who = await run_in_threadpool(viewer, request)
    if who is None:
        return to_login(request, "/queue")
    form = await request.form()
    back = safe_next(str(form.get("next") or "")) or home(who.role)
    if who.role not in WORK_ROLES:
        return await error(request, who, "Tidak diizinkan",
                           "Status kehadiran hanya untuk agen dan supervisor.", 403)
    try:
        await run_in_threadpool(_set_presence, core(request), who.user_id,
                                str(form.get("status") or ""))
    except TicketingError as exc:
        return await error(request, who, "Isian tidak valid", str(exc), 422)
    return RedirectResponse(back, status_code=303)


def _heartbeat(app: App, user_id: int) -> str:
    with app.engine.begin() as conn:
        presence.heartbeat(conn, user_id, now=app.clock.now())
        return presence.status_of(conn, user_id)


@router.post("/presence/heartbeat")
async def heartbeat(request: Request) -> Response:
    """An open page says the agent is still there (every 30 s, from ``app.js``); answers the
    status, so a page sees a change made elsewhere (the routing tick's offline)."""
    if not same_origin(request):
        return Response('{"error":"foreign origin"}', status_code=403,
                        media_type="application/json")
    who = await run_in_threadpool(viewer, request)
    if who is None or who.role not in WORK_ROLES:
        return Response('{"error":"not signed in"}', status_code=401,
                        media_type="application/json")
    status = await run_in_threadpool(_heartbeat, core(request), who.user_id)
    return Response(f'{{"status":"{status}"}}', media_type="application/json",
                    headers={"Cache-Control": "no-store"})


@router.get("/dev/mailbox")
async def mailbox(request: Request) -> Response:
    who = await run_in_threadpool(viewer, request)
    if who is None:
        return to_login(request)
    box = core(request).dev_mailbox
    if box is None:
        return await error(request, who, "Dev mailbox mati",
                           "Relay SMTP dipasang: e-mail keluar dikirim sungguhan, tidak ada dev "
                           "mailbox.", 404)
    items = await run_in_threadpool(box.messages)
    return await render_page(request, who, "mailbox.html", title="Dev mailbox", items=items,
                             page_id="mailbox")


@router.get("/dev/mailbox/{name}")
async def mail(request: Request, name: str) -> Response:
    who = await run_in_threadpool(viewer, request)
    if who is None:
        return to_login(request)
    box = core(request).dev_mailbox
    item = await run_in_threadpool(box.get, name) if box is not None else None
    if item is None:
        return await error(request, who, "Tidak ditemukan", "Tidak ada e-mail ini.", 404)
    return await render_page(request, who, "mail.html", title=item.subject or "Dev mailbox",
                             item=item, page_id="mail")


__all__ = ["router", "HEADERS"]
