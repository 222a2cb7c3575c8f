"""REST API v1: accounts locked after failed sign-ins, and lifting a lock (supervisors and
admins; README "Security")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool

from ticketing.entrypoints.api.auth import core, require
from ticketing.entrypoints.api.params import JsonLimitRoute
from ticketing.services import logins
from ticketing.services.accounts import Principal

router = APIRouter(prefix="/api/v1", route_class=JsonLimitRoute)
Unlocker = Annotated[Principal, Depends(require(*logins.UNLOCK_ROLES))]


@router.get("/users/locked", summary="Accounts locked after failed sign-ins (supervisors)")
async def locked(request: Request, who: Unlocker) -> dict[str, Any]:
    items = await run_in_threadpool(core(request).read, logins.locked_accounts)
    return {"items": items}


@router.post("/users/{email}/unlock",
             summary="Lift an account's sign-in lock and clear its failures (supervisors)")
async def unlock(request: Request, email: str, who: Unlocker) -> dict[str, Any]:
    app = core(request)
    result: dict[str, Any] = await run_in_threadpool(
        app.write, logins.unlock, email[:320], by=who, now=app.clock.now())
    return result

