"""``GET /api/v1/search``: tickets by their words or by a citizen's NIK, phone or e-mail
(``services.search``), for any authenticated staff member; masked for agents."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from ticketing.app import App
from ticketing.entrypoints.api.auth import core, current_principal
from ticketing.services import search as searching
from ticketing.services.accounts import Principal

router = APIRouter(prefix="/api/v1")


def run(app: App, who: Principal, q: str, page: int) -> dict[str, Any]:
    query = searching.read_query(app.search_vocabulary, q)
    result: dict[str, Any] = app.read(searching.search, who, query, page=page)
    return result


@router.get("/search", summary="Search tickets by words, NIK, phone or e-mail")
async def search(request: Request, who: Annotated[Principal, Depends(current_principal)],
                 q: Annotated[str, Query(max_length=searching.MAX_QUERY_CHARS)],
                 page: Annotated[int, Query(ge=1, le=searching.MAX_PAGE)] = 1
                 ) -> dict[str, Any]:
    """Words match subjects, bodies and call transcripts (Indonesian slang and typos read as
    their standard words); a query that is a NIK, phone or e-mail written any common way finds
    that citizen's tickets.  20 tickets a page, newest match first."""
    return await run_in_threadpool(run, core(request), who, q, page)
