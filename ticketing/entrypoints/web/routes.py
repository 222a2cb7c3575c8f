"""Staff pages over HTTP: ``/login``, ``/logout``, ``/reports/sla`` (supervisors and admins,
with the accounts locked after failed sign-ins and their unlock buttons) and ``/users/unlock``.

Sessions: an HttpOnly, SameSite=Lax cookie holding a random token whose digest is a row of
``api_tokens`` (``services.accounts``); the cookie, the same-origin check of form posts and the
headers are ``session``'s.  A wrong address and a wrong password get the same answer.  Sign-ins
are throttled (``services.logins``): too soon after failures is 429 with ``Retry-After``, a
locked account 423, both before the password is looked at.  Without
a page to go back to, agents land on the queue and others on the report.  Database work runs in
the thread pool, never on the event loop."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from ticketing.app import App
from ticketing.domain.errors import InvalidInput, LoginThrottled, PermissionDenied
from ticketing.domain.zones import WIB
from ticketing.services import accounts, logins, reports
from ticketing.services.accounts import Principal
from ticketing.entrypoints.web import pages
from ticketing.entrypoints.web.render import error, gettext, render_page
from ticketing.entrypoints.web.templating import N_
from ticketing.store import workqueue
from markupsafe import Markup
from ticketing.entrypoints.web.session import (COOKIE, HEADERS, REPORT_ROLES, core, home,
                                               safe_next, same_origin, to_login, viewer)

BAD_LOGIN = N_("E-mail atau kata sandi salah.")
TOO_MANY = N_("Terlalu banyak percobaan masuk yang gagal. Coba lagi dalam %(seconds)s detik.")
LOCKED = N_("Akun ini dikunci setelah terlalu banyak percobaan masuk yang gagal. Minta "
            "supervisor atau admin membuka kuncinya.")
UNLOCKED = "Kunci akun dibuka; pemiliknya bisa masuk lagi."

router = APIRouter(include_in_schema=False)


async def _login_page(request: Request, *, next_url: str, email: str = "",
                      error: str | None = None, status: int = 200,
                      seconds: int | None = None) -> Response:
    """The sign-in form (``login.html``), in the viewer's language, with a refusal's reason."""
    _ = gettext(request)
    shown = _(error) % {"seconds": seconds} if error and seconds is not None else (
        _(error) if error else None)
    return await render_page(request, None, "login.html", status=status, title=_("Masuk"),
                             page_id="login", next_url=next_url, email=email, error=shown)


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return await _login_page(request, next_url=safe_next(next) or "")


def _login(app: App, email: str, password: str, client: str) -> tuple[Principal, str] | None:
    """Admit (or raise ``LoginThrottled``), hash outside any transaction, then settle."""
    attempt = app.write(logins.admit, email, client=client, now=app.clock.now())
    ok = logins.password_ok(attempt, password)
    return app.write(_settle, attempt, ok, now=app.clock.now())


def _settle(conn: sa.Connection, attempt: logins.Attempt, ok: bool, *,
            now: dt.datetime) -> tuple[Principal, str] | None:
    who = logins.settle(conn, attempt, ok, now=now)
    if who is None:
        return None
    return who, accounts.create_session(conn, user_id=who.user_id, now=now)


async def _refused(request: Request, exc: LoginThrottled, *, next_url: str,
                   email: str) -> Response:
    """A refused sign-in: 429 with ``Retry-After`` for a wait (answered at once: holding the
    connection open instead would let a few clients tie up the server), 423 for a lock."""
    if exc.locked:
        return await _login_page(request, next_url=next_url, error=LOCKED, email=email,
                                 status=423)
    response = await _login_page(request, next_url=next_url, email=email, error=TOO_MANY,
                                 seconds=int(exc.retry_after), status=429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    if not same_origin(request):
        return await error(request, None, "Ditolak", "Formulir dari situs lain ditolak.", 403)
    form = await request.form()
    email, password = str(form.get("email") or ""), str(form.get("password") or "")
    next_url = safe_next(str(form.get("next") or ""))
    client = request.client.host if request.client else "unknown"
    signed_in = None
    if email and password and len(email) <= 320 and len(password) <= 1024:
        try:
            signed_in = await run_in_threadpool(_login, core(request), email, password, client)
        except LoginThrottled as exc:
            return await _refused(request, exc, next_url=next_url or "", email=email)
    if signed_in is None:
        return await _login_page(request, next_url=next_url or "", error=BAD_LOGIN,
                                 email=email)
    who, token = signed_in
    response = RedirectResponse(next_url or home(who.role), status_code=303)
    response.set_cookie(COOKIE, token, max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
                        path="/", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")
    return response


@router.post("/users/unlock")
async def unlock(request: Request) -> Response:
    """A supervisor's or admin's unlock button (the report page lists locked accounts)."""
    if not same_origin(request):
        return await error(request, None, "Ditolak", "Formulir dari situs lain ditolak.", 403)
    who = await run_in_threadpool(viewer, request)
    if who is None:
        return to_login(request, "/reports/sla")
    email = str((await request.form()).get("email") or "")[:320]
    app = core(request)
    try:
        if not email:
            raise InvalidInput("alamat e-mail akun kosong")
        await run_in_threadpool(app.write, logins.unlock, email, by=who, now=app.clock.now())
    except PermissionDenied:
        return await error(request, who, "Tidak diizinkan",
                           "Hanya supervisor dan admin yang boleh membuka kunci akun.", 403)
    except InvalidInput as exc:
        return await error(request, who, "Isian tidak valid", str(exc), 422)
    return RedirectResponse("/reports/sla?done=unlocked", status_code=303)


def _logout(app: App, token: str) -> None:
    with app.engine.begin() as conn:
        accounts.end_session(conn, token, now=app.clock.now())


@router.post("/logout")
async def logout(request: Request) -> Response:
    if not same_origin(request):
        return await error(request, None, "Ditolak", "Formulir dari situs lain ditolak.", 403)
    token = request.cookies.get(COOKIE)
    if token:
        await run_in_threadpool(_logout, core(request), token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response


def _report(app: App, **kwargs: Any) -> dict[str, Any]:
    report: dict[str, Any] = app.read(reports.sla_report, now=app.clock.now(), **kwargs)
    return report


def _date(value: str | None, default: dt.date, name: str) -> dt.date:
    if not value:
        return default
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{name}: bukan tanggal (YYYY-MM-DD): {value}") from exc


@router.get("/reports/sla")
async def sla_report_page(request: Request) -> Response:
    who = await run_in_threadpool(viewer, request)
    if who is None:
        return to_login(request)
    if who.role not in REPORT_ROLES:
        return await error(request, who, "Tidak diizinkan",
                           "Laporan SLA hanya untuk supervisor dan admin.", 403)
    app = core(request)
    params = request.query_params
    locked = await run_in_threadpool(app.read, logins.locked_accounts)
    top = pages.locked_section(locked, UNLOCKED if params.get("done") == "unlocked" else None)
    today = app.clock.now().astimezone(WIB).date()
    group_by = params.get("group_by") or "channel"
    fmt = params.get("format") or "html"
    start, end = await run_in_threadpool(_default_period, app, today)
    try:
        start = _date(params.get("from"), start, "from")
        end = _date(params.get("to"), end, "to")
        if group_by not in reports.GROUPS:
            raise InvalidInput(f"group_by harus salah satu dari {', '.join(reports.GROUPS)}")
        if fmt not in ("html", "csv", "json"):
            raise InvalidInput("format harus html, csv atau json")
        data = await run_in_threadpool(_report, app, start=start, end=end, group_by=group_by)
    except InvalidInput as exc:
        return await _report_page(request, who, pages.report_page(
            who=who, start=start, end=end, group_by=group_by, groups=reports.GROUPS,
            report=None, error=str(exc), top=top, bare=True), 422)
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
    return await _report_page(request, who, pages.report_page(
        who=who, start=start, end=end, group_by=group_by, groups=reports.GROUPS, report=data,
        top=top, bare=True), ratings=data.get("ratings"))


async def _report_page(request: Request, who: Principal, content: str,
                       status: int = 200, ratings: Any = None) -> Response:
    return await render_page(request, who, "report.html", status=status, title="Laporan SLA",
                             page_id="report", content=Markup(content), ratings=ratings)


def _default_period(app: App, today: dt.date) -> tuple[dt.date, dt.date]:
    """The last 30 days; when they hold no ticket, the 30 days up to the latest ticket."""
    latest = app.read(workqueue.latest_ticket_at)
    end = today
    if latest is not None and latest.astimezone(WIB).date() < today - dt.timedelta(days=29):
        end = latest.astimezone(WIB).date()
    return end - dt.timedelta(days=29), end
