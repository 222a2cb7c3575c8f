"""Bearer-token authentication and role checks for the REST API."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from ticketing.entrypoints.api.errors import ApiError
from ticketing.app import App
from ticketing.services.accounts import Principal, Role, authenticate_token


def core(request: Request) -> App:
    """The application the HTTP app serves (``server.create_http_app`` sets it)."""
    app: App = request.app.state.core
    return app


async def current_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "missing bearer token")
    principal: Principal | None = await run_in_threadpool(core(request).read,
                                                          authenticate_token, token.strip())
    if principal is None:
        raise ApiError(401, "unauthorized", "invalid or revoked token")
    return principal


def require(*roles: Role) -> Callable[[Request], object]:
    async def check(request: Request) -> Principal:
        principal = await current_principal(request)
        if principal.role not in roles:
            raise ApiError(403, "forbidden",
                           f"role {principal.role} may not do this (needs {', '.join(roles)})")
        return principal
    return check
