"""Web chat sessions: one browser conversation, resumable by its secret token (we keep only its
digest), with what the pre-chat form said, where the conversation stands (its ticket, what each
side has read, who is typing) and when it expires."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, BigId


class WebchatSession(Base):
    __tablename__ = "webchat_sessions"
    __table_args__ = (sa.Index("ix_webchat_sessions_ip_created", "ip", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The session's identity (``IdentityKind.WEBCHAT``): in message senders, outbox recipients.
    public_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    token_digest: Mapped[bytes] = mapped_column(sa.LargeBinary(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(320))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    nik: Mapped[str | None] = mapped_column(sa.String(16))
    topic: Mapped[str | None] = mapped_column(sa.String(80))
    language: Mapped[str] = mapped_column(sa.String(5), default="id")
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]
    # The session's first stored message (later ones thread to it) and its ticket.
    first_external_id: Mapped[str | None] = mapped_column(sa.String(200))
    ticket_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("tickets.id"),
                                                  index=True)
    # Read receipts: the last agent message the citizen has read; the last citizen message an
    # agent has read (message ids).
    citizen_read_id: Mapped[int | None] = mapped_column(BigId)
    agent_read_id: Mapped[int | None] = mapped_column(BigId)
    citizen_typing_at: Mapped[dt.datetime | None]
    agent_typing_at: Mapped[dt.datetime | None]
    # Changed by the desk's side (agent typing, agent read): what the live transport polls.
    agent_changed_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    # When a sign-in link sent to ``email`` was opened: the address is the citizen's (proof).
    email_verified_at: Mapped[dt.datetime | None]
    # Where replies continue when the citizen has left: "email", "telegram", or None (the
    # proven Telegram chat when there is one, else the e-mail).
    continue_on: Mapped[str | None] = mapped_column(sa.String(16))


class WebchatLink(Base):
    """A request for a sign-in link (from the chat itself, or typed on another device): the
    single-use, short-lived token's digest (only when a link was sent) and the address it went
    to.  Rows without a token are requests that sent nothing (unknown address, over the limit):
    kept so the per-address and per-client limits count them too."""

    __tablename__ = "webchat_links"
    __table_args__ = (sa.Index("ix_webchat_links_email_created", "email", "created_at"),
                      sa.Index("ix_webchat_links_ip_created", "ip", "created_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("webchat_sessions.id"),
                                                   index=True)
    token_digest: Mapped[bytes | None] = mapped_column(sa.LargeBinary(32), unique=True)
    email: Mapped[str] = mapped_column(sa.String(320))
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None]
    used_at: Mapped[dt.datetime | None]
