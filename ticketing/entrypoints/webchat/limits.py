"""Per-process limits of the web chat transport: a token bucket per session and per client
address for messages, and the Origin check of the WebSocket handshake.  In memory: with
several web processes each enforces its own share (the session brake, in the database, is
shared)."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from urllib.parse import urlsplit


class Buckets:
    """``rate`` tokens a minute, at most ``burst`` saved up, per key."""

    def __init__(self, per_minute: int, burst: int, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = max(per_minute, 1) / 60.0
        self.burst = float(max(burst, 1))
        self._clock = clock
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float:
        """0 if allowed (a token is taken), else the seconds until one is free."""
        now = self._clock()
        tokens, then = self._state.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens >= 1.0:
            self._state[key] = (tokens - 1.0, now)
            return 0.0
        self._state[key] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def forget_idle(self) -> None:
        """Drop keys whose bucket is full again (memory stays bounded)."""
        now = self._clock()
        self._state = {k: (t, at) for k, (t, at) in self._state.items()
                       if t + (now - at) * self.rate < self.burst}


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
