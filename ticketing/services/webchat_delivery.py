"""Use cases: the desk's replies on the web chat reach the citizen.

A web chat reply is an ordinary reply (``services.replies``): a message and an outbox row
addressed to the session (``recipient_key`` is its public id).  The channel is ``live``, so the
outbox worker leaves the row to the web process, which holds the citizen's socket:

* written to an open WebSocket, or returned to the citizen's long poll, the row is settled as
  sent (``outbox.settle_sent``): that instant is when the reply *reached the citizen's client*
  and counts as a response (first response, SLA clocks);
* no connection: it waits, and the next connection gets it (with the history) and settles it;
* still waiting after ``webchat_email_after_minutes``: it continues on the citizen's proven,
  reachable Telegram chat when they have one (the same message, re-addressed; their answer
  there threads back to it), else by e-mail when the chat gave an address (our own
  Message-ID, the ticket's tag), or where the citizen chose; without either it keeps waiting
  for the next connection.

The transcript of a chat can be e-mailed at its end (an outbox row of kind ``transcript``,
never a response).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ticketing.domain.threading import reply_subject, ticket_tag
from ticketing.services.outbox import enqueue, settle_sent
from ticketing.services.ports import Delivery
from ticketing.services.replies import new_message_id
from ticketing.services.webchat import ChatSession, history
from ticketing.services.webchat_links import continuation
from ticketing.store import webchat as store
from ticketing.store import webchat_links as links

RETRY_HAND_OVER = dt.timedelta(minutes=5)


@dataclass(frozen=True, slots=True, kw_only=True)
class Waiting:
    outbox_id: int
    session: str
    kind: str
    message_id: int
    frame: dict[str, Any]
    recipient: dict[str, Any]
    payload: dict[str, Any]

    def delivery(self) -> Delivery:
        return Delivery(outbox_id=self.outbox_id, channel="webchat", kind=self.kind,
                        recipient=self.recipient, payload=self.payload)


def reply_frame(message_id: int, text: str, author: str | None, sent_at: dt.datetime
                ) -> dict[str, Any]:
    return {"type": "message", "from": "agent", "id": message_id, "text": text,
            "author": author, "sent_at": sent_at.isoformat()}


def waiting(conn: sa.Connection, public_id: str | None = None) -> list[Waiting]:
    """Replies no connection has received yet (all sessions, or one)."""
    rows = store.pending_for(conn, public_id) if public_id else store.pending_replies(conn)
    return [Waiting(outbox_id=r.id, session=r.recipient_key, kind=r.kind,
                    message_id=r.message_id, recipient=dict(r.recipient),
                    payload=dict(r.payload),
                    frame=reply_frame(r.message_id, str(r.payload.get("body") or ""),
                                      r.author_name, r.sent_at))
            for r in rows if r.recipient_key]


def delivered(conn: sa.Connection, items: Iterable[Waiting], now: dt.datetime) -> None:
    """These replies reached a connection of their session now."""
    for item in items:
        settle_sent(conn, item.delivery(), None, now)


def hand_over_due(conn: sa.Connection, *, now: dt.datetime, after: dt.timedelta) -> bool:
    """Whether any reply waits for a hand-over (a read, so an idle worker takes no write
    lock for it)."""
    return bool(store.hand_over_due(conn, now - after, now, limit=1))


def hand_over(conn: sa.Connection, *, now: dt.datetime, after: dt.timedelta,
              from_address: str, telegram_on: bool = False) -> int:
    """Replies waiting longer than ``after`` continue where the citizen can be reached
    (``webchat_links.continuation``: their proven Telegram chat when the bot can send, or the
    e-mail address the chat gave, or what the citizen chose); returns how many were handed
    over.  Without either they keep waiting for the next connection."""
    domain = from_address.rpartition("@")[2] or "localhost"
    parked, moved = [], 0
    for row in store.hand_over_due(conn, now - after, now):
        recipient = dict(row.recipient)
        where = (continuation(conn, row.recipient_key, telegram_on=telegram_on)
                 if row.recipient_key else {})
        via = where.get("via") or ("email" if recipient.get("email") else None)
        if row.ticket_id is None or via is None:
            parked.append(row.id)
            continue
        body = str(row.payload.get("body") or "")
        if via == "telegram":
            text = (body + "\n\n— Balasan atas obrolan Anda di situs kami "
                    f"{ticket_tag(row.ticket_id)}; balas pesan ini untuk melanjutkan. (A reply "
                    "to your web chat; answer here to continue.)")
            store.readdress(conn, row.id, channel="telegram",
                            recipient={"telegram_id": where["address"],
                                       "name": where.get("name") or recipient.get("name")},
                            payload={**dict(row.payload), "body": text, "in_reply_to": None},
                            external_id=None, now=now)
            links.move_message(conn, row.message_id, "telegram")
            moved += 1
            continue
        email = where.get("address") if where.get("via") == "email" else recipient["email"]
        our_id = new_message_id(row.ticket_id, domain)
        payload = {**dict(row.payload), "from": from_address, "message_id": our_id,
                   "in_reply_to": None, "references": [],
                   "subject": row.payload.get("subject") or reply_subject(row.ticket_id, None),
                   "body": body + "\n\n-- \nBalasan atas obrolan Anda di situs kami "
                                  f"{ticket_tag(row.ticket_id)}. Balas e-mail ini untuk "
                                  "melanjutkan. (A reply to your web chat; answer this e-mail "
                                  "to continue.)"}
        store.readdress(conn, row.id, channel="email",
                        recipient={"email": email, "name": recipient.get("name")},
                        payload=payload, external_id=our_id, now=now)
        moved += 1
    store.park(conn, parked, now + RETRY_HAND_OVER)
    return moved


def email_transcript(conn: sa.Connection, session: ChatSession, *, from_address: str,
                     now: dt.datetime) -> int | None:
    """The chat's transcript to the citizen's e-mail (None without an address or a ticket)."""
    if not session.email or session.ticket_id is None:
        return None
    lines = [f"Transkrip obrolan {ticket_tag(session.ticket_id)} (chat transcript)", ""]
    for item in history(conn, session.public_id):
        who = session.name if item["from"] == "citizen" else (item.get("author") or "Petugas")
        lines.append(f"[{item['sent_at'][:16].replace('T', ' ')} UTC] {who}: {item['text']}")
    domain = from_address.rpartition("@")[2] or "localhost"
    our_id = new_message_id(session.ticket_id, domain)
    return enqueue(conn, ticket_id=session.ticket_id, message_id=None, channel="email",
                   kind="transcript", recipient={"email": session.email, "name": session.name},
                   payload={"from": from_address, "message_id": our_id,
                            "subject": f"{ticket_tag(session.ticket_id)} Transkrip obrolan",
                            "body": "\n".join(lines)},
                   now=now, recipient_key=session.email)
