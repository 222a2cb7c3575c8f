"""Use cases for staff accounts, API tokens and web sessions.  Passwords are scrypt hashes;
tokens are shown once and stored only as SHA-256 digests, so a database leak reveals neither.

A web session is a row of ``api_tokens`` too (no table of its own): a random ``ts_`` token in
an HttpOnly cookie, valid for ``SESSION_LIFETIME`` from the login and revoked at logout.  The
API does not take session tokens as bearer tokens, and the pages take nothing else."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from ticketing.domain.errors import Conflict, InvalidInput, NotFound
from ticketing.store import tables
from ticketing.services.clock import Clock

users = tables.users
tokens = tables.api_tokens
SESSION_PREFIX = "ts_"
SESSION_LIFETIME = dt.timedelta(hours=12)


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    user_id: int
    email: str
    name: str
    role: Role
    skills: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()

    def can_see_personal_data(self) -> bool:
        return sees_personal_data(self.role)


def sees_personal_data(role: str) -> bool:
    """Supervisors and admins see NIK, phones and addresses whole; agents see them masked."""
    return role in (Role.SUPERVISOR, Role.ADMIN)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                             p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(conn: sa.Connection, *, email: str, name: str, role: str, password: str,
                skills: Sequence[str] = (), languages: Sequence[str] = ("id",),
                clock: Clock) -> int:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InvalidInput(f"not an e-mail address: {email!r}")
    try:
        role = Role(role)
    except ValueError as exc:
        raise InvalidInput(f"role must be one of {', '.join(Role)}") from exc
    if len(password) < 8:
        raise InvalidInput("password must have at least 8 characters")
    if conn.execute(sa.select(users.c.id).where(users.c.email == email)).first():
        raise Conflict(f"a user {email} exists already")
    row = conn.execute(users.insert().values(
        email=email, name=name.strip() or email, role=str(role),
        password_hash=hash_password(password),
        skills=sorted({s.strip().lower() for s in skills if s.strip()}),
        languages=sorted({x.strip().lower() for x in languages if x.strip()}) or ["id"],
        active=True, created_at=clock.now()).returning(users.c.id))
    return int(row.scalar_one())


def create_token(conn: sa.Connection, *, email: str, clock: Clock) -> str:
    uid = conn.execute(sa.select(users.c.id).where(users.c.email == email.strip().lower())
                       ).scalar_one_or_none()
    if uid is None:
        raise NotFound(f"no user {email}")
    token = "tk_" + secrets.token_urlsafe(32)
    conn.execute(tokens.insert().values(user_id=uid, token_hash=token_digest(token),
                                        created_at=clock.now()))
    return token


def _principal(row: Any) -> Principal:
    return Principal(user_id=int(row[0]), email=row[1], name=row[2], role=Role(row[3]),
                     skills=tuple(row[4] or ()), languages=tuple(row[5] or ()))


def authenticate_token(conn: sa.Connection, token: str) -> Principal | None:
    if not token or len(token) > 200 or token.startswith(SESSION_PREFIX):
        return None
    row = conn.execute(
        sa.select(users.c.id, users.c.email, users.c.name, users.c.role, users.c.skills,
                  users.c.languages)
        .join(tokens, tokens.c.user_id == users.c.id)
        .where(tokens.c.token_hash == token_digest(token), tokens.c.revoked_at.is_(None),
               users.c.active.is_(True))).first()
    return _principal(row) if row else None


def check_password(stored: str | None, password: str) -> bool:
    """``stored`` None (no such account): the same scrypt work against a throwaway hash, so
    the time taken does not tell whether the address has an account."""
    if stored is None:
        verify_password(password, _unknown_user_hash())
        return False
    return verify_password(password, stored)


def principal_by_email(conn: sa.Connection, email: str) -> Principal | None:
    row = conn.execute(
        sa.select(users.c.id, users.c.email, users.c.name, users.c.role, users.c.skills,
                  users.c.languages)
        .where(users.c.email == email.strip().lower(), users.c.active.is_(True))).first()
    return _principal(row) if row else None


def authenticate_password(conn: sa.Connection, email: str, password: str) -> Principal | None:
    """Unthrottled: the sign-in page goes through ``services.logins`` instead."""
    stored = conn.execute(sa.select(users.c.password_hash).where(
        users.c.email == email.strip().lower(), users.c.active.is_(True))).scalar_one_or_none()
    return principal_by_email(conn, email) if check_password(stored, password) else None


@functools.cache
def _unknown_user_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def create_session(conn: sa.Connection, *, user_id: int, now: dt.datetime) -> str:
    """A new web session for this user: the cookie value (stored only as its digest)."""
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    conn.execute(tokens.insert().values(user_id=user_id, token_hash=token_digest(token),
                                        created_at=now))
    return token


def authenticate_session(conn: sa.Connection, token: str, *,
                         now: dt.datetime) -> Principal | None:
    if not token.startswith(SESSION_PREFIX) or len(token) > 200:
        return None
    row = conn.execute(
        sa.select(users.c.id, users.c.email, users.c.name, users.c.role, users.c.skills,
                  users.c.languages)
        .join(tokens, tokens.c.user_id == users.c.id)
        .where(tokens.c.token_hash == token_digest(token), tokens.c.revoked_at.is_(None),
               tokens.c.created_at > now - SESSION_LIFETIME,
               users.c.active.is_(True))).first()
    return _principal(row) if row else None


def end_session(conn: sa.Connection, token: str, *, now: dt.datetime) -> None:
    if token.startswith(SESSION_PREFIX):
        conn.execute(tokens.update().where(tokens.c.token_hash == token_digest(token),
                                           tokens.c.revoked_at.is_(None))
                     .values(revoked_at=now))
