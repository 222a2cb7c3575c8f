"""``GET /search``: the staff search page (any signed-in staff member; results masked for
agents by ``services.search``).  A bad page number or an over-long query is answered 422 on
the page; database work runs in the thread pool."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from ticketing.app import App
from ticketing.domain.errors import InvalidInput
from ticketing.services import search as searching
from ticketing.services.accounts import Principal
from ticketing.entrypoints.web.search_html import language, search_page
from ticketing.entrypoints.web.session import core, html, to_login, viewer

router = APIRouter(include_in_schema=False)
BAD_PAGE = {"id": "Nomor halaman harus antara 1 dan {n}.",
            "en": "The page number must be between 1 and {n}."}
TOO_LONG = {"id": "Pencarian paling panjang {n} karakter.",
            "en": "A search is at most {n} characters long."}


def _run(app: App, who: Principal, q: str, page: int) -> dict[str, Any]:
    query = searching.read_query(app.search_vocabulary, q)
    result: dict[str, Any] = app.read(searching.search, who, query, page=page)
    return result


@router.get("/search")
async def search_page_route(request: Request) -> Response:
    who = await run_in_threadpool(viewer, request)
    if who is None:
        return to_login(request)
    params = request.query_params
    lang = language(params.get("lang") or request.cookies.get("lang"))
    q = params.get("q") or ""
    raw_page = params.get("page") or "1"
    page = int(raw_page) if raw_page.isdigit() and len(raw_page) < 6 else 0
    if not 1 <= page <= searching.MAX_PAGE:
        return html(search_page(who=who, q=q, lang=lang, result=None,
                                error=BAD_PAGE[lang].format(n=searching.MAX_PAGE)), 422)
    if len(q) > searching.MAX_QUERY_CHARS:
        return html(search_page(who=who, q=q[:searching.MAX_QUERY_CHARS], lang=lang,
                                result=None,
                                error=TOO_LONG[lang].format(n=searching.MAX_QUERY_CHARS)), 422)
    result = None
    if q.strip():
        try:
            result = await run_in_threadpool(_run, core(request), who, q, page)
        except InvalidInput as exc:
            return html(search_page(who=who, q=q, lang=lang, result=None, error=str(exc)), 422)
    return html(search_page(who=who, q=q, lang=lang, result=result))
