"""The queue page over HTTP: ``/queue`` (claim next, my tickets, what waits for me, and every
ticket with filters, sorting, totals, paging and saved views), ``/queue/claim``,
``/queue/views`` (save the current filters under a name, kept in a cookie of this browser) and
``/queue/bulk`` (supervisors: assign, topic or status for the ticked tickets, each change
audited by the use case like a single one)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from ticketing.app import App
from ticketing.domain import bounds
from ticketing.domain.errors import InvalidInput, TicketingError
from ticketing.domain.lifecycle import ACTIVE_STATUSES
from ticketing.domain.routing import CHANNELS
from ticketing.services import routing, updates, workqueue
from ticketing.services.accounts import Principal, Role
from ticketing.entrypoints import jobs
from ticketing.entrypoints.web.labels import PRIORITY, STATUS
from ticketing.entrypoints.web.render import error, gettext, render_page
from ticketing.entrypoints.web.session import (WORK_ROLES, core, safe_next, same_origin,
                                               to_login, viewer)
from ticketing.entrypoints.web.templating import N_

router = APIRouter(include_in_schema=False)
NOTHING_TO_CLAIM = N_("Tidak ada tiket yang bisa Anda ambil saat ini. Coba lagi nanti.")
FOREIGN_FORM = N_("Formulir dari situs lain ditolak.")
VIEWS_COOKIE = "queue_views"
MAX_VIEWS = 10
BULK_ROLES = (Role.SUPERVISOR, Role.ADMIN)
PRESET_VIEWS = (
    (N_("Tiket saya"), "assignee=me&status=new&status=open&status=pending_customer"),
    (N_("Belum ditugaskan"), "assignee=none&status=new&status=open"),
    (N_("Hampir lewat"), "sla=warning"), (N_("Terlewat"), "sla=breached"),
)
SORTS = (("due", N_("batas SLA terdekat")), ("new", N_("terbaru")), ("old", N_("terlama")),
         ("updated", N_("pesan terakhir")))
SLA = (("ok", N_("sesuai jadwal")), ("warning", N_("hampir lewat")), ("breached", N_("terlewat")))


async def worker(request: Request, target: str | None = None) -> Principal | Response:
    who = await run_in_threadpool(viewer, request)
    if who is None:
        return to_login(request, target)
    if who.role not in WORK_ROLES:
        return await error(request, who, "Tidak diizinkan",
                           "Antrian dan tiket hanya untuk agen dan supervisor.", 403)
    return who


def _filters(request: Request) -> dict[str, list[str]]:
    params = request.query_params
    return {name: [v for v in params.getlist(name) if v] for name in workqueue.FILTERS}


def _data(app: App, who: Principal, filters: dict[str, list[str]], sort: str, page: int,
          per_page: int) -> dict[str, Any]:
    now = app.clock.now()
    with app.engine.connect().execution_options(readonly=True) as conn, conn.begin():
        waiting = routing.waiting_for(conn, who.user_id, config=app.routing)
        mine = workqueue.queue_list(conn, who, {"assignee": ["me"],
                                                "status": sorted(ACTIVE_STATUSES)},
                                    now=now, per_page=100, with_choices=False,
                                    with_counts=False)
        listing = workqueue.queue_list(conn, who, filters, now=now, sort=sort, page=page,
                                       per_page=per_page, teams=app.routing.names,
                                       topics=app.evidence_policy.classifier.topics)
    return {"waiting": waiting, "mine": mine, "listing": listing}


def _saved_views(request: Request) -> list[tuple[str, str]]:
    try:
        raw = json.loads(request.cookies.get(VIEWS_COOKIE) or "[]")
        return [(str(n)[:40], str(q)[:1000]) for n, q in raw][:MAX_VIEWS]
    except (ValueError, TypeError):
        return []


async def queue(request: Request, who: Principal, *, notice: str | None = None,
                err: str | None = None, status: int = 200) -> Response:
    _ = gettext(request)
    params = request.query_params
    filters = _filters(request)
    sort = params.get("sort") or "due"
    app = core(request)
    try:
        page = bounds.parse_int(params.get("page") or "1", 1, 100_000)
        per_page = bounds.parse_int(params.get("per_page") or "25", 1, 100)
        if page is None or per_page is None:
            raise InvalidInput(_("halaman tidak valid"))
        data = await run_in_threadpool(_data, app, who, filters, sort, page, per_page)
    except InvalidInput as exc:
        return await error(request, who, "Isian tidak valid", str(exc), 422)
    listing = data["listing"]
    kept = [(k, v) for k, v in params.multi_items() if k != "page" and v]
    choices = listing["choices"]
    fields = [
        ("status", _("Status"), [(s, _(STATUS[s])) for s in STATUS]),
        ("channel", _("Kanal"), [(c, c) for c in CHANNELS]),
        ("topic", _("Topik"), [(t, t) for t in choices["topic"]]),
        ("team", _("Tim"), [(t, t) for t in choices["team"]]),
        ("assignee", _("Petugas"), [("me", _("saya")), ("none", _("belum ada"))]
         + [(e, e) for e in choices["assignee"]]),
        ("sla", _("SLA"), [(v, _(label)) for v, label in SLA]),
        ("language", _("Bahasa"), [(lang, lang) for lang in ("id", "en")]),
    ]
    classifier = app.evidence_policy.classifier
    waiting = data["waiting"]
    return await render_page(
        request, who, "queue.html", status=status, title=_("Antrian"), page_id="queue",
        notice=notice, error=err, mine=data["mine"]["items"], waiting=waiting["items"],
        can_claim=waiting.get("can_claim", True),
        capacity=sorted((waiting.get("capacity") or {}).items()),
        load=waiting.get("load") or {}, listing=listing, filter_fields=fields,
        sorts=[(v, _(label)) for v, label in SORTS],
        views=[(_(n), q) for n, q in PRESET_VIEWS] + _saved_views(request),
        query=urlencode(kept), page_query=lambda n: urlencode([*kept, ("page", n)]),
        bulk=who.role in BULK_ROLES, status_labels=STATUS, priority_labels=PRIORITY,
        topics=[(name, classifier.label(name)) for name in classifier.topics])


@router.get("/queue")
async def queue_page(request: Request, claim: str | None = None,
                     done: str | None = None) -> Response:
    who = await worker(request)
    if isinstance(who, Response):
        return who
    _ = gettext(request)
    notice = _(NOTHING_TO_CLAIM) if claim == "none" else None
    if done == "bulk":
        notice = _("Perubahan diterapkan ke tiket terpilih.")
    return await queue(request, who, notice=notice)


@router.post("/queue/claim")
async def claim(request: Request) -> Response:
    if not same_origin(request):
        return await error(request, None, "Ditolak", FOREIGN_FORM, 403)
    who = await worker(request, "/queue")
    if isinstance(who, Response):
        return who
    try:
        got = await run_in_threadpool(jobs.claim_next, core(request), who.user_id)
    except TicketingError as exc:
        return await queue(request, who, err=str(exc), status=409)
    if got is None:
        return RedirectResponse("/queue?claim=none", status_code=303)
    return RedirectResponse(f"/tickets/{got.id}?done=claimed", status_code=303)


@router.post("/queue/views")
async def save_view(request: Request) -> Response:
    if not same_origin(request):
        return await error(request, None, "Ditolak", FOREIGN_FORM, 403)
    who = await worker(request, "/queue")
    if isinstance(who, Response):
        return who
    form = await request.form()
    name = " ".join(str(form.get("name") or "").split())[:40]
    query = urlencode([(k, v) for k, v in parse_qsl(str(form.get("query") or ""))
                       if k in (*workqueue.FILTERS, "sort", "per_page")])
    if not name:
        return await error(request, who, "Isian tidak valid", "Nama tampilan kosong.", 422)
    views = [v for v in _saved_views(request) if v[0] != name][-(MAX_VIEWS - 1):]
    response = RedirectResponse(f"/queue?{query}#all-tickets", status_code=303)
    response.set_cookie(VIEWS_COOKIE, json.dumps([*views, (name, query)]),
                        max_age=365 * 86400, path="/", httponly=True, samesite="lax")
    return response


def _bulk(app: App, who: Principal, ids: list[int], changes: dict[str, Any]) -> int:
    topics = app.evidence_policy.classifier.topics
    with app.engine.begin() as conn:  # all or nothing: one refusal changes none
        for ticket_id in ids:
            updates.update_ticket(conn, ticket_id, changes, by=who, topics=topics,
                                  now=app.clock.now(), routing=app.routing)
    return len(ids)


@router.post("/queue/bulk")
async def bulk(request: Request) -> Response:
    if not same_origin(request):
        return await error(request, None, "Ditolak", FOREIGN_FORM, 403)
    who = await worker(request, "/queue")
    if isinstance(who, Response):
        return who
    if who.role not in BULK_ROLES:
        return await error(request, who, "Tidak diizinkan",
                           "Tindakan massal hanya untuk supervisor.", 403)
    form = await request.form()
    ids = [i for v in form.getlist("ticket") if (i := bounds.parse_id(str(v))) is not None]
    changes = {k: str(v) for k in ("assignee", "topic", "status")
               if (v := form.get(k)) and isinstance(v, str)}
    back = safe_next(str(form.get("next") or "")) or "/queue"
    try:
        if not ids or len(ids) > 500:
            raise InvalidInput("pilih 1 sampai 500 tiket")
        if not changes:
            raise InvalidInput("pilih petugas, topik atau status")
        await run_in_threadpool(_bulk, core(request), who, ids, changes)
    except TicketingError as exc:
        return await error(request, who, "Tidak bisa dilakukan", str(exc), 409)
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back.split('#')[0]}{sep}done=bulk&n={len(ids)}",
                            status_code=303)
