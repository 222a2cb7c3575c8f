"""How sign-in attempts are slowed down: a few free failures, then a doubling wait before the
next attempt, capped; for an account, a lock after a number of failures in a row.  Pure rules
over counts and instants (the clock and the stored counts are the caller's)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class ThrottlePolicy:
    free: int  # failures answered at once
    cap: dt.timedelta  # the longest wait between two attempts
    lock_after: int | None = None  # this many failures in a row lock (None: never)
    forget_after: dt.timedelta | None = None  # a quiet spell this long starts the count again

    def wait_after(self, failures: int) -> dt.timedelta:
        """The wait before the attempt that follows ``failures`` failures: none for the free
        ones, then 1 s, 2 s, 4 s ... up to ``cap``."""
        beyond = failures - self.free
        if beyond <= 0:
            return dt.timedelta(0)
        if beyond > 30:
            return self.cap
        return min(dt.timedelta(seconds=2 ** (beyond - 1)), self.cap)

    def locks(self, failures: int) -> bool:
        return self.lock_after is not None and failures >= self.lock_after

    def counted(self, failures: int, last_failure: dt.datetime | None,
                now: dt.datetime) -> int:
        """The failures that still count at ``now`` (all of them, unless long forgotten)."""
        if self.forget_after is not None and last_failure is not None and \
                now - last_failure >= self.forget_after:
            return 0
        return failures


# An account (the address typed, known or not, so that both answer alike): three free tries,
# then 1, 2, 4 ... 32 s; the tenth failure in a row locks it until a supervisor or admin
# unlocks it.  A successful sign-in starts the count again.
ACCOUNT = ThrottlePolicy(free=3, cap=dt.timedelta(minutes=15), lock_after=10)
# A client address (one office may sit behind it): twenty free failures an hour, then waits
# growing to 15 minutes; never a lock, which would shut a whole office out.
CLIENT = ThrottlePolicy(free=20, cap=dt.timedelta(minutes=15),
                        forget_after=dt.timedelta(hours=1))


@dataclass(frozen=True, slots=True, kw_only=True)
class Bucket:
    """A token bucket: ``per_minute`` tokens a minute, at most ``burst`` saved up."""

    per_minute: int
    burst: int

    @property
    def per_second(self) -> float:
        return max(self.per_minute, 1) / 60.0

    def level(self, tokens: float, then: dt.datetime, now: dt.datetime) -> float:
        """The tokens at ``now`` of a bucket that held ``tokens`` at ``then``."""
        elapsed = max((now - then).total_seconds(), 0.0)
        return min(float(max(self.burst, 1)), tokens + elapsed * self.per_second)

    def wait(self, tokens: float) -> float:
        """Seconds until a bucket holding ``tokens`` has a whole one (0: it has)."""
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.per_second

    def full_after(self, tokens: float) -> dt.timedelta:
        """How long until a bucket holding ``tokens`` is full again (then it may be forgotten)."""
        return dt.timedelta(seconds=max(self.burst - tokens, 0.0) / self.per_second)
