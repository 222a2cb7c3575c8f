"""Server-rendered staff pages (login, the agents' queue and ticket pages, the SLA report) and
the SLA report document.  ``install`` adds the pages to the HTTP app."""

from __future__ import annotations

from fastapi import FastAPI


def install(http: FastAPI) -> None:
    from ticketing.web.agent_routes import router as agent_router
    from ticketing.web.routes import router

    http.include_router(router)
    http.include_router(agent_router)
