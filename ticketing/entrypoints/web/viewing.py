"""Who has a ticket open, for the ticket page's collision notice: an in-process registry fed by
page views and by the open page's pings (``POST /tickets/{id}/viewing``, every 20 s from
``app.js``).  A viewer not seen for ``FRESH`` is gone.

One process's memory: with several web processes each knows its own viewers only (placeholder
for a shared store; the stale-view check on sending, which reads the database, holds anyway)."""

from __future__ import annotations

import threading
import time

FRESH = 60.0
_lock = threading.Lock()
_seen: dict[int, dict[str, tuple[str, float]]] = {}


def saw(ticket_id: int, email: str, name: str) -> None:
    now = time.monotonic()
    with _lock:
        _seen.setdefault(ticket_id, {})[email] = (name, now)
        if len(_seen) > 10_000:  # forget the stalest tickets
            for tid in sorted(_seen, key=lambda t: max(v[1] for v in _seen[t].values()))[:1000]:
                del _seen[tid]


def others(ticket_id: int, email: str) -> list[str]:
    now = time.monotonic()
    with _lock:
        viewers = _seen.get(ticket_id, {})
        for gone in [e for e, (_, at) in viewers.items() if now - at > FRESH]:
            del viewers[gone]
        return sorted(f"{name} ({e})" for e, (name, _) in viewers.items() if e != email)
