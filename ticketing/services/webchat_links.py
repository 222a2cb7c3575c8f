"""Use cases: a web chat opened on another device by a sign-in link sent by e-mail, and where
the conversation continues when the citizen has left (e-mail, or their proven Telegram chat).

**Sign-in links.** A link goes only to the e-mail address a chat itself gave (asked from the
chat, or by typing an address on another device: then the newest chat of that address), never
to an address typed in the request alone, and it opens only that chat: a typed address can
reach no one else's history.  The token is single-use, short-lived and stored as its SHA-256.
The answer to a request by address is the same whether the address has a chat or not, and the
limits (per address, per client address, counted in the database, so shared by every
process) answer the same too, except the per-client one, which says nothing about the address.
Opening a link *moves* the chat: the session gets a new token (the device that opened the link
holds it; others lose it), so the e-mail now proves who holds the chat, and a chat linked to a
known citizen only by the typed address (a claim) becomes a proven identity (audited
``identity.verified``, method ``email_link``).

Each takes a connection and never commits.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ticketing.domain.errors import InvalidInput
from ticketing.domain.events import IdentityVerified
from ticketing.domain.identity import IdentityKind, mask, normalize_email
from ticketing.domain.threading import ticket_tag
from ticketing.services.outbox import enqueue
from ticketing.services.replies import new_message_id
from ticketing.services.webchat import ChatSession, digest, find_session
from ticketing.store import claims
from ticketing.store import links as customers
from ticketing.store import webchat as sessions
from ticketing.store import webchat_links as store
from ticketing.store.audit import record

LIMIT_WINDOW = dt.timedelta(hours=1)
# A chat can be reopened by a link this long after it started (its history stays ours).
LINKABLE_FOR = dt.timedelta(days=30)
CONTINUE_CHOICES = ("email", "telegram")


class TooManyRequests(Exception):
    """Too many link requests from one client address: says nothing about any e-mail."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many sign-in link requests; retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkRules:
    ttl: dt.timedelta
    per_address: int
    per_ip: int
    from_address: str


