"""The web chat transport (issue 13): the citizen's page ``/chat``, sessions, the WebSocket and
its long-polling fallback, and the hub that pushes the desk's replies.  A driver: it owns its
transactions and uses the channel's pure parts (``channels.webchat``) and the use cases
(``services.webchat``, ``services.webchat_delivery``)."""

from __future__ import annotations

from fastapi import FastAPI

from ticketing.app import App


def install(http: FastAPI, app: App) -> None:
    """Adds the routes and the hub (``http.state.webchat``; its loop starts with the first
    connection)."""
    from ticketing.entrypoints.webchat.hub import Hub
    from ticketing.entrypoints.webchat.links import router as links_router
    from ticketing.entrypoints.webchat.page import router as page_router
    from ticketing.entrypoints.webchat.routes import router

    http.state.webchat = Hub(app)
    http.include_router(router)
    http.include_router(links_router)  # before the page's /chat/{name}
    http.include_router(page_router)


def close(http: FastAPI) -> None:
    hub = getattr(http.state, "webchat", None)
    if hub is not None:
        hub.close()
