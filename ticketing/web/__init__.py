"""Server-rendered staff pages (login, SLA report; the queue and ticket view to come) and the
SLA report document.  ``install`` adds the pages to the HTTP app."""

from __future__ import annotations

from fastapi import FastAPI


def install(http: FastAPI) -> None:
    from ticketing.web.routes import router

    http.include_router(router)
