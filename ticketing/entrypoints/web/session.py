"""What every staff page shares: the session cookie and who is behind it, the security headers,
the same-origin check of form posts, where a role lands after signing in, and the way back to
``/login``.

Form posts must come from our own origin (the ``Origin`` or ``Referer`` header, which browsers
send on form posts, is checked); the cookie's SameSite=Lax already keeps it off cross-site
posts.  ``viewer`` reads the database: call it in the thread pool, never on the event loop."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ticketing.app import App
from ticketing.services import accounts, merging
from ticketing.services.accounts import Principal, Role

COOKIE = "ticketing_session"
REPORT_ROLES = (Role.SUPERVISOR, Role.ADMIN)  # the SLA report
WORK_ROLES = (Role.AGENT, Role.SUPERVISOR)  # the queue and the ticket pages
# Merging and unmerging is a supervisor's (or admin's) decision, decided by the use case for
# every door: agents see the suggestions, not the buttons, and a forged post is refused.
MERGE_ROLES = merging.MERGE_ROLES
HEADERS = {
    # Scripts and streams from this site only (``/static/live.js``, ``/events``).
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                               "script-src 'self'; connect-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def core(request: Request) -> App:
    app: App = request.app.state.core
    return app


def html(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status, headers=HEADERS)


def home(role: str) -> str:
    """Where a signed-in user lands when no page was asked for."""
    return "/queue" if role == Role.AGENT else "/reports/sla"


def safe_next(value: str | None) -> str | None:
    """Only a path on this site (no scheme, no host, no ``//`` or ``\\`` tricks), else None."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else None


def same_origin(request: Request) -> bool:
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed:
        return True  # not a browser form post (curl, scripts): nothing to forge with
    parts = urlsplit(claimed)
    return (parts.scheme, parts.netloc) == (request.url.scheme, request.url.netloc)


def viewer(request: Request) -> Principal | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    app = core(request)
    who: Principal | None = app.read(accounts.authenticate_session, token, now=app.clock.now())
    return who


def to_login(request: Request, target: str | None = None) -> RedirectResponse:
    """To ``/login``, coming back to ``target`` (default: the page asked for) afterwards."""
    if target is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
