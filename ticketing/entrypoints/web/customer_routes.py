"""The customer panel's manual merge of a "possible same citizen" (issue 15):

* ``GET /tickets/{id}/customers/merge?other=C``: the confirmation, both citizens side by side
  (identities and tickets, masked for agents as everywhere), and for supervisors the button;
* ``POST /tickets/{id}/customers/merge`` (``other``): folds citizen C into this ticket's citizen
  in one audited step (``merging.merge_customers``), then back to the ticket;
* ``POST /tickets/{id}/customers/unmerge`` (``customer``): the undo, exact, from the audit
  record (``merging.unmerge_customer``).

Who may merge is the use case's rule (supervisors and admins); the pages only follow it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from ticketing.app import App
from ticketing.domain import bounds
from ticketing.domain.errors import Conflict, NotFound, PermissionDenied, TicketingError
from ticketing.services import merging, views
from ticketing.services.accounts import Principal
from ticketing.entrypoints.web.queue_routes import FOREIGN_FORM, worker
from ticketing.entrypoints.web.render import error, gettext, render_page
from ticketing.entrypoints.web.session import core, same_origin
from ticketing.entrypoints.web.ticket_view import IDENTITY

router = APIRouter(include_in_schema=False)
REFUSED = ((PermissionDenied, 403, "Tidak diizinkan"), (NotFound, 404, "Tidak ditemukan"),
           (Conflict, 409, "Tidak bisa dilakukan"))


def _preview(app: App, ticket_id: int, other: int, who: Principal) -> dict[str, Any]:
    with app.engine.connect().execution_options(readonly=True) as conn, conn.begin():
        mine = views.ticket_customer(conn, ticket_id)
        return {"this": views.get_customer(conn, mine, who),
                "other": views.get_customer(conn, other, who)}


def _merge(app: App, ticket_id: int, other: int, who: Principal) -> object:
    with app.engine.begin() as conn:
        mine = views.ticket_customer(conn, ticket_id)
        return merging.merge_customers(conn, other, mine, by=who, now=app.clock.now(),
                                       ticket_id=ticket_id)


def _unmerge(app: App, ticket_id: int, customer: int, who: Principal) -> object:
    with app.engine.begin() as conn:
        mine = views.ticket_customer(conn, ticket_id)
        merged_into = views.get_customer(conn, customer, who, with_tickets=False)["merged_into"]
        if merged_into != mine:
            raise Conflict(f"customer {customer} is not merged into this ticket's citizen")
        return merging.unmerge_customer(conn, customer, by=who, now=app.clock.now())


async def _refusal(request: Request, who: Principal, exc: TicketingError) -> Response:
    for cls, status, title in REFUSED:
        if isinstance(exc, cls):
            return await error(request, who, title, str(exc), status)
    return await error(request, who, "Isian tidak valid", str(exc), 422)


@router.get("/tickets/{raw_id}/customers/merge")
async def confirm(request: Request, raw_id: str) -> Response:
    who = await worker(request)
    if isinstance(who, Response):
        return who
    ticket_id = bounds.parse_id(raw_id)
    other = bounds.parse_id(request.query_params.get("other") or "")
    try:
        if ticket_id is None or other is None:
            raise NotFound("no such ticket or citizen")
        both = await run_in_threadpool(_preview, core(request), ticket_id, other, who)
    except TicketingError as exc:
        return await _refusal(request, who, exc)
    _ = gettext(request)
    return await render_page(request, who, "customer_merge.html",
                             title=_("Gabungkan data warga"),
                             page_id="customer-merge", tid=ticket_id, this=both["this"],
                             other=both["other"], identity_labels=IDENTITY,
                             may_merge=merging.may_merge(who))


async def _post(request: Request, raw_id: str, field: str, done: str,
                action: Any) -> Response:
    if not same_origin(request):
        return await error(request, None, "Ditolak", FOREIGN_FORM, 403)
    ticket_id = bounds.parse_id(raw_id)
    who = await worker(request, f"/tickets/{ticket_id}" if ticket_id else "/queue")
    if isinstance(who, Response):
        return who
    form = await request.form()
    customer = bounds.parse_id(str(form.get(field) or ""))
    try:
        if ticket_id is None or customer is None:
            raise NotFound("no such ticket or citizen")
        await run_in_threadpool(action, core(request), ticket_id, customer, who)
    except TicketingError as exc:
        return await _refusal(request, who, exc)
    return RedirectResponse(f"/tickets/{ticket_id}?done={done}#citizen", status_code=303)


@router.post("/tickets/{raw_id}/customers/merge")
async def merge(request: Request, raw_id: str) -> Response:
    return await _post(request, raw_id, "other", "customer_merged", _merge)


@router.post("/tickets/{raw_id}/customers/unmerge")
async def unmerge(request: Request, raw_id: str) -> Response:
    return await _post(request, raw_id, "customer", "customer_unmerged", _unmerge)
