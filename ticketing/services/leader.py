"""Use case: one leader for a background job (a channel's poller) across every worker host.

Each worker runs the job's loop; before each pass it calls ``hold()``, which takes the database
lease when it is free or expired, or renews it when it is already ours, in a short transaction of
its own.  Only the holder does the pass.  A holder that dies stops renewing, and another worker
takes over once ``ttl`` has run out; ``release()`` on a clean stop hands over at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid

from ticketing.services.clock import Clock
from ticketing.store import leases
from ticketing.store.db import Transactions

log = logging.getLogger(__name__)


def holder_name() -> str:
    """This process, as a lease holder reads in the database: host, pid and a random tail (a
    restarted process with a recycled pid is a new holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Leader:
    def __init__(self, uow: Transactions, name: str, holder: str | None, clock: Clock,
                 ttl: dt.timedelta = dt.timedelta(seconds=30)) -> None:
        """``holder``: who this process is (None: ``holder_name()``)."""
        self.uow, self.name, self.clock, self.ttl = uow, name, clock, ttl
        self.holder = holder or holder_name()
        self._held = False

    def hold(self) -> bool:
        """True if this process leads ``name`` for the next ``ttl`` (taken or renewed now).
        A database error counts as not holding it: the job waits for the next pass."""
        try:
            with self.uow.write() as conn:
                held = leases.acquire(conn, self.name, self.holder, self.clock.now(), self.ttl)
        except Exception:
            log.exception("lease %s: could not be taken or renewed", self.name)
            held = False
        if held != self._held:
            log.info("lease %s %s by %s", self.name, "taken" if held else "lost", self.holder)
        self._held = held
        return held

    def release(self) -> None:
        """Hand the lease over at once (on a clean stop)."""
        with self.uow.write() as conn:
            leases.release(conn, self.name, self.holder)
        self._held = False
