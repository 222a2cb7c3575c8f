"""Use case: the web chat's message limits, per session and per client address, shared by
every web process and host (``store.webchat_rates``): a token bucket each, taken from in the
transaction that stores the frames (the raw sink's gate), so a refused frame is neither stored
nor counted twice, and several processes never grant more than one limit between them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from ticketing.domain.throttle import Bucket
from ticketing.store import webchat_rates as store

FORGET_AFTER = dt.timedelta(hours=1)  # longer than any bucket takes to fill again


class ChatLimits:
    def __init__(self, *, per_session: Bucket, per_ip: Bucket) -> None:
        self.per_session, self.per_ip = per_session, per_ip

    @staticmethod
    def keys(public_id: str, ip: str) -> tuple[str, str]:
        return (f"s:{public_id}", f"ip:{ip[:90]}")

    def bucket(self, key: str) -> Bucket:
        return self.per_ip if key.startswith("ip:") else self.per_session

    def take(self, conn: sa.Connection, wanted: Sequence[tuple[str, ...]],
             now: dt.datetime) -> list[float]:
        """For each delivery in order, 0 if every bucket it names had a token (one taken from
        each), else the seconds until they all have one (nothing taken)."""
        keys = {k for ks in wanted for k in ks}
        held = store.lock(conn, keys, now, {k: float(self.bucket(k).burst) for k in keys})
        level = {k: self.bucket(k).level(t, at, now) for k, (t, at) in held.items()}
        out = []
        for ks in wanted:
            wait = max((self.bucket(k).wait(level[k]) for k in ks), default=0.0)
            if wait <= 0:
                for k in ks:
                    level[k] -= 1.0
            out.append(wait)
        store.save(conn, {k: (level[k], now) for k in keys})
        return out


def forget(conn: sa.Connection, now: dt.datetime) -> int:
    """Buckets idle for ``FORGET_AFTER`` (full again): deleted."""
    return store.forget(conn, now - FORGET_AFTER)
