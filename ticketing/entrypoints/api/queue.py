"""REST API v1: the shared queue and agents' presence (README "Routing").  Handlers only
translate HTTP to the routing use cases; database work runs in the thread pool."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from ticketing.entrypoints import jobs
from ticketing.entrypoints.api.auth import core, current_principal, require
from ticketing.entrypoints.api.params import JsonLimitRoute, RowId
from ticketing.services import presence, routing, views
from ticketing.services.accounts import Principal, Role

router = APIRouter(prefix="/api/v1", route_class=JsonLimitRoute)
Viewer = Annotated[Principal, Depends(current_principal)]
Supervisor = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN))]


@router.post("/queue/claim", summary="Take the most urgent ticket I am eligible for",
             responses={200: {"description": "the ticket, now assigned to me"},
                        204: {"description": "nothing I may take is waiting"}})
async def claim(request: Request, who: Viewer) -> Any:
    app = core(request)
    got = await run_in_threadpool(jobs.claim_next, app, who.user_id)
    if got is None:
        return Response(status_code=204)
    return await run_in_threadpool(app.read, views.get_ticket, got.id, who)


@router.get("/queue", summary="Waiting tickets I could claim, most urgent first")
async def my_queue(request: Request, who: Viewer,
                   limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    app = core(request)
    result: dict[str, Any] = await run_in_threadpool(
        app.read, routing.waiting_for, who.user_id, config=app.routing, limit=limit)
    return result


@router.post("/tickets/{ticket_id}/release", summary="Put my ticket back in the shared queue")
async def release(request: Request, ticket_id: RowId, who: Viewer) -> dict[str, Any]:
    app = core(request)
    result: dict[str, Any] = await run_in_threadpool(
        app.write, routing.release, ticket_id, by=who, config=app.routing,
        now=app.clock.now())
    return result


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str = Field(description="online, away or offline")


@router.get("/agents/me", summary="My routing profile: teams, skills, capacity, load, status")
async def me(request: Request, who: Viewer) -> dict[str, Any]:
    app = core(request)
    result: dict[str, Any] = await run_in_threadpool(
        app.read, presence.agent_view, who.user_id, app.routing)
    return result


@router.post("/agents/me/status", summary="Set my presence (also a heartbeat)")
async def set_my_status(request: Request, body: StatusChange, who: Viewer) -> dict[str, Any]:
    app = core(request)
    result: dict[str, Any] = await run_in_threadpool(
        app.write, presence.set_status, who.user_id, body.status, config=app.routing,
        now=app.clock.now())
    return result


@router.post("/agents/me/heartbeat", status_code=204, summary="I am still here")
async def my_heartbeat(request: Request, who: Viewer) -> Response:
    app = core(request)
    await run_in_threadpool(app.write, presence.heartbeat, who.user_id, now=app.clock.now())
    return Response(status_code=204)


class AgentChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")
    teams: list[str] | None = None
    capacity: dict[str, int] | None = Field(default=None, description="channel → tickets")
    skills: list[str] | None = None
    languages: list[str] | None = None
    status: str | None = None


@router.patch("/agents/{email}", summary="Change an agent's routing profile (supervisors)")
async def patch_agent(request: Request, email: str, body: AgentChanges,
                      who: Supervisor) -> dict[str, Any]:
    app = core(request)
    capacity = None
    if body.capacity is not None:
        capacity = presence.parse_capacity(",".join(f"{k}={v}" for k, v in body.capacity.items()))
    result: dict[str, Any] = await run_in_threadpool(
        app.write, presence.set_agent, email=email, config=app.routing,
        by=f"user:{who.user_id}", teams=body.teams, capacity=capacity, skills=body.skills,
        languages=body.languages, status=body.status, now=app.clock.now())
    return result
