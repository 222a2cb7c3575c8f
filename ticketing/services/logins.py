"""Signing in with a password, throttled per account address and per client address (README
"Security"), and lifting an account's lock.

A sign-in is three steps, so that the slow password hash runs outside any transaction:
``admit`` (one short write: refuse a locked account or an attempt that comes too soon, else
count the attempt in advance), ``password_ok`` (scrypt, no database), ``settle`` (one short
write: a success clears the account's count, a failure may lock it).  The counts live in the
database, so every server process sees the same; two attempts at once cannot both take the
same free slot (compare-and-set).  The address typed is counted whether or not an account has
it, and an unknown address costs the same scrypt work: the answers and their timing do not
tell which addresses exist.  Failed sign-ins are logged with the address masked, never the
password."""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ticketing.domain.errors import LoginThrottled, PermissionDenied
from ticketing.domain.identity import IdentityKind, mask
from ticketing.domain.throttle import ACCOUNT, CLIENT, ThrottlePolicy
from ticketing.services import accounts
from ticketing.services.accounts import Principal, Role
from ticketing.domain.events import UserUnlocked
from ticketing.store import tables, throttle
from ticketing.store.audit import record

log = logging.getLogger(__name__)
users = tables.users
UNLOCK_ROLES = (Role.SUPERVISOR, Role.ADMIN)
SCOPES: tuple[tuple[str, ThrottlePolicy], ...] = (("account", ACCOUNT), ("ip", CLIENT))


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    """An admitted sign-in attempt, counted in advance as a failure."""

    account: str
    client: str
    failures: int  # the account's failures in a row, this attempt included
    password_hash: str | None  # None: no active account has this address


def account_key(email: str) -> str:
    return email.strip().lower()[:320]


def admit(conn: sa.Connection, email: str, *, client: str, now: dt.datetime) -> Attempt:
    """Count this attempt, or raise ``LoginThrottled`` (nothing is written then)."""
    account, client = account_key(email), (client or "unknown")[:64]
    subjects = {"account": account, "ip": client}
    seen = {scope: throttle.read(conn, scope, subjects[scope]) for scope, _ in SCOPES}
    if seen["account"].locked_at is not None:
        raise LoginThrottled("account locked", locked=True)
    waits = [c.retry_at for c in seen.values() if c.retry_at is not None and c.retry_at > now]
    if waits:
        raise LoginThrottled("too many attempts", retry_after=_seconds(max(waits) - now))
    counted: dict[str, int] = {}
    for scope, policy in SCOPES:
        before = seen[scope]
        failures = policy.counted(before.failures, before.last_failure_at, now) + 1
        if not throttle.take(conn, scope, subjects[scope], seen=before.failures,
                             failures=failures, now=now, retry_at=now + policy.wait_after(failures)):
            # Another attempt was counted since we looked: this one waits its turn (the
            # exception rolls back what was counted for the other scope).
            raise LoginThrottled("attempts at the same time", retry_after=1)
        counted[scope] = failures
    stored = conn.execute(sa.select(users.c.password_hash).where(
        users.c.email == account, users.c.active.is_(True))).scalar_one_or_none()
    return Attempt(account=account, client=client, failures=counted["account"],
                   password_hash=stored)


def password_ok(attempt: Attempt, password: str) -> bool:
    """The scrypt comparison; an unknown address is compared with a throwaway hash, as slow."""
    return accounts.check_password(attempt.password_hash, password)


def settle(conn: sa.Connection, attempt: Attempt, ok: bool, *,
           now: dt.datetime) -> Principal | None:
    """The signed-in principal, or None (and maybe a lock) for a failure."""
    if ok:
        who = accounts.principal_by_email(conn, attempt.account)
        if who is not None:
            throttle.forget(conn, "account", attempt.account)
            throttle.give_back(conn, "ip", attempt.client)
            return who
    shown = mask(IdentityKind.EMAIL, attempt.account)
    log.warning("failed sign-in for %s from %s (%d in a row)", shown, attempt.client,
                attempt.failures)
    if ACCOUNT.locks(attempt.failures):
        throttle.lock(conn, "account", attempt.account, now)
        log.warning("sign-in locked for %s after %d failures in a row", shown, attempt.failures)
    return None


def unlock(conn: sa.Connection, email: str, *, by: Principal | None,
           now: dt.datetime) -> dict[str, Any]:
    """Lift an account's lock and clear its failures (supervisors and admins; ``by`` None is
    the operator's command line).  Audited."""
    if by is not None and by.role not in UNLOCK_ROLES:
        raise PermissionDenied("only supervisors and admins may unlock an account")
    account = account_key(email)
    was_locked = throttle.forget(conn, "account", account)
    actor = f"user:{by.user_id}" if by is not None else "cli"
    record(conn, UserUnlocked(at=now, actor=actor, email=account, was_locked=was_locked))
    log.info("sign-in unlocked for %s by %s", mask(IdentityKind.EMAIL, account), actor)
    return {"email": account, "was_locked": was_locked}


def locked_accounts(conn: sa.Connection) -> list[dict[str, Any]]:
    return [{"email": r.email, "name": r.name, "failures": r.failures,
             "locked_at": r.locked_at.isoformat()}
            for r in throttle.locked_accounts(conn, "account")]


def _seconds(wait: dt.timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds()))
