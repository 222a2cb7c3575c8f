"""The HTTP application: REST API v1, health and metrics.  ``create_api`` is the factory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from ticketing.entrypoints.api import errors
from ticketing.entrypoints.api.instagram import InstagramWebhook
from ticketing.entrypoints.api.instagram import router as instagram_router
from ticketing.entrypoints.api.phone import router as phone_router
from ticketing.entrypoints.api.queue import router as queue_router
from ticketing.entrypoints.api.routes import router
from ticketing.entrypoints.api.telegram import TelegramWebhook
from ticketing.entrypoints.api.search import router as search_router
from ticketing.entrypoints.api.users import router as users_router
from ticketing.app import App
from ticketing.services.metrics import render_metrics


def create_api(core: App, *, on_shutdown: Callable[[], None] | None = None) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        raw_sink = getattr(api.state, "raw_sink", None)
        if raw_sink is not None:  # the webhooks' group-commit writer
            raw_sink.close()
        if on_shutdown is not None:  # runs on SIGTERM too, before uvicorn exits
            on_shutdown()

    api = FastAPI(title="ticketing", version="1", description="Omnichannel complaint desk API",
                  lifespan=lifespan)
    api.state.core = core
    errors.install(api)
    api.include_router(router)
    api.include_router(queue_router)
    api.include_router(phone_router)
    api.include_router(instagram_router)
    api.include_router(users_router)
    api.add_middleware(TelegramWebhook, core=core, state=api.state)
    api.add_middleware(InstagramWebhook, core=core)
    api.include_router(search_router)

    @api.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/metrics", include_in_schema=False, response_class=PlainTextResponse)
    def metrics() -> str:
        text: str = core.read(render_metrics)
        return text

    return api
