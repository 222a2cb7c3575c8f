"""The agents' pages over HTTP: ``/queue`` (claim next, what waits, my tickets) and
``/tickets/{id}`` (with its related tickets) and its form posts (reply, call back, note,
status, topic, release; merge and unmerge for supervisors), and its attachments as downloads,
for agents and supervisors.

Handlers only translate HTTP to the use cases (``routing``, ``views``, ``relations``,
``replies``, ``updates``, ``merging``, ``downloads``); database work runs in the thread pool.
A form post must come from our own origin and carry the session cookie; it answers with a
redirect back to the page (a ``done`` flag says what happened), or, when a use case refuses (a
conflict, invalid input, a role that may not), with the page again, the refusal as a readable
message and the text typed kept.  Merging and unmerging are for supervisors and admins, a rule the use
case (``services.merging``) enforces for the pages and the API alike."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from ticketing.app import App
from ticketing.domain import bounds, canned, reply_files
from ticketing.domain.errors import (Conflict, InvalidInput, NotFound, PermissionDenied,
                                     TicketingError)
from ticketing.domain.lifecycle import ACTIVE_STATUSES
from ticketing.services import downloads, merging, relations, replies, routing, updates, views
from ticketing.services.accounts import Principal
from ticketing.store import workqueue
from markupsafe import Markup
from ticketing.entrypoints import jobs
from ticketing.entrypoints.web import chat_presence, ticket_view, viewing
from ticketing.entrypoints.web.render import error as error_page, render_page
from ticketing.entrypoints.web.session import (WORK_ROLES, core, same_origin, to_login,
                                   viewer)

router = APIRouter(include_in_schema=False)
Action = Callable[[App, int, Principal, Mapping[str, str]], object]

DONE = {"claimed": "Tiket ini sekarang milik Anda.",
        "reply": "Balasan disimpan dan akan dikirim ke warga.",
        "callback": "Telepon balik dicatat.",
        "note": "Catatan internal disimpan.", "status": "Status tiket diubah.",
        "release": "Tiket dikembalikan ke antrean.", "topic": "Topik tiket dikoreksi.",
        "merged": "Tiket digabung ke tiket ini.", "unmerged": "Penggabungan dibatalkan.",
        "customer_merged": "Data warga digabung; bisa dibatalkan di panel Warga.",
        "customer_unmerged": "Penggabungan data warga dibatalkan."}
NOTHING_TO_CLAIM = "Tidak ada tiket yang bisa Anda ambil saat ini. Coba lagi nanti."
# A refusal's page status and a lead-in for the use case's own (English) message.
REFUSALS: tuple[tuple[type[TicketingError], int, str], ...] = (
    (reply_files.FileTooLarge, 413, "Lampiran terlalu besar"),
    (reply_files.FileTypeRefused, 415, "Jenis lampiran tidak diterima"),
    (PermissionDenied, 403, "Tidak diizinkan"), (NotFound, 404, "Tidak ditemukan"),
    (Conflict, 409, "Tidak bisa dilakukan"), (InvalidInput, 422, "Isian tidak valid"))
FOREIGN_FORM = "Formulir dari situs lain ditolak."
MY_TICKETS = ",".join(sorted(ACTIVE_STATUSES))
FIELDS = ("body", "status", "topic", "source", "channel", "reached", "public", "seen",
          "confirm")


def _refusal(exc: TicketingError) -> tuple[int, str]:
    for cls, status, lead in REFUSALS:
        if isinstance(exc, cls):
            return status, f"{lead}: {exc}"
    return 400, f"Tidak bisa dilakukan: {exc}"


async def _worker(request: Request, target: str | None = None) -> Principal | Response:
    """The signed-in agent or supervisor; else the way to ``/login`` or a 403 page."""
    who = await run_in_threadpool(viewer, request)
    if who is None:
        return to_login(request, target)
    if who.role not in WORK_ROLES:
        return await error_page(request, who, "Tidak diizinkan",
                           "Antrian dan tiket hanya untuk agen dan supervisor.", 403)
    return who


async def _not_found(request: Request, who: Principal, ticket: str) -> Response:
    return await error_page(request, who, "Tiket tidak ditemukan", f"Tidak ada tiket {ticket}.", 404)


# ---------------------------------------------------------------- one ticket


class StaleView(Conflict):
    """A reply written on a view older than the ticket's newest message: held, not sent."""


