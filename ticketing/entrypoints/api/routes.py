"""REST API v1 routes (CONTRACT.md).  Handlers only translate HTTP to use cases; blocking
database work runs in the thread pool, never on the event loop."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from ticketing.entrypoints.api.auth import core, current_principal, require
from ticketing.entrypoints.api.errors import ApiError
from ticketing.entrypoints.api.params import TOO_DEEP, AttachmentIndex, JsonLimitRoute, RowId
from ticketing.domain import bounds
from ticketing.services import (downloads, identities, merging, notifications, relations, replies, reports,
                                updates, views)
from ticketing.services.accounts import Principal, Role
from ticketing.services.ingest import NORMALIZED_JSON, Outcome, store_and_process
from ticketing.domain.raw import RawDelivery, content_key, message_key
from ticketing.store import inbox

MAX_INBOUND_BYTES = 2 * 1024 * 1024
router = APIRouter(prefix="/api/v1", route_class=JsonLimitRoute)
Viewer = Annotated[Principal, Depends(current_principal)]


@router.post("/inbound", status_code=201, summary="Ingest one normalized message")
async def inbound(request: Request,
                  who: Annotated[Principal, Depends(require(Role.ADMIN, Role.SUPERVISOR))]
                  ) -> JSONResponse:
    """The same pipeline as the live channels: the raw body is stored first, then processed.
    A malformed message is quarantined with its reason and answered 422."""
    body = await request.body()
    if len(body) > MAX_INBOUND_BYTES:
        raise ApiError(413, "payload_too_large", f"body over {MAX_INBOUND_BYTES} bytes")
    app = core(request)
    meta = {"via": "api", "user": who.user_id}
    if bounds.json_too_deep(body):
        # Kept, as any malformed inbound is, with the reason; the parser never sees it.
        raw = RawDelivery(channel="api", key=content_key("api", body), payload=body,
                          content_type=NORMALIZED_JSON, meta=meta)
        [stored] = await run_in_threadpool(app.write, inbox.put_many, [raw], app.clock.now(),
                                           status="quarantined", error=TOO_DEEP)
        raise ApiError(422, "malformed_payload", f"{TOO_DEEP} (quarantined as inbox row "
                                                 f"{stored.id})")
    key = None
    try:
        data = json.loads(body)
        if isinstance(data, dict) and isinstance(data.get("channel"), str) and \
                isinstance(data.get("external_id"), (str, int)):
            key = message_key(data["channel"], data["external_id"])
    except (ValueError, UnicodeDecodeError):
        pass
    raw = RawDelivery(channel="api", key=key or content_key("api", body), payload=body,
                      content_type=NORMALIZED_JSON, meta=meta)
    outcome: Outcome = (await run_in_threadpool(
        store_and_process, app.uow, [raw], policy=app.ingest_policy, clock=app.clock))[0]
    if outcome.outcome in ("rejected", "failed"):
        raise ApiError(422, "malformed_payload",
                       f"{outcome.error} (quarantined as inbox row {outcome.raw_id})")
    payload = {"ticket_id": outcome.ticket_id, "message_id": outcome.message_id,
               "customer_id": outcome.customer_id, "outcome": outcome.outcome}
    return JSONResponse(payload, status_code=201 if outcome.outcome in ("created", "appended")
                        else 200)


@router.get("/tickets", summary="List tickets, newest first")
async def list_tickets(request: Request, who: Viewer, status: str | None = None,
                       channel: str | None = None, assignee: str | None = None,
                       queue: str | None = None, q: str | None = None,
                       limit: Annotated[int, Query(ge=1, le=views.MAX_LIMIT)] = 50,
                       cursor: RowId | None = None) -> dict[str, Any]:
    return await run_in_threadpool(
        core(request).read, views.list_tickets, who, status=status, channel=channel,
        assignee=assignee, queue=queue, text=q, limit=limit, cursor=cursor)


@router.get("/tickets/{ticket_id}", summary="One ticket with its messages across channels")
async def get_ticket(request: Request, ticket_id: RowId, who: Viewer) -> dict[str, Any]:
    app = core(request)
    return await run_in_threadpool(
        app.read, views.get_ticket, ticket_id, who, capabilities=app.capabilities,
        now=app.clock.now())


@router.get("/tickets/{ticket_id}/reply-options",
            summary="The channels a reply can go out on now (possible or not, with the reason)")
async def reply_options(request: Request, ticket_id: int, who: Viewer) -> dict[str, Any]:
    app = core(request)
    return await run_in_threadpool(
        app.read, replies.reply_channels, ticket_id, capabilities=app.capabilities,
        now=app.clock.now())


@router.get("/customers/{customer_id}", summary="A citizen with all linked identities")
async def get_customer(request: Request, customer_id: RowId, who: Viewer) -> dict[str, Any]:
    return await run_in_threadpool(
        core(request).read, views.get_customer, customer_id, who)


class TicketChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str | None = None
    priority: str | None = None
    topic: str | None = None
    assignee: str | None = Field(default=None, description="user e-mail, or null to release")


@router.patch("/tickets/{ticket_id}", summary="Change status, priority, topic or assignee")
async def patch_ticket(request: Request, ticket_id: RowId, changes: TicketChanges,
                       who: Viewer) -> dict[str, Any]:
    app = core(request)
    fields = changes.model_dump(exclude_unset=True)
    await run_in_threadpool(app.write, updates.update_ticket, ticket_id, fields, by=who,
                            topics=app.evidence_policy.classifier.topics, now=app.clock.now(),
                            routing=app.routing)
    return await run_in_threadpool(
        app.read, views.get_ticket, ticket_id, who)


class MergeRequest(BaseModel):
    into: RowId


@router.post("/tickets/{ticket_id}/merge",
             summary="Merge this ticket into another one (supervisors and admins)")
async def merge(request: Request, ticket_id: RowId, body: MergeRequest,
                who: Viewer) -> dict[str, Any]:
    app = core(request)
    return await run_in_threadpool(
        app.write, merging.merge_tickets, ticket_id, body.into, by=who, now=app.clock.now())


@router.post("/tickets/{ticket_id}/unmerge",
             summary="Undo the merge of this ticket (supervisors and admins)")
async def unmerge(request: Request, ticket_id: RowId, who: Viewer) -> dict[str, Any]:
    app = core(request)
    return await run_in_threadpool(
        app.write, merging.unmerge_ticket, ticket_id, by=who, now=app.clock.now())


@router.post("/messages/{message_id}/move-back",
             summary="Undo the move of a message re-decided when an earlier one arrived late "
                     "(supervisors and admins)")
async def move_back(request: Request, message_id: RowId, who: Viewer) -> dict[str, Any]:
    app = core(request)
    return await run_in_threadpool(
        app.write, merging.move_back, message_id, by=who, now=app.clock.now())


@router.post("/identities/{identity_id}/verify",
             summary="Confirm that an address linked only by a written identifier is the "
                     "citizen's, after a staff check (supervisors and admins)")
async def verify_identity(request: Request, identity_id: RowId, who: Viewer) -> dict[str, Any]:
    app = core(request)
    note = None
    with contextlib.suppress(ValueError, UnicodeDecodeError):
        body = json.loads(await request.body() or b"{}")
        note = str(body.get("note")) if isinstance(body, dict) and body.get("note") else None
    return await run_in_threadpool(app.write, identities.verify_identity, identity_id, by=who,
                                   now=app.clock.now(), note=note)


@router.post("/customers/{customer_id}/unmerge",
             summary="Undo the merge of this customer into another (supervisors)")
async def unmerge_customer(
        request: Request, customer_id: RowId,
        who: Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN))]
) -> dict[str, Any]:
    app = core(request)
    return await run_in_threadpool(
        app.write, merging.unmerge_customer, customer_id, by=who, now=app.clock.now())


@router.get("/tickets/{ticket_id}/related",
            summary="Suggested duplicates, possible same citizen, and the incident cluster")
async def related(request: Request, ticket_id: RowId, who: Viewer) -> dict[str, Any]:
    return await run_in_threadpool(
        core(request).read, relations.related_tickets, ticket_id, who)


@router.get("/incidents", summary="Recent incident clusters (supervisors)")
async def incidents(request: Request,
                    who: Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN))],
                    limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[dict[str, Any]]:
    return await run_in_threadpool(
        core(request).read, relations.list_incidents, limit=limit)


class ReplyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=100_000)
    status: str | None = Field(default=None, description="e.g. pending_customer or resolved")
    channel: str | None = Field(default=None, max_length=20, description=(
        "a channel the citizen wrote on (see reply-options); default: the channel of their "
        "last message on this ticket"))
    public: bool = Field(default=False, description=(
        "answer in public where the channel has such a place (an Instagram comment thread); "
        "default: privately (a comment gets a private reply by DM)"))


class CallBackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=100_000, description="what was said")
    reached: bool = Field(description="the call reached the citizen (a response) or not")
    status: str | None = Field(default=None, description="e.g. pending_customer or resolved")


class NoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=100_000)


@router.post("/tickets/{ticket_id}/replies", status_code=201,
             summary="Reply to the citizen (via the outbox); 409 channel_unavailable if the "
                     "channel cannot deliver it now, with the possible channels")
async def reply(request: Request, ticket_id: RowId, body: ReplyRequest,
                who: Viewer) -> dict[str, Any]:
    app = core(request)
    result: dict[str, Any] = await run_in_threadpool(
        app.write, replies.reply_to_ticket, ticket_id, body.body, by=who, now=app.clock.now(),
        from_address=app.settings.support_address, capabilities=app.capabilities,
        channel=body.channel, status=body.status, public=body.public)
    return result


@router.post("/tickets/{ticket_id}/callbacks", status_code=201,
             summary="Log a call back to the citizen (a reached call counts as a response)")
async def call_back(request: Request, ticket_id: int, body: CallBackRequest,
                    who: Viewer) -> dict[str, Any]:
    app = core(request)
    result: dict[str, Any] = await run_in_threadpool(
        app.write, replies.log_call_back, ticket_id, body.body, reached=body.reached, by=who,
        now=app.clock.now(), capabilities=app.capabilities, status=body.status)
    return result


@router.post("/tickets/{ticket_id}/notes", status_code=201, summary="Add an internal note")
async def note(request: Request, ticket_id: RowId, body: NoteRequest,
               who: Viewer) -> dict[str, Any]:
    app = core(request)
    result: dict[str, Any] = await run_in_threadpool(
        app.write, replies.add_note, ticket_id, body.body, by=who, now=app.clock.now())
    return result


@router.get("/notifications", summary="The caller's own notifications, newest first")
async def list_notifications(
        request: Request, who: Viewer, unread: bool = False,
        limit: Annotated[int, Query(ge=1, le=notifications.MAX_LIMIT)] = 50,
        cursor: RowId | None = None) -> dict[str, Any]:
    return await run_in_threadpool(
        core(request).read, notifications.list_notifications, who, unread=unread,
        limit=limit, cursor=cursor)


@router.post("/notifications/read-all", summary="Mark all of the caller's notifications read")
async def read_all_notifications(request: Request, who: Viewer) -> dict[str, Any]:
    app = core(request)
    result: dict[str, Any] = await run_in_threadpool(
        app.write, notifications.mark_all_read, who, app.clock.now())
    return result


@router.post("/notifications/{notification_id}/read",
             summary="Mark one of the caller's notifications read (404 for anyone else's)")
async def read_notification(request: Request, notification_id: RowId,
                            who: Viewer) -> dict[str, Any]:
    app = core(request)
    result: dict[str, Any] = await run_in_threadpool(
        app.write, notifications.mark_read, who, notification_id, app.clock.now())
    return result


@router.get("/messages/{message_id}/attachments/{index}",
            summary="Download an attachment (always as a download, never rendered inline)")
async def attachment(request: Request, message_id: RowId, index: AttachmentIndex,
                     who: Viewer) -> FileResponse:
    app = core(request)
    got: downloads.Download = await run_in_threadpool(
        app.read, downloads.attachment_download, app.attachment_store, message_id, index)
    return FileResponse(got.path, media_type=got.media_type, filename=got.filename,
                        content_disposition_type="attachment", headers=dict(downloads.HEADERS))


@router.get("/reports/sla", summary="SLA report data (supervisors)")
async def sla_report(
        request: Request,
        who: Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN))],
        start: Annotated[dt.date, Query(alias="from")], end: Annotated[dt.date, Query(alias="to")],
        group_by: str = "channel", format: str = "json") -> Any:
    app = core(request)
    data: dict[str, Any] = await run_in_threadpool(
        app.read, reports.sla_report, start=start, end=end, group_by=group_by,
        now=app.clock.now())
    if format == "csv":
        return PlainTextResponse(reports.to_csv(data), media_type="text/csv")
    if format != "json":
        raise ApiError(422, "invalid_input", "format must be json or csv")
    return JSONResponse(json.loads(json.dumps(data, default=str)))
