"""The web chat's sign-in links and the choice of where replies continue:

* ``POST /channels/webchat/link`` — ``{}`` from an open chat (its cookie): a link to the
  chat's own address; ``{"email"}`` from another device: a link to the newest chat of that
  address.  202 either way, and the same answer for an address with a chat or without; 429
  (``Retry-After``) for too many requests from one client address.
* ``GET /chat/masuk?t=TOKEN`` — a page with one button: opening a link is a POST, so a mail
  scanner that fetches the link does not use it up.  ``POST /chat/masuk`` takes the link once,
  sets the new session cookie and sends the browser to ``/chat`` (410 for a used or expired
  link; 403 when another site's page posts it: its ``Origin`` is checked like the socket's).
* ``GET|POST /channels/webchat/continue`` — where unreceived replies continue (the options
  this chat has, the citizen's choice).

Links in e-mails point at ``TICKETING_PUBLIC_URL``; without it, only a loopback host (the
development server) is used, never a ``Host`` header a client chose."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ticketing.domain.errors import InvalidInput
from ticketing.entrypoints.webchat.limits import origin_allowed
from ticketing.entrypoints.webchat.page import HEADERS
from ticketing.entrypoints.webchat.routes import (COOKIE, _fail, _ip, _session, _token, core,
                                                  json_object)
from ticketing.services import webchat_links as links

router = APIRouter()
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
SENT_BY_ADDRESS = ("Bila alamat itu pernah dipakai untuk obrolan, tautan masuk telah kami kirim "
                   "ke sana. (If that address was used for a chat, we sent a sign-in link to "
                   "it.)")


def _base(request: Request) -> str | None:
    configured = core(request).settings.public_url.rstrip("/")
    if configured:
        return configured
    if (request.url.hostname or "") in LOOPBACK or request.url.hostname == "::1":
        return str(request.base_url).rstrip("/")
    return None


def _rules(request: Request) -> links.LinkRules:
    s = core(request).settings
    return links.LinkRules(ttl=dt.timedelta(minutes=s.webchat_link_minutes),
                           per_address=s.webchat_links_per_address,
                           per_ip=s.webchat_links_per_ip, from_address=s.support_address)


@router.post("/channels/webchat/link", status_code=202,
             summary="E-mail a sign-in link that opens the chat on another device")
async def request_link(request: Request) -> Response:
    app = core(request)
    data = await json_object(request)
    if isinstance(data, Response):
        return data
    base = _base(request)
    if base is None:
        return _fail(503, "not_configured", "Tautan masuk belum bisa dikirim: alamat situs "
                     "belum diatur (sign-in links need TICKETING_PUBLIC_URL)")
    email = data.get("email")
    if email is not None and not isinstance(email, str):
        return _fail(422, "invalid_input", "email must be text")
    chat = None
    if not email:
        chat, why = await _session(request, _token(request, None))
        if chat is None:
            return _fail(401, why, "no open chat session")

    def url_for(token: str) -> str:
        return f"{base}/chat/masuk?t={quote(token)}"
    try:
        sent_to = await run_in_threadpool(app.write, links.request_link, session=chat,
                                          email=email, ip=_ip(request), now=app.clock.now(),
                                          rules=_rules(request), url_for=url_for)
    except links.TooManyRequests as exc:
        return _fail(429, "slow_down", "Terlalu banyak permintaan tautan dari alamat ini; coba "
                     f"lagi nanti (too many link requests; try again in {exc.retry_after} s)",
                     **{"Retry-After": str(exc.retry_after)})
    except InvalidInput as exc:
        return _fail(422, "invalid_input", str(exc))
    body: dict[str, Any] = {"message": SENT_BY_ADDRESS}
    if chat is not None:
        body = {"message": f"Tautan masuk dikirim ke {sent_to}. (A sign-in link was sent to "
                           f"{sent_to}.)", "to": sent_to}
    return JSONResponse(body, status_code=202, headers={"Cache-Control": "no-store"})


def _page(title: str, inner: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"""<!doctype html><html lang="id"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><link rel="stylesheet" href="/chat/chat.css"></head>
<body><header><h1>{escape(title)}</h1></header><main class="signin">{inner}</main></body></html>""",
        status_code=status, headers={**HEADERS, "Cache-Control": "no-store"})


@router.get("/chat/masuk", include_in_schema=False)
async def link_page(t: str = "") -> Response:
    if not t:
        return _page("Tautan tidak lengkap", '<p>Tautan ini tidak lengkap (the link is '
                     'incomplete). <a href="/chat">Mulai obrolan</a></p>', 400)
    return _page("Buka obrolan Anda", f"""<p>Lanjutkan obrolan Anda di perangkat ini. Perangkat
