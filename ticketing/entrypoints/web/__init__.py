"""Server-rendered staff pages (login, the agents' queue and ticket pages, the SLA report) and
the SLA report document.  ``install`` adds the pages to the HTTP app.

An unexpected error on one of these pages answers an HTML error page (no stack trace, no
exception text; the error is logged); anywhere else the handler installed before (the API's
JSON error body) still answers."""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

log = logging.getLogger(__name__)
CRASH_TITLE = "Terjadi kesalahan"
CRASH_MESSAGE = ("Maaf, terjadi kesalahan di server. Kesalahan ini sudah dicatat; coba lagi "
                 "sebentar lagi.")
MISSING_TITLE = "Halaman tidak ditemukan"
MISSING_MESSAGE = "Halaman ini tidak ada. Periksa alamatnya, atau kembali ke antrean."
# Paths whose callers are programs: their errors stay the API's JSON body.
_MACHINE_PATHS = ("/api/", "/channels/", "/events", "/healthz", "/static/")


def install(http: FastAPI) -> None:
    from ticketing.entrypoints.web.render import gettext, page
    from ticketing.entrypoints.web.agent_routes import router as agent_router
    from ticketing.entrypoints.web.chat_presence import router as chat_router
    from ticketing.entrypoints.web.customer_routes import router as customer_router
    from ticketing.entrypoints.web.live import router as live_router
    from ticketing.entrypoints.web.desk_routes import router as desk_router
    from ticketing.entrypoints.web.queue_routes import router as queue_router
    from ticketing.entrypoints.web.routes import router
    from ticketing.entrypoints.web.search_routes import router as search_router

    http.include_router(router)
    http.include_router(agent_router)
    http.include_router(chat_router)
    http.include_router(search_router)
    http.include_router(live_router)
    _stop_live_events_on_shutdown(http)
    http.include_router(desk_router)
    http.include_router(queue_router)
    http.include_router(customer_router)
    ours = {getattr(r, "endpoint", None)
            for r in (*router.routes, *agent_router.routes, *search_router.routes,
                      *desk_router.routes, *queue_router.routes, *customer_router.routes)}
    before = http.exception_handlers.get(Exception)

    async def crash(request: Request, exc: Exception) -> Response:
        if request.scope.get("endpoint") in ours:
            log.error("unhandled error on %s", request.url.path,
                      exc_info=(type(exc), exc, exc.__traceback__))
            _ = gettext(request)
            return page(request, None, "error.html", status=500, title=_(CRASH_TITLE),
                        message=_(CRASH_MESSAGE))
        if before is not None:
            answer = before(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        return PlainTextResponse("Internal Server Error", status_code=500)

    http.add_exception_handler(Exception, crash)
    _html_not_found_for_browsers(http)


def _html_not_found_for_browsers(http: FastAPI) -> None:
    """A browser that opens an address no page has (a mistyped link) gets an HTML page in
    its language, not the API's JSON error body; programs still get the JSON."""
    from starlette.exceptions import HTTPException

    from fastapi.concurrency import run_in_threadpool

    from ticketing.entrypoints.web.render import gettext, render_page
    from ticketing.entrypoints.web.session import viewer

    before = http.exception_handlers.get(HTTPException)

    async def missing(request: Request, exc: Exception) -> Response:
        if (isinstance(exc, HTTPException) and exc.status_code == 404
                and "text/html" in request.headers.get("accept", "")
                and not request.url.path.startswith(_MACHINE_PATHS)):
            _ = gettext(request)
            try:  # signed in: the header and a way back to the queue
                who = await run_in_threadpool(viewer, request)
            except Exception:  # noqa: BLE001 - a page that does not exist needs no one
                who = None
            return await render_page(request, who, "error.html", status=404,
                                     title=_(MISSING_TITLE), message=_(MISSING_MESSAGE))
        if before is None:
            return PlainTextResponse(str(getattr(exc, "detail", "")),
                                     status_code=getattr(exc, "status_code", 500))
        answer = before(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    http.add_exception_handler(HTTPException, missing)


def _stop_live_events_on_shutdown(http: FastAPI) -> None:
    inner = http.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        async with inner(app) as state:
            yield state
        hub = getattr(http.state, "live_hub", None)
        if hub is not None:
            hub.stop()

    http.router.lifespan_context = lifespan
