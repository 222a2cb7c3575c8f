"""``POST /channels/phone/transcripts``: a call-transcript file upload (multipart).

Authenticated like ``POST /api/v1/inbound`` (an admin's or supervisor's bearer token: the
uploader is a call-centre system or a supervisor, never a citizen).  The untouched file is stored
in the raw inbox and run through the pipeline at once, as the CLI does; the same bytes again are
answered ``duplicate``, unless they were quarantined (e.g. no caller number): then the upload is
a retry with its corrected metadata (``caller``, ``started_at``) — the quarantined row is
requeued (audited, ``services.requeue``) and processed at once, answered like a first upload
with ``"requeued": true``.  Over ``TICKETING_TRANSCRIPT_MAX_BYTES`` is ``413`` (checked on
Content-Length first, then on the bytes actually read); a transcript the parser cannot read is
quarantined and answered ``422`` with the inbox row's id.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from channels.phone.intake import transcript_delivery
from ticketing.domain.zones import WIB
from ticketing.entrypoints.api.auth import core, require
from ticketing.entrypoints.api.errors import ApiError
from ticketing.domain import bounds
from ticketing.domain.errors import InvalidInput
from ticketing.domain.identity import normalize_phone
from ticketing.app import App
from ticketing.services.accounts import Principal, Role
from ticketing.domain.raw import RawDelivery
from ticketing.services.ingest import Outcome, process_ids, store_and_process
from ticketing.services.requeue import Requeue, requeue

router = APIRouter(prefix="/channels/phone")
_MULTIPART_SLACK = 64 * 1024  # boundaries and the form fields around the file


def _started(text: str | None) -> dt.datetime | None:
    if not text or not text.strip():
        return None
    try:
        when = bounds.check_instant(
            dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00")), "started_at")
    except InvalidInput as exc:
        raise ApiError(422, "invalid_input", str(exc)) from exc
    except ValueError as exc:
        raise ApiError(422, "invalid_input", f"started_at is not ISO 8601: {text[:40]!r}") from exc
    return (when if when.tzinfo else when.replace(tzinfo=WIB)).astimezone(dt.UTC)


async def _read_limited(upload: UploadFile, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(256 * 1024):
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "payload_too_large", f"transcript over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/transcripts", status_code=201, summary="Upload one call-transcript file")
async def upload_transcript(
        request: Request,
        who: Annotated[Principal, Depends(require(Role.ADMIN, Role.SUPERVISOR))],
        file: Annotated[UploadFile, File(description="plain text, WebVTT, SRT, AWS Transcribe, "
                                                     "Call Analytics or Contact Lens JSON")],
        caller: Annotated[str | None, Form(description="the caller's phone number")] = None,
        started_at: Annotated[str | None, Form(description="call start, ISO 8601 "
                                                           "(no offset: WIB)")] = None,
        agent_speaker: Annotated[str | None, Form(
            description="the speaker label that is the desk's agent (e.g. spk_1), when the "
                        "file does not say")] = None,
) -> JSONResponse:
    """One call per file.  201 ``{"inbox_id", "outcome": "created|appended", "ticket_id",
    "message_id", "customer_id"}``; 200 with ``duplicate`` for a file already received."""
    app = core(request)
    limit = app.settings.transcript_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _MULTIPART_SLACK:
        raise ApiError(413, "payload_too_large", f"transcript over {limit} bytes")
    phone = None
    if caller and caller.strip():
        phone = normalize_phone(caller)
        if phone is None:
            raise ApiError(422, "invalid_input", f"caller is not a phone number: {caller[:40]!r}")
    started = _started(started_at)
    data = await _read_limited(file, limit)
    delivery = transcript_delivery(data, filename=file.filename, caller=phone, started_at=started,
                                   received_at=app.clock.now(), source="upload")
    speaker = {"agent_speaker": agent_speaker.strip()[:200]} \
        if agent_speaker and agent_speaker.strip() else {}
    payload = dataclasses.replace(delivery, meta={**delivery.meta, "user": who.user_id,
                                                  **speaker})
    corrected = {"caller": phone, "started_at": started.isoformat() if started else None,
                 "user": who.user_id, **speaker}
    outcome, requeued = await run_in_threadpool(_store_or_retry, app, payload, corrected, who)
    if outcome.outcome in ("rejected", "failed"):
        reason = outcome.error or "quarantined earlier"
        raise ApiError(422, "malformed_payload",
                       f"{reason} (quarantined as inbox row {outcome.raw_id})")
    body = {"inbox_id": outcome.raw_id, "outcome": outcome.outcome,
            "ticket_id": outcome.ticket_id, "message_id": outcome.message_id,
            "customer_id": outcome.customer_id, "requeued": requeued}
    return JSONResponse(body, status_code=201 if outcome.outcome in ("created", "appended")
                        else 200)


def _store_or_retry(app: App, payload: RawDelivery, corrected: Mapping[str, object],
                    who: Principal) -> tuple[Outcome, bool]:
    """A file quarantined before is retried with this upload's metadata (its row requeued, then
    processed now); anything else is stored and processed as new (or answered duplicate)."""
    retried = app.write(requeue, Requeue(key=payload.key, meta=corrected),
                        actor=f"user:{who.user_id}", now=app.clock.now())
    if retried:
        [outcome] = process_ids(app.uow, retried, policy=app.ingest_policy, clock=app.clock)
        return outcome, True
    return store_and_process(app.uow, [payload], policy=app.ingest_policy,
                             clock=app.clock)[0], False