lain yang membuka obrolan ini akan keluar.</p>
<p class="hint">Continue your chat on this device; other devices that have it open are signed
out.</p>
<form method="post" action="/chat/masuk"><input type="hidden" name="t" value="{escape(t)}">
<button type="submit">Buka obrolan (open the chat)</button></form>""")


@router.post("/chat/masuk", include_in_schema=False)
async def open_link(request: Request) -> Response:
    app = core(request)
    if not origin_allowed(request.headers, app.settings.webchat_origins):
        # Another site posting a link of its own into this browser (a login CSRF).
        return _page("Tidak diizinkan", "<p>Tautan hanya dapat dibuka dari halaman kami "
                     "(the link opens only from our own page).</p>", 403)
    form = await request.form()
    token = form.get("t")
    ttl = dt.timedelta(hours=app.settings.webchat_session_hours)
    opened = await run_in_threadpool(app.write, links.open_link,
                                     token if isinstance(token, str) else "",
                                     now=app.clock.now(), ttl=ttl)
    if opened is None:
        return _page("Tautan tidak berlaku", """<p>Tautan ini sudah dipakai atau kedaluwarsa.
Minta tautan baru dari halaman obrolan.</p><p class="hint">This link was used already or has
expired; ask for a new one on the chat page.</p><p><a href="/chat">Ke halaman obrolan (to the
chat page)</a></p>""", 410)
    new_token, chat = opened
    hub = getattr(request.app.state, "webchat", None)
    if hub is not None:
        await hub.moved(chat.public_id)
    response = RedirectResponse("/chat", status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(COOKIE, new_token, max_age=int(ttl.total_seconds()), httponly=True,
                        samesite="lax", secure=request.url.scheme == "https", path="/")
    return response


@router.get("/channels/webchat/continue",
            summary="Where this chat's replies continue when the citizen has left")
async def get_continuation(request: Request, session: str | None = None) -> Response:
    chat, why = await _session(request, _token(request, session))
    if chat is None:
        return _fail(401, why, "no open chat session")
    return await _continuation(request, chat)


@router.post("/channels/webchat/continue",
             summary="Choose where this chat's replies continue (email, telegram, or null)")
async def set_continuation(request: Request, session: str | None = None) -> Response:
    app = core(request)
    chat, why = await _session(request, _token(request, session))
    if chat is None:
        return _fail(401, why, "no open chat session")
    data = await json_object(request)
    if isinstance(data, Response):
        return data
    via = data.get("via")
    try:
        await run_in_threadpool(app.write, links.choose, chat,
                                via if via is None or isinstance(via, str) else "")
    except InvalidInput as exc:
        return _fail(422, "invalid_input", str(exc)[:200])
    return await _continuation(request, chat)


async def _continuation(request: Request, chat: Any) -> Response:
    app = core(request)
    telegram = app.capabilities.get("telegram")
    found = await run_in_threadpool(app.read, links.continuation, chat.public_id,
                                    telegram_on=telegram is not None and telegram.can_send)
    return JSONResponse({"options": found["options"], "chosen": found["chosen"],
                         "via": found["via"]}, headers={"Cache-Control": "no-store"})
