"""``GET /search``: the staff search page (any signed-in staff member; results masked for
agents by ``services.search``), rendered from ``templates/search.html`` like every staff page;
the query sits in the header's search box.  A bad page number or an over-long query is answered
422 on the page; database work runs in the thread pool.  Snippets are cut into pieces by
``domain.search.marks`` and each piece is escaped by the template, so a citizen's markup is
shown as text, never run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from ticketing.app import App
from ticketing.domain.errors import InvalidInput
from ticketing.domain.search import marks
from ticketing.services import search as searching
from ticketing.services.accounts import Principal
from ticketing.entrypoints.web.labels import STATUS
from ticketing.entrypoints.web.render import gettext, render_page
from ticketing.entrypoints.web.session import core, to_login, viewer

router = APIRouter(include_in_schema=False)


def _run(app: App, who: Principal, q: str, page: int) -> dict[str, Any]:
    query = searching.read_query(app.search_vocabulary, q)
    result: dict[str, Any] = app.read(searching.search, who, query, page=page)
    return result


def _item(item: Mapping[str, Any], words: list[str]) -> dict[str, Any]:
    message = item.get("message") or {}
    snippet = str(message.get("snippet") or "")
    return {**item, "pieces": list(marks(snippet, words)) if snippet else [],
            "direction": message.get("direction")}


async def _page(request: Request, who: Principal, q: str, *, page: int = 1,
                result: Mapping[str, Any] | None = None, error: str | None = None,
                status: int = 200) -> Response:
    words = list((result or {}).get("terms") or [])
    items = [_item(i, words) for i in (result or {}).get("items") or []]
    _ = gettext(request)
    return await render_page(request, who, "search.html", status=status,
                             title=_("Cari tiket"), page_id="search", q=q, result=result,
                             items=items, page=page, error=error, status_labels=STATUS,
                             link=lambda n: "/search?" + urlencode({"q": q, "page": n}))


@router.get("/search")
async def search_page_route(request: Request) -> Response:
    who = await run_in_threadpool(viewer, request)
    if who is None:
        return to_login(request)
    _ = gettext(request)
    params = request.query_params
    q = params.get("q") or ""
    raw_page = params.get("page") or "1"
    page = int(raw_page) if raw_page.isdigit() and len(raw_page) < 6 else 0
    if not 1 <= page <= searching.MAX_PAGE:
        return await _page(request, who, q, error=_("Nomor halaman harus antara 1 dan %(n)s.")
                           % {"n": searching.MAX_PAGE}, status=422)
    if len(q) > searching.MAX_QUERY_CHARS:
        return await _page(request, who, q[:searching.MAX_QUERY_CHARS],
                           error=_("Pencarian paling panjang %(n)s karakter.")
                           % {"n": searching.MAX_QUERY_CHARS}, status=422)
    result = None
    if q.strip():
        try:
            result = await run_in_threadpool(_run, core(request), who, q, page)
        except InvalidInput as exc:
            return await _page(request, who, q, error=str(exc), status=422)
    return await _page(request, who, q, page=page, result=result)