async def _ticket(request: Request, who: Principal, ticket_id: int, *,
                  notice: str | None = None, error: str | None = None, status: int = 200,
                  drafts: Mapping[str, str] | None = None, stale: bool = False) -> Response:
    app = core(request)
    try:
        ticket, related, following = await run_in_threadpool(ticket_view.read, app,
                                                             ticket_id, who)
    except NotFound:
        return await _not_found(request, who, f"#{ticket_id}")
    values = ticket_view.context(request, app, who, ticket, related, following, drafts or {})
    chat = await run_in_threadpool(chat_presence.seen_by_desk, app, ticket_id)
    response = await render_page(request, who, "ticket.html", status=status,
                                 title=f"Tiket #{ticket_id}", page_id="ticket", notice=notice,
                                 error=error, stale=stale,
                                 chat_section=Markup(chat_presence.section(ticket_id, chat)),
                                 **values)
    if request.query_params.get("order") in ("old", "new"):
        response.set_cookie(ticket_view.ORDER_COOKIE, request.query_params["order"],
                            max_age=365 * 86400, path="/", httponly=True, samesite="lax")
    return response


@router.get("/tickets/{raw_id}")
async def ticket_page(request: Request, raw_id: str, done: str | None = None) -> Response:
    who = await _worker(request)
    if isinstance(who, Response):
        return who
    ticket_id = bounds.parse_id(raw_id)
    if ticket_id is None:
        return await _not_found(request, who, raw_id)
    return await _ticket(request, who, ticket_id, notice=DONE.get(done or ""))


async def _act(request: Request, raw_id: str, done: str, action: Action,
               draft: str | None = None) -> Response:
    """A form post on a ticket: origin, session, role, the use case, then back to the page."""
    if not same_origin(request):
        return await error_page(request, None, "Ditolak", FOREIGN_FORM, 403)
    ticket_id = bounds.parse_id(raw_id)
    who = await _worker(request, f"/tickets/{ticket_id}" if ticket_id is not None else "/queue")
    if isinstance(who, Response):
        return who
    if ticket_id is None:
        return await _not_found(request, who, raw_id)
    size = bounds.parse_int(request.headers.get("content-length") or "0", 0, 2**62)
    try:
        if size is None or size > reply_files.MAX_TOTAL + 1024 * 1024:
            raise reply_files.FileTooLarge(
                f"kiriman lebih dari {reply_files.MAX_TOTAL // (1024 * 1024)} MB (request over "
                f"{reply_files.MAX_TOTAL // (1024 * 1024)} MB)")
        form = await request.form()
        uploads = [(str(f.filename), await f.read(reply_files.MAX_FILE + 1))
                   for f in form.getlist("files")
                   if isinstance(f, UploadFile) and f.filename and f.size != 0]
    except reply_files.FileTooLarge as exc:
        return await _ticket(request, who, ticket_id, error=_refusal(exc)[1], status=413)
    fields = {k: v for k in FIELDS if isinstance(v := form.get(k), str)}
    if uploads and action is _reply:
        action = partial(_reply, uploads=uploads)
    try:
        await run_in_threadpool(action, core(request), ticket_id, who, fields)
    except StaleView:
        return await _ticket(request, who, ticket_id, status=409, stale=True,
                             drafts={"reply": fields.get("body", "")})
    except TicketingError as exc:
        status, message = _refusal(exc)
        drafts = {draft: fields.get("body", "")} if draft else None
        return await _ticket(request, who, ticket_id, error=message, status=status,
                             drafts=drafts)
    return RedirectResponse(f"/tickets/{ticket_id}?done={done}", status_code=303)


