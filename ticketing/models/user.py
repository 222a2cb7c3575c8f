"""Staff accounts (agents, supervisors, admins) and their API tokens (stored hashed)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, BigId, Json


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(20))
    password_hash: Mapped[str] = mapped_column(sa.String(300))
    skills: Mapped[list[str]] = mapped_column(Json, default=list)
    languages: Mapped[list[str]] = mapped_column(Json, default=list)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[dt.datetime]


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class LoginThrottle(Base):
    """Failed sign-ins per typed account address and per client address (``scope`` "account"
    or "ip"), shared by every server process: ``services.logins`` reads and writes it."""

    __tablename__ = "login_throttles"

    scope: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    subject: Mapped[str] = mapped_column(sa.String(320), primary_key=True)
    failures: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_failure_at: Mapped[dt.datetime | None]
    retry_at: Mapped[dt.datetime | None]  # no attempt is taken before this instant
    locked_at: Mapped[dt.datetime | None]  # locked until a supervisor or admin unlocks
