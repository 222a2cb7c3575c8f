"""The citizen's page ``/chat``: one HTML page, a stylesheet and a plain script, served as
files (no framework, no build step).  The page is Indonesian first; the script switches to
English.  Strict headers: scripts only from us, no inline script, no framing."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

router = APIRouter()
STATIC = Path(__file__).with_name("static")
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
}
TYPES = {"chat.js": "text/javascript; charset=utf-8", "chat.css": "text/css; charset=utf-8",
         "desk.js": "text/javascript; charset=utf-8",
         "links.js": "text/javascript; charset=utf-8"}


@cache
def _file(name: str) -> bytes:
    return (STATIC / name).read_bytes()


@router.get("/chat", response_class=HTMLResponse, include_in_schema=False)
def chat_page() -> Response:
    return Response(_file("chat.html"), media_type="text/html; charset=utf-8",
                    headers={**HEADERS, "Cache-Control": "no-store"})


@router.get("/chat/{name}", include_in_schema=False)
def chat_asset(name: str) -> Response:
    if name not in TYPES:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(_file(name), media_type=TYPES[name],
                    headers={**HEADERS, "Cache-Control": "public, max-age=300"})
