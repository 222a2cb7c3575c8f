"""The Origin check of the web chat's WebSocket handshake.  (The message limits per session
and per client address are token buckets in the database, ``services.webchat_rates``, shared
by every web process; the brake on new sessions counts sessions in the database too.)"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from urllib.parse import urlsplit


def origin_allowed(headers: Mapping[str, str], extra: Collection[str]) -> bool:
    """Browsers always send ``Origin`` on a WebSocket handshake: it must be our own host (the
    ``Host`` the request came to) or one configured.  A client without one (not a browser, so
    no cookie riding along) is let through; its session token still decides."""
    origin = headers.get("origin")
    if origin is None:
        return True
    if origin in extra:
        return True
    parts = urlsplit(origin)
    host = headers.get("host", "")
    return bool(parts.netloc) and parts.scheme in ("http", "https") and parts.netloc == host