def request_link(conn: sa.Connection, *, session: ChatSession | None, email: str | None,
                 ip: str | None, now: dt.datetime, rules: LinkRules,
                 url_for: Callable[[str], str]) -> str | None:
    """A sign-in link for ``session`` (to its own address) or for the newest chat of the typed
    ``email``.  Returns the masked address a link went to when asked from the chat itself;
    None for a request by address, whatever happened (nothing is revealed).  Over a limit:
    ``TooManyRequests`` for the client address, or for the chat's own address asked from the
    chat; a request by address over its address's limit is answered as any other."""
    if ip and store.requests_since(conn, since=now - LIMIT_WINDOW, ip=ip[:64]) >= rules.per_ip:
        raise TooManyRequests(int(LIMIT_WINDOW.total_seconds() // 4))
    if session is not None:
        if not session.email:
            raise InvalidInput("obrolan ini tidak memberi alamat e-mail (this chat gave no "
                               "e-mail address)")
        if session.ticket_id is None:
            raise InvalidInput("tulis pesan dulu; belum ada percakapan untuk dibuka (write a "
                               "message first: there is no conversation to open yet)")
        target: Any = session
        address = session.email
    else:
        typed = normalize_email(email or "")
        if typed is None:
            raise InvalidInput("alamat e-mail tidak valid (not an e-mail address)")
        address = typed
        target = store.latest_session_of(conn, address, now - LINKABLE_FOR)
    row: dict[str, Any] = {"email": address[:320], "ip": (ip or "")[:64] or None,
                           "created_at": now, "session_id": target.id if target else None}
    over = store.requests_since(conn, since=now - LIMIT_WINDOW,
                                email=address) >= rules.per_address
    if over and session is not None:  # the chat knows its own address: it may be told
        raise TooManyRequests(int(LIMIT_WINDOW.total_seconds() // 4))
    if target is None or over:
        store.insert(conn, row)  # counted by the limits; nothing sent
        return None
    token = secrets.token_urlsafe(32)
    store.insert(conn, {**row, "token_digest": digest(token), "expires_at": now + rules.ttl})
    _mail(conn, target, address, url_for(token), rules, now)
    return mask(IdentityKind.EMAIL, address) if session is not None else None


def _mail(conn: sa.Connection, chat: Any, address: str, url: str, rules: LinkRules,
          now: dt.datetime) -> None:
    minutes = int(rules.ttl.total_seconds() // 60)
    tag = ticket_tag(chat.ticket_id)
    # No name in it: whoever started the chat typed it, and a link may go to an address they
    # typed too (it must carry nothing of theirs but our words).
    body = ("Halo,\n\n"
            f"Buka obrolan Anda {tag} di perangkat lain dengan tautan ini. Tautan berlaku "
            f"{minutes} menit dan hanya sekali; perangkat yang membukanya melanjutkan obrolan, "
            f"perangkat lain keluar.\n\n{url}\n\n"
            "Bila Anda tidak meminta tautan ini, abaikan e-mail ini.\n\n-- \n"
            f"Open your chat {tag} on another device with the link above. It works once, for "
            f"{minutes} minutes; the device that opens it continues the chat and others are "
            "signed out. If you did not ask for it, ignore this e-mail.\n")
    domain = rules.from_address.rpartition("@")[2] or "localhost"
    enqueue(conn, ticket_id=chat.ticket_id, message_id=None, channel="email",
            kind="signin_link", recipient={"email": address},
            payload={"from": rules.from_address,
                     "message_id": new_message_id(chat.ticket_id, domain),
                     "subject": f"{tag} Tautan masuk obrolan (chat sign-in link)",
                     "body": body},
            now=now, recipient_key=address)


def open_link(conn: sa.Connection, token: str, *, now: dt.datetime, ttl: dt.timedelta
              ) -> tuple[str, ChatSession] | None:
    """The chat a link opens and its new session token (the old one stops working), or None
    for a link that is unknown, used or expired.  Proves the chat's e-mail address."""
    link = store.take(conn, digest(token), now) if token else None
    if link is None or link.session_id is None:
        return None
    store.retire_others(conn, link.session_id, now)
    new_token = secrets.token_urlsafe(32)
    sessions.update(conn, link.session_id, token_digest=digest(new_token),
                    expires_at=now + ttl, ended_at=None, email_verified_at=now)
    chat, _ = find_session(conn, new_token, now)
    assert chat is not None
    if chat.email == link.email and chat.ticket_id is not None:
        _prove(conn, chat, now)
    return new_token, chat


def _prove(conn: sa.Connection, chat: ChatSession, now: dt.datetime) -> None:
    """The holder of the e-mail holds the chat now: the address becomes a proven identity of
    the chat's citizen (it was only typed), and a chat linked to that citizen only by the typed
    address is theirs (its claim is cleared).  Both audited."""
    assert chat.email is not None and chat.ticket_id is not None
    owned = customers.ticket_owner(conn, chat.ticket_id)
    mail = customers.identity(conn, "email", chat.email)
    own = customers.identity(conn, "webchat", chat.public_id)
    if owned is None or mail is None or \
            customers.canonical_customer(conn, int(mail.customer_id)) != owned[1]:
        return
    owner = owned[1]
    proven = []
    if mail.claimed_link_at is not None or mail.source != "sender":
        store.prove(conn, int(mail.id))
        proven.append(f"email {mask(IdentityKind.EMAIL, chat.email)}")
    if own is not None and own.claimed_link_at is not None:
        claims.verify(conn, int(own.id))
        proven.append(f"webchat {mask(IdentityKind.WEBCHAT, chat.public_id)}")
    record(conn, (IdentityVerified(at=now, customer_id=owner, ticket_id=chat.ticket_id,
                                   identity=shown, method="email_link",
                                   note=f"sign-in link to {mask(IdentityKind.EMAIL, chat.email)}")
                  for shown in proven))


# -- where the conversation continues ------------------------------------------------------

def continuation(conn: sa.Connection, public_id: str, *, telegram_on: bool
                 ) -> dict[str, Any]:
    """The channels a chat's unreceived replies can continue on (``options``: "email" with the
    address the chat gave, "telegram" with the citizen's proven, reachable chat when the bot
    can send and the web chat itself is not a mere claim on that citizen), the citizen's choice
    and what will be used (``via``, or None: the replies wait for the next connection)."""
    row = store.session_for_continuation(conn, public_id)
    out: dict[str, Any] = {"options": [], "chosen": None, "via": None}
    if row is None:
        return out
    options: dict[str, str] = {}
    if row.email:
        options["email"] = row.email
    if telegram_on and row.ticket_id is not None:
        own = customers.identity(conn, "webchat", public_id)
        owned = customers.ticket_owner(conn, row.ticket_id)
        if own is not None and own.claimed_link_at is None and owned is not None:
            chat = store.proven_telegram(conn, owned[1])
            if chat is not None:
                options["telegram"] = chat
    chosen = row.continue_on if row.continue_on in options else None
    via = chosen or ("telegram" if "telegram" in options else "email" if options else None)
    return {"options": sorted(options), "chosen": row.continue_on, "via": via,
            "address": options.get(via) if via else None, "name": row.name,
            "ticket_id": row.ticket_id}


def choose(conn: sa.Connection, session: ChatSession, via: str | None) -> None:
    """The citizen's choice of where replies continue (None: ours, the Telegram chat first)."""
    if via is not None and via not in CONTINUE_CHOICES:
        raise InvalidInput(f"continue on one of {', '.join(CONTINUE_CHOICES)} (or nothing)")
    sessions.update(conn, session.id, continue_on=via)
