"""Staff pages over HTTP: ``/login``, ``/logout`` and ``/reports/sla`` (supervisors and admins).

Sessions: an HttpOnly, SameSite=Lax cookie holding a random token whose digest is a row of
``api_tokens`` (``services.accounts``).  Form posts must come from our own origin (the
``Origin`` or ``Referer`` header, which browsers send on form posts, is checked); SameSite=Lax
already keeps the cookie off cross-site posts.  A wrong address and a wrong password get the same
answer.  Database work runs in the thread pool, never on the event loop."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ticketing.app import App
from ticketing.domain.errors import InvalidInput
from ticketing.services import accounts, reports
from ticketing.services.accounts import Principal, Role
from ticketing.web import pages

COOKIE = "ticketing_session"
WIB = dt.timezone(dt.timedelta(hours=7))
HOME = "/reports/sla"
REPORT_ROLES = (Role.SUPERVISOR, Role.ADMIN)
BAD_LOGIN = "E-mail atau kata sandi salah."
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

router = APIRouter(include_in_schema=False)


def _core(request: Request) -> App:
    core: App = request.app.state.core
    return core


def _html(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status, headers=HEADERS)


def _safe_next(value: str | None) -> str:
    """Only a path on this site (no scheme, no host, no ``//`` or ``\\`` tricks)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return HOME
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else HOME


def _same_origin(request: Request) -> bool:
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed:
        return True  # not a browser form post (curl, scripts): nothing to forge with
    parts = urlsplit(claimed)
    return (parts.scheme, parts.netloc) == (request.url.scheme, request.url.netloc)


def _viewer(request: Request) -> Principal | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    app = _core(request)
    with app.engine.connect().execution_options(readonly=True) as conn, conn.begin():
        return accounts.authenticate_session(conn, token, now=app.clock.now())


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return _html(pages.login_page(next_url=_safe_next(next)))


def _login(app: App, email: str, password: str) -> str | None:
    with app.engine.begin() as conn:
        who = accounts.authenticate_password(conn, email, password)
        if who is None:
            return None
        return accounts.create_session(conn, user_id=who.user_id, now=app.clock.now())


@router.post("/login")
async def login(request: Request) -> Response:
    if not _same_origin(request):
        return _html(pages.error_page("Ditolak", "Formulir dari situs lain ditolak."), 403)
    form = await request.form()
    email, password = str(form.get("email") or ""), str(form.get("password") or "")
    next_url = _safe_next(str(form.get("next") or ""))
    token = await run_in_threadpool(_login, _core(request), email, password) \
        if email and password and len(email) <= 320 and len(password) <= 1024 else None
    if token is None:
        return _html(pages.login_page(next_url=next_url, error=BAD_LOGIN, email=email))
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(COOKIE, token, max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
                        path="/", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")
    return response


def _logout(app: App, token: str) -> None:
    with app.engine.begin() as conn:
        accounts.end_session(conn, token, now=app.clock.now())


@router.post("/logout")
async def logout(request: Request) -> Response:
    if not _same_origin(request):
        return _html(pages.error_page("Ditolak", "Formulir dari situs lain ditolak."), 403)
    token = request.cookies.get(COOKIE)
    if token:
        await run_in_threadpool(_logout, _core(request), token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response


def _report(app: App, **kwargs: Any) -> dict[str, Any]:
    with app.engine.connect().execution_options(readonly=True) as conn, conn.begin():
        return reports.sla_report(conn, now=app.clock.now(), **kwargs)


def _date(value: str | None, default: dt.date, name: str) -> dt.date:
    if not value:
        return default
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{name}: bukan tanggal (YYYY-MM-DD): {value}") from exc


@router.get("/reports/sla")
async def sla_report_page(request: Request) -> Response:
    who = await run_in_threadpool(_viewer, request)
    if who is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    if who.role not in REPORT_ROLES:
        return _html(pages.error_page("Tidak diizinkan", "Laporan SLA hanya untuk supervisor "
                                      "dan admin.", who=who), 403)
    app = _core(request)
    params = request.query_params
    today = app.clock.now().astimezone(WIB).date()
    group_by = params.get("group_by") or "channel"
    fmt = params.get("format") or "html"
    start, end = today.replace(day=1), today
    try:
        start = _date(params.get("from"), start, "from")
        end = _date(params.get("to"), end, "to")
        if group_by not in reports.GROUPS:
            raise InvalidInput(f"group_by harus salah satu dari {', '.join(reports.GROUPS)}")
        if fmt not in ("html", "csv", "json"):
            raise InvalidInput("format harus html, csv atau json")
        data = await run_in_threadpool(_report, app, start=start, end=end, group_by=group_by)
    except InvalidInput as exc:
        return _html(pages.report_page(who=who, start=start, end=end, group_by=group_by,
                                       groups=reports.GROUPS, report=None, error=str(exc)), 422)
    name = f"laporan-sla-{start.isoformat()}-{end.isoformat()}-{group_by}"
    if fmt == "csv":
        return Response(reports.to_csv(data), media_type="text/csv; charset=utf-8",
                        headers={**HEADERS, "Content-Disposition":
                                 f'attachment; filename="{name}.csv"'})
    if fmt == "json":
        return Response(json.dumps(data, default=str, ensure_ascii=False),
                        media_type="application/json",
                        headers={**HEADERS, "Content-Disposition":
                                 f'attachment; filename="{name}.json"'})
    return _html(pages.report_page(who=who, start=start, end=end, group_by=group_by,
                                   groups=reports.GROUPS, report=data))
