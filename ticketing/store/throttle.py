"""The ``login_throttles`` rows: failed sign-ins per (scope, subject), read and changed with
compare-and-set so that concurrent attempts in several processes each count once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ticketing.store import tables

t = tables.login_throttles
users = tables.users


@dataclass(frozen=True, slots=True, kw_only=True)
class Counts:
    failures: int = 0
    last_failure_at: dt.datetime | None = None
    retry_at: dt.datetime | None = None
    locked_at: dt.datetime | None = None


def _key(scope: str, subject: str) -> Any:
    return sa.and_(t.c.scope == scope, t.c.subject == subject)


def read(conn: sa.Connection, scope: str, subject: str) -> Counts:
    """The row (inserted empty first, so that a compare-and-set has a row to compare)."""
    values = {"scope": scope, "subject": subject, "failures": 0}
    insert = (postgresql.insert(t) if conn.dialect.name == "postgresql" else sqlite.insert(t))
    conn.execute(insert.values(values).on_conflict_do_nothing())
    row = conn.execute(sa.select(t.c.failures, t.c.last_failure_at, t.c.retry_at, t.c.locked_at)
                       .where(_key(scope, subject))).one()
    return Counts(failures=row.failures, last_failure_at=row.last_failure_at,
                  retry_at=row.retry_at, locked_at=row.locked_at)


def take(conn: sa.Connection, scope: str, subject: str, *, seen: int, failures: int,
         now: dt.datetime, retry_at: dt.datetime) -> bool:
    """Count one more attempt if nobody counted one since we read ``seen``."""
    done = conn.execute(t.update().where(_key(scope, subject), t.c.failures == seen,
                                         t.c.locked_at.is_(None))
                        .values(failures=failures, last_failure_at=now, retry_at=retry_at))
    return done.rowcount == 1


def give_back(conn: sa.Connection, scope: str, subject: str) -> None:
    """An attempt counted in advance that turned out to succeed."""
    conn.execute(t.update().where(_key(scope, subject), t.c.failures > 0)
                 .values(failures=t.c.failures - 1))


def lock(conn: sa.Connection, scope: str, subject: str, now: dt.datetime) -> None:
    conn.execute(t.update().where(_key(scope, subject)).values(locked_at=now))


def forget(conn: sa.Connection, scope: str, subject: str) -> bool:
    """Start again from zero (and lift a lock); whether there was a lock to lift."""
    was_locked = conn.execute(sa.select(t.c.locked_at).where(_key(scope, subject))
                              ).scalar_one_or_none() is not None
    conn.execute(t.delete().where(_key(scope, subject)))
    return was_locked


def locked_accounts(conn: sa.Connection, scope: str) -> list[Any]:
    """Locked rows of existing accounts, most recent lock first."""
    return list(conn.execute(
        sa.select(users.c.email, users.c.name, t.c.failures, t.c.locked_at)
        .join(users, users.c.email == t.c.subject)
        .where(t.c.scope == scope, t.c.locked_at.is_not(None))
        .order_by(t.c.locked_at.desc(), users.c.email)))