def _reply(app: App, ticket_id: int, who: Principal, fields: Mapping[str, str],
           uploads: Sequence[tuple[str, bytes]] = ()) -> object:
    """The reply, with the macro's status and topic in the same transaction (each audited by
    its use case).  Held (``StaleView``) when a citizen message or another agent's reply came
    after the view it was written on, unless the agent confirmed after seeing it.  Attached
    files are checked by their content (``domain.reply_files``) and kept in the attachment
    store (by digest: a refused reply leaves at most an unreferenced file) before the
    transaction."""
    body = fields.get("body", "")
    if left := canned.unfilled(body):
        raise InvalidInput("isi dulu: " + ", ".join("{" + v + "}" for v in left))
    files = reply_files.accept(uploads)
    for f in files:
        app.attachment_store.put(f.sha256, f.data)
    seen = bounds.parse_int(fields.get("seen") or "", 0, 2**62)
    confirmed = bounds.parse_int(fields.get("confirm") or "", 0, 2**62)
    with app.engine.begin() as conn:
        if seen is not None and (confirmed is None or confirmed < seen) and \
                workqueue.newer_from_others(conn, ticket_id, seen, who.user_id):
            raise StaleView("newer messages since this view")
        if confirmed is not None and workqueue.newer_from_others(conn, ticket_id, confirmed,
                                                                 who.user_id):
            raise StaleView("newer messages since this view")
        out = replies.reply_to_ticket(conn, ticket_id, body, by=who,
                                      now=app.clock.now(),
                                      from_address=app.settings.support_address,
                                      capabilities=app.capabilities,
                                      channel=fields.get("channel") or None,
                                      status=fields.get("status") or None,
                                      public=fields.get("public") == "1",
                                      files=[f.described() for f in files])
        if fields.get("topic"):
            updates.update_ticket(conn, ticket_id, {"topic": fields["topic"]}, by=who,
                                  topics=app.evidence_policy.classifier.topics,
                                  now=app.clock.now(), routing=app.routing)
        return out


def _call_back(app: App, ticket_id: int, who: Principal, fields: Mapping[str, str]) -> object:
    if fields.get("reached") not in ("0", "1"):
        raise InvalidInput("pilih apakah telepon tersambung")
    with app.engine.begin() as conn:
        return replies.log_call_back(conn, ticket_id, fields.get("body", ""),
                                     reached=fields["reached"] == "1", by=who,
                                     now=app.clock.now(), capabilities=app.capabilities)


def _note(app: App, ticket_id: int, who: Principal, fields: Mapping[str, str]) -> object:
    with app.engine.begin() as conn:
        return replies.add_note(conn, ticket_id, fields.get("body", ""), by=who,
                                now=app.clock.now())


def _status(app: App, ticket_id: int, who: Principal, fields: Mapping[str, str]) -> object:
    if not fields.get("status"):
        raise InvalidInput("pilih status baru")
    with app.engine.begin() as conn:
        updates.update_ticket(conn, ticket_id, {"status": fields["status"]}, by=who,
                              topics=app.evidence_policy.classifier.topics,
                              now=app.clock.now(), routing=app.routing)
    return None


def _release(app: App, ticket_id: int, who: Principal, fields: Mapping[str, str]) -> object:
    with app.engine.begin() as conn:
        return routing.release(conn, ticket_id, by=who, config=app.routing,
                               now=app.clock.now())


def _topic(app: App, ticket_id: int, who: Principal, fields: Mapping[str, str]) -> object:
    if not fields.get("topic"):
        raise InvalidInput("pilih topik")
    with app.engine.begin() as conn:  # the service audits the correction
        updates.update_ticket(conn, ticket_id, {"topic": fields["topic"]}, by=who,
                              topics=app.evidence_policy.classifier.topics,
                              now=app.clock.now(), routing=app.routing)
    return None


