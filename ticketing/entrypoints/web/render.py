"""Rendering a staff page from its template with what every page shares: the viewer, the
language (``lang`` cookie), the presence toggle for agents and supervisors, whether the dev
mailbox is on, and the path to come back to after switching language or presence.

``page`` reads the database (the viewer's presence): call it through ``render_page`` (the
thread pool), never on the event loop."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from ticketing.services import presence
from ticketing.services.accounts import Principal
from ticketing.entrypoints.web import templating
from ticketing.entrypoints.web.session import WORK_ROLES, core, home, html


def here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def context(request: Request, who: Principal | None) -> dict[str, Any]:
    app = core(request)
    status = None
    if who is not None and who.role in WORK_ROLES:
        status = app.read(presence.status_of, who.user_id)
    return {"who": who, "dev_mailbox": app.dev_mailbox is not None, "presence": status,
            "here": here(request), "home": home(who.role) if who else "/login"}


def page(request: Request, who: Principal | None, template: str, *, status: int = 200,
         **values: Any) -> HTMLResponse:
    lang = templating.language(request)
    body = templating.render(lang, template, **context(request, who), **values)
    return html(body, status)


async def render_page(request: Request, who: Principal | None, template: str, *,
                      status: int = 200, **values: Any) -> HTMLResponse:
    return await run_in_threadpool(page, request, who, template, status=status, **values)


def gettext(request: Request) -> Any:
    return templating.gettext_for(templating.language(request))


async def error(request: Request, who: Principal | None, title: str, message: str,
                status: int) -> HTMLResponse:
    _ = gettext(request)
    return await render_page(request, who, "error.html", status=status, title=_(title),
                             message=_(message))
