"""Use cases of the web chat's sessions: open one from the pre-chat form (the brake on bursts
of new sessions from one address), find it again by its token (expired ones refused), record
which ticket its messages landed on, its history, where it stands in the queue (position and
expected wait from the queue and the SLA policy; out of hours, the next opening time), the
citizen's rating and typing and read receipts, and the desk's typing and reading.

Each takes a connection and never commits; the transport (``entrypoints.webchat``) owns the
transactions.  The token is a secret: only its SHA-256 is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ticketing.domain.calendar import add_business_minutes, is_open
from ticketing.domain.errors import InvalidInput, NotFound
from ticketing.domain.identity import normalize_email, normalize_nik, normalize_phone
from ticketing.domain.service_hours import moment, weekly_hours
from ticketing.domain.topics import TopicClassifier
from ticketing.services.sla import SlaSetup
from ticketing.store import webchat as store

TYPING_FOR = dt.timedelta(seconds=6)
ONLINE_FOR = dt.timedelta(seconds=45)
BRAKE_WINDOW = dt.timedelta(minutes=10)


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionForm:
    name: str
    email: str | None = None
    phone: str | None = None
    nik: str | None = None
    topic: str | None = None
    language: str = "id"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatSession:
    id: int
    public_id: str
    name: str
    email: str | None
    phone: str | None
    nik: str | None
    topic: str | None
    language: str
    expires_at: dt.datetime
    ended_at: dt.datetime | None
    first_external_id: str | None
    ticket_id: int | None

    def sender(self) -> dict[str, str | None]:
        return {"name": self.name, "email": self.email, "phone": self.phone}


class BrakeApplied(Exception):
    """Too many new sessions from one address: try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many new chat sessions; retry after {retry_after} s")
        self.retry_after = retry_after


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def _opt(value: Any, limit: int, what: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text")
    value = " ".join(value.split())
    if len(value) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    return value or None


def check_form(data: Mapping[str, Any], topics: TopicClassifier) -> SessionForm:
    """The pre-chat form (or a partner's JSON), checked once: a name; e-mail, phone and NIK
    valid when given; a topic the classifier knows."""
    name = _opt(data.get("name"), 200, "name")
    if name is None:
        raise InvalidInput("name is required (nama wajib diisi)")
    email = _opt(data.get("email"), 320, "email")
    if email is not None and (email := normalize_email(email)) is None:
        raise InvalidInput("email is not an e-mail address (alamat e-mail tidak valid)")
    phone = _opt(data.get("phone"), 40, "phone")
    if phone is not None and (phone := normalize_phone(phone)) is None:
        raise InvalidInput("phone is not a phone number (nomor telepon tidak valid)")
    nik = _opt(data.get("nik"), 40, "nik")
    if nik is not None and (nik := normalize_nik(nik)) is None:
        raise InvalidInput("nik is not a NIK of 16 digits (NIK harus 16 digit)")
    topic = _opt(data.get("topic"), 80, "topic")
    if topic is not None and topic not in topics.topics:
        raise InvalidInput(f"unknown topic {topic[:40]!r}")
    language = "en" if data.get("language") == "en" else "id"
    return SessionForm(name=name, email=email, phone=phone, nik=nik, topic=topic,
                       language=language)


def open_session(conn: sa.Connection, form: SessionForm, *, ip: str | None, now: dt.datetime,
                 ttl: dt.timedelta, burst: int) -> tuple[str, ChatSession]:
    """A new session and its secret token.  Over ``burst`` new sessions from one address in
    ten minutes, ``BrakeApplied`` with a wait that doubles with every further attempt."""
    if ip:
        recent = store.created_since(conn, ip, now - BRAKE_WINDOW)
        if recent >= burst:
            raise BrakeApplied(min(2 ** min(recent - burst, 10), 600))
    token = secrets.token_urlsafe(32)
    public_id = secrets.token_urlsafe(15)
    values = {"public_id": public_id, "token_digest": digest(token), "name": form.name,
              "email": form.email, "phone": form.phone, "nik": form.nik, "topic": form.topic,
              "language": form.language, "ip": (ip or "")[:64] or None, "created_at": now,
              "expires_at": now + ttl}
    sid = store.insert(conn, values)
    return token, ChatSession(id=sid, public_id=public_id, name=form.name, email=form.email,
                              phone=form.phone, nik=form.nik, topic=form.topic,
                              language=form.language, expires_at=now + ttl, ended_at=None,
                              first_external_id=None, ticket_id=None)


def _session(row: Any) -> ChatSession:
    return ChatSession(id=row.id, public_id=row.public_id, name=row.name, email=row.email,
                       phone=row.phone, nik=row.nik, topic=row.topic, language=row.language,
                       expires_at=row.expires_at, ended_at=row.ended_at,
                       first_external_id=row.first_external_id, ticket_id=row.ticket_id)


def find_session(conn: sa.Connection, token: str, now: dt.datetime
                 ) -> tuple[ChatSession | None, str]:
    """The session of a token, or None and why (``no_session`` / ``session_expired``)."""
    row = store.by_digest(conn, digest(token)) if token else None
    if row is None:
        return None, "no_session"
    if row.expires_at <= now:
        return None, "session_expired"
    return _session(row), ""


def renew(conn: sa.Connection, session_id: int, now: dt.datetime, ttl: dt.timedelta) -> None:
    store.update(conn, session_id, expires_at=now + ttl, last_seen_at=now)


def landed(conn: sa.Connection, session: ChatSession, *, external_id: str, ticket_id: int | None
           ) -> None:
    """A message of the session was stored on ``ticket_id``: later ones thread to the first."""
    values: dict[str, Any] = {}
    if session.first_external_id is None:
        values["first_external_id"] = external_id
    if ticket_id is not None and ticket_id != session.ticket_id:
        values["ticket_id"] = ticket_id
    if values:
        store.update(conn, session.id, **values)


def history(conn: sa.Connection, public_id: str) -> list[dict[str, Any]]:
    out = []
    for r in store.history(conn, public_id):
        item: dict[str, Any] = {"id": r.id, "from": "citizen" if r.direction == "in" else "agent",
                                "text": r.body if r.retracted_at is None else "",
                                "sent_at": r.sent_at.isoformat()}
        if r.direction == "in" and r.external_id:
            item["client_id"] = r.external_id.partition(":")[2]
        else:
            item["author"] = r.author_name
        if r.attachments:
            item["attachments"] = [{"filename": a.get("filename"), "size": a.get("size")}
                                   for a in r.attachments if isinstance(a, dict)]
        out.append(item)
    return out


def queue_status(conn: sa.Connection, session: ChatSession, *, sla: SlaSetup | None,
                 minutes_per_chat: int, agents_online: int, now: dt.datetime
                 ) -> dict[str, Any]:
    """Where the citizen stands: ``position`` among unassigned tickets waiting for a first
    response (1: next), the expected wait in minutes (position × an agent's time per chat ÷
    agents on duty, counted from the next opening when the desk is closed, never beyond the
    SLA's first-response due time), whether the desk is open
    and, when closed, its next opening time and hours."""
    out: dict[str, Any] = {"type": "queue"}
    calendar, starts = None, now  # when agents can start on the queue: now, or the opening
    if sla is not None:
        _, calendar = sla.policy_for(channel="webchat", topic=session.topic, priority=None,
                                     team=None)
    if calendar is not None:
        open_now = is_open(calendar, now)
        out["open"] = open_now
        if not open_now:
            opens = add_business_minutes(calendar, now, 1) - dt.timedelta(minutes=1)
            out["opens_at"], starts = opens.isoformat(), opens
            out["opens_local"] = moment(opens, calendar, session.language)
            out["hours"] = weekly_hours(calendar, session.language)
            # Both languages: the page's switch must not leave the notice in the other one.
            out["local"] = {lang: {"opens": moment(opens, calendar, lang),
                                   "hours": weekly_hours(calendar, lang)}
                            for lang in ("id", "en")}
    if session.ticket_id is None:
        return out
    ahead, me = store.queue_ahead(conn, session.ticket_id)
    if me is None or me.first_response_at is not None or me.assignee_id is not None:
        out["position"] = 0
        out["assigned"] = me is not None and me.assignee_id is not None
        return out
    out["position"] = ahead + 1
    served = starts + dt.timedelta(minutes=(ahead + 1) * minutes_per_chat
                                   / max(agents_online, 1))
    if me.first_response_due_at is not None:
        out["due_at"] = me.first_response_due_at.isoformat()
        served = min(served, max(me.first_response_due_at, now))
    out["wait_minutes"] = max(1, round((served - now).total_seconds() / 60))
    return out


def rate(conn: sa.Connection, session: ChatSession, value: int, now: dt.datetime) -> None:
    if not 1 <= value <= 5:
        raise InvalidInput("a rating is 1 to 5")
    if session.ticket_id is None:
        raise NotFound("the chat has no ticket to rate yet")
    store.rate(conn, session.ticket_id, value, now)


def citizen_typing(conn: sa.Connection, session_id: int, on: bool, now: dt.datetime) -> None:
    store.update(conn, session_id, citizen_typing_at=now if on else None, last_seen_at=now)


def citizen_read(conn: sa.Connection, session_id: int, message_id: int, now: dt.datetime
                 ) -> None:
    store.update(conn, session_id, citizen_read_id=message_id, last_seen_at=now)


def seen(conn: sa.Connection, public_ids: set[str], now: dt.datetime) -> None:
    """These sessions are connected now (presence on the agent's page)."""
    if public_ids:
        store.update_by_public(conn, public_ids, last_seen_at=now)


def desk_typing(conn: sa.Connection, ticket_id: int, now: dt.datetime) -> None:
    store.mark_desk(conn, ticket_id, now, agent_typing_at=now)


def desk_read(conn: sa.Connection, ticket_id: int, now: dt.datetime) -> None:
    """An agent looked at the ticket: the citizen's messages so far are read."""
    last = store.last_inbound_id(conn, ticket_id)
    if last is not None:
        store.mark_desk(conn, ticket_id, now, agent_read_id=last)


def presence(conn: sa.Connection, ticket_id: int, now: dt.datetime) -> dict[str, Any] | None:
    """For the agent's ticket page: is the citizen's chat open, are they typing, what have
    they read.  None for a ticket without a chat."""
    row = store.of_ticket(conn, ticket_id)
    if row is None:
        return None
    online = (row.ended_at is None and row.last_seen_at is not None
              and now - row.last_seen_at <= ONLINE_FOR)
    typing = (online and row.citizen_typing_at is not None
              and now - row.citizen_typing_at <= TYPING_FOR)
    return {"online": online, "typing": typing, "read_id": row.citizen_read_id,
            "last_seen_at": row.last_seen_at.isoformat() if row.last_seen_at else None}


def end(conn: sa.Connection, session_id: int, now: dt.datetime) -> None:
    store.update(conn, session_id, ended_at=now, citizen_typing_at=None)


def desk_changes(conn: sa.Connection, since: dt.datetime) -> list[Any]:
    """Sessions whose desk side (agent typing, agent read) changed after ``since``."""
    return store.desk_changes(conn, since)


def desk_read_id(conn: sa.Connection, public_id: str) -> int | None:
    """The last of the citizen's messages an agent has read (for a page after a reload)."""
    row = store.by_public_id(conn, public_id)
    return int(row.agent_read_id) if row is not None and row.agent_read_id else None