def _merge(app: App, ticket_id: int, who: Principal, fields: Mapping[str, str]) -> object:
    """Merge the ticket named in the form (``source``) into this one, as the API does (the use
    case refuses anyone but a supervisor or admin)."""
    source = bounds.parse_id(fields.get("source", ""))
    if source is None:
        raise InvalidInput("pilih tiket yang akan digabung")
    with app.engine.begin() as conn:
        return merging.merge_tickets(conn, source, ticket_id, by=who, now=app.clock.now())


def _unmerge(app: App, ticket_id: int, who: Principal, fields: Mapping[str, str]) -> object:
    with app.engine.begin() as conn:
        return merging.unmerge_ticket(conn, ticket_id, by=who, now=app.clock.now())


def _form_route(done: str, action: Action, draft: str | None) -> Callable[..., Any]:
    async def handle(request: Request, raw_id: str) -> Response:
        return await _act(request, raw_id, done, action, draft=draft)
    return handle


# The ticket page's forms: POST /tickets/{id}/<path> runs the action, then back to the page
# with ``done`` (a refusal keeps the typed text of a ``draft`` field).
for _path, _done, _action, _draft in (
        ("reply", "reply", _reply, "reply"), ("note", "note", _note, "note"),
        ("callback", "callback", _call_back, "callback"),
        ("status", "status", _status, None), ("release", "release", _release, None),
        ("topic", "topic", _topic, None), ("merge", "merged", _merge, None),
        ("unmerge", "unmerged", _unmerge, None)):
    router.add_api_route(f"/tickets/{{raw_id}}/{_path}", _form_route(_done, _action, _draft),
                         methods=["POST"], name=f"ticket_{_path}")


@router.get("/tickets/{raw_id}/messages/{raw_message}/attachments/{raw_index}")
async def attachment(request: Request, raw_id: str, raw_message: str,
                     raw_index: str) -> Response:
    """An attachment of a message on this ticket, served as the API serves it (a download)."""
    who = await _worker(request)
    if isinstance(who, Response):
        return who
    ticket_id, message_id = bounds.parse_id(raw_id), bounds.parse_id(raw_message)
    index = bounds.parse_int(raw_index, 0, bounds.MAX_ATTACHMENT_INDEX)
    app = core(request)
    try:
        if ticket_id is None or message_id is None or index is None:
            raise NotFound("no such attachment")
        got: downloads.Download = await run_in_threadpool(
            app.read, downloads.attachment_download, app.attachment_store, message_id, index,
            ticket_id=ticket_id)
    except NotFound:
        return await error_page(request, who, "Lampiran tidak ditemukan",
                           "Lampiran ini tidak ada pada tiket ini atau tidak disimpan.", 404)
    return FileResponse(got.path, media_type=got.media_type, filename=got.filename,
                        content_disposition_type="attachment", headers=dict(downloads.HEADERS))


@router.post("/tickets/{raw_id}/viewing")
async def still_viewing(request: Request, raw_id: str) -> Response:
    """The open ticket page's ping (``app.js``): keeps this agent among the ticket's viewers
    and answers the others, for the collision notice."""
    if not same_origin(request):
        return Response('{"error":"foreign origin"}', status_code=403,
                        media_type="application/json")
    who = await run_in_threadpool(viewer, request)
    ticket_id = bounds.parse_id(raw_id)
    if who is None or who.role not in WORK_ROLES or ticket_id is None:
        return Response('{"error":"not allowed"}', status_code=403,
                        media_type="application/json")
    viewing.saw(ticket_id, who.email, who.name)
    return Response(json.dumps({"viewers": viewing.others(ticket_id, who.email)}),
                    media_type="application/json", headers={"Cache-Control": "no-store"})
