"""Use case: answer a citizen's request to a chat bot (``domain.message.Command``), in the ingest
transaction, by an outbox row on the same channel (kind ``bot_reply``: never a response, never a
ticket message).

* ``start``: the greeting, with the desk's hours and first-response target from the SLA policy
  the channel's tickets open under, and the attachment limit; with a payload (a ticket token,
  ``T-000123``, from a deep link in our e-mail) it starts linking the chat to that ticket's
  citizen: a one-time code goes to the citizen on a channel we already know, and only that code
  typed back links the chat (``code``); the payload alone never links anything;
* ``status``: the citizen's open tickets (number, topic, status; no personal data);
* ``help``: how to use the desk;
* ``code``: the code typed back: right, the chat becomes an identity of the ticket's citizen
  (audited; a customer the chat belonged to is merged in, undoably); wrong, counted (5 tries).

Channel-neutral: a channel's address field and its ability to send come from its capability.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import sqlalchemy as sa

from ticketing.domain import bot_text
from ticketing.domain.channels import ChannelCapability
from ticketing.domain.events import CustomerLinked, CustomerMerged
from ticketing.domain.identity import ADDRESS_KINDS, IdentityKind, address_identity, mask
from ticketing.domain.lifecycle import TicketStatus
from ticketing.domain.message import Command
from ticketing.domain.service_hours import business_duration, weekly_hours
from ticketing.services.outbox import enqueue
from ticketing.services.replies import new_message_id
from ticketing.services.sla import SlaSetup
from ticketing.store import links
from ticketing.store.audit import record

OPEN = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING_CUSTOMER)
_TOKEN = re.compile(r"^[Tt]?-?0*(\d{1,12})$")


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandSetup:
    capabilities: Mapping[str, ChannelCapability]
    from_address: str
    sla: SlaSetup | None = None
    first_response_hours: int = 4
    max_attachment_bytes: int = 10 * 1024 * 1024
    code_ttl: dt.timedelta = dt.timedelta(minutes=15)
    max_attempts: int = 5
    resend_after: dt.timedelta = dt.timedelta(minutes=2)


def _number(ticket_id: int) -> str:
    return f"T-{ticket_id:06d}"


def _address(cmd: Command, setup: CommandSetup) -> tuple[dict[str, str], tuple[str, str] | None]:
    """Where to answer (the sender's fields) and the chat as an identity (kind, value)."""
    sender = {f.name: str(v) for f in fields(cmd.sender)
              if f.name != "unverified" and (v := getattr(cmd.sender, f.name)) is not None}
    capability = setup.capabilities.get(str(cmd.channel))
    key = capability.address_key if capability else None
    found = address_identity(key, sender.get(key)) if key else None
    return sender, ((str(found[0]), found[1]) if found else None)


def _say(conn: sa.Connection, cmd: Command, text: str, now: dt.datetime,
         setup: CommandSetup) -> None:
    recipient, ident = _address(cmd, setup)
    enqueue(conn, ticket_id=None, message_id=None, channel=str(cmd.channel), kind="bot_reply",
            recipient=recipient, payload={"body": text}, now=now,
            recipient_key=ident[1][:320] if ident else None)


def _start(conn: sa.Connection, cmd: Command, now: dt.datetime, setup: CommandSetup) -> str:
    if cmd.argument:
        return _begin_link(conn, cmd, now, setup)
    minutes, hours = setup.first_response_hours * 60, None
    if setup.sla is not None:
        policy, calendar = setup.sla.policy_for(channel=str(cmd.channel), topic=None,
                                                priority=None, team=None)
        minutes, hours = policy.first_response_minutes, weekly_hours(calendar, cmd.language)
    return bot_text.greeting(cmd.language, hours=hours or "-",
                             first_response=business_duration(minutes, cmd.language),
                             max_mb=setup.max_attachment_bytes // (1024 * 1024))


def _status(conn: sa.Connection, cmd: Command, now: dt.datetime, setup: CommandSetup) -> str:
    _, ident = _address(cmd, setup)
    found = links.identity(conn, *ident) if ident else None
    if found is None:
        return bot_text.status_list(cmd.language, [])
    customer = links.canonical_customer(conn, int(found.customer_id))
    rows = links.open_tickets(conn, customer, [str(s) for s in OPEN])
    return bot_text.status_list(cmd.language, [(_number(r.id), r.topic, r.status) for r in rows])


def _help(conn: sa.Connection, cmd: Command, now: dt.datetime, setup: CommandSetup) -> str:
    return bot_text.help_text(cmd.language, max_mb=setup.max_attachment_bytes // (1024 * 1024))


def _digest(challenge_salt: str, code: str) -> str:
    return hashlib.sha256(f"{challenge_salt}:{code}".encode()).hexdigest()


def _other_channel(conn: sa.Connection, customer: int, cmd: Command,
                   setup: CommandSetup) -> tuple[ChannelCapability, str, str] | None:
    """A channel that can send, other than the command's, and the citizen's address there."""
    by_kind = {str(kind): key for key, kind in ADDRESS_KINDS.items()}
    for row in links.addresses(conn, customer):
        key = by_kind.get(row.kind)
        for capability in setup.capabilities.values():
            if (capability.can_send and capability.channel != str(cmd.channel)
                    and capability.address_key == key and key is not None):
                return capability, key, row.value
    return None


def _begin_link(conn: sa.Connection, cmd: Command, now: dt.datetime,
                setup: CommandSetup) -> str:
    token = _TOKEN.match(cmd.argument)
    owner = links.ticket_owner(conn, int(token.group(1))) if token else None
    _, ident = _address(cmd, setup)
    if owner is None or ident is None:
        return bot_text.link_text(cmd.language, "unknown")
    ticket, customer = owner
    mine = links.identity(conn, *ident)
    if mine is not None and links.canonical_customer(conn, int(mine.customer_id)) == customer:
        return bot_text.link_text(cmd.language, "linked")
    other = _other_channel(conn, customer, cmd, setup)
    if other is None:
        return bot_text.link_text(cmd.language, "no_channel")
    if links.recent_challenges(conn, ticket, now - setup.resend_after):
        return bot_text.link_text(cmd.language, "too_soon")
    capability, key, value = other
    code = f"{secrets.randbelow(10**6):06d}"
    salt = secrets.token_hex(8)
    minutes = int(setup.code_ttl.total_seconds() // 60)
    links.add_challenge(conn, channel=str(cmd.channel), address=ident[1], customer_id=customer,
                        ticket_id=ticket, sent_via=capability.channel,
                        code_hash=f"{salt}${_digest(salt, code)}", created_at=now,
                        expires_at=now + setup.code_ttl)
    subject, body = bot_text.code_message(cmd.language, ticket=_number(ticket), code=code,
                                          minutes=minutes)
    domain = setup.from_address.rpartition("@")[2] or "localhost"
    payload: dict[str, Any] = {"body": body, "subject": subject, "from": setup.from_address,
                               "message_id": new_message_id(ticket, domain)
                               if capability.own_message_ids else None}
    enqueue(conn, ticket_id=ticket, message_id=None, channel=capability.channel,
            kind="verification", recipient={key: value}, payload=payload, now=now,
            recipient_key=value[:320])
    shown = mask(IdentityKind(ADDRESS_KINDS[key]), value)
    return bot_text.code_sent(cmd.language, ticket=_number(ticket), via=capability.label,
                              to=shown, minutes=minutes)


def _code(conn: sa.Connection, cmd: Command, now: dt.datetime, setup: CommandSetup) -> str:
    _, ident = _address(cmd, setup)
    challenge = links.latest_challenge(conn, str(cmd.channel), ident[1], now) if ident else None
    if challenge is None or ident is None:
        return bot_text.link_text(cmd.language, "no_challenge")
    if challenge.attempts >= setup.max_attempts:
        return bot_text.link_text(cmd.language, "used_up")
    salt, _, digest = str(challenge.code_hash).partition("$")
    if not hmac.compare_digest(_digest(salt, cmd.argument), digest):
        left = setup.max_attempts - challenge.attempts - 1
        links.count_attempt(conn, challenge.id, verified_at=None,
                            expire=now if left <= 0 else None)
        return (bot_text.code_wrong(cmd.language, left) if left > 0
                else bot_text.link_text(cmd.language, "used_up"))
    links.count_attempt(conn, challenge.id, verified_at=now)
    customer = links.canonical_customer(conn, int(challenge.customer_id))
    merged, moved = links.link_address(conn, ident[0], ident[1], customer, now)
    shown = {"kind": ident[0], "value": mask(IdentityKind(ident[0]), ident[1]),
             "source": f"code via {challenge.sent_via}"}
    if merged is not None and moved is not None:
        record(conn, CustomerMerged(at=now, customer_id=customer, source=merged, moved=moved,
                                    details={"rule": "link code", "identity": shown,
                                             "ticket_id": challenge.ticket_id}))
    else:
        record(conn, CustomerLinked(at=now, customer_id=customer, ticket_id=challenge.ticket_id,
                                    message_id=None, identities=[shown], claimed=False))
    return bot_text.code_right(cmd.language, _number(int(challenge.ticket_id)))


Handler = Callable[[sa.Connection, Command, dt.datetime, CommandSetup], str]
HANDLERS: Mapping[str, Handler] = {"start": _start, "status": _status, "help": _help,
                                   "code": _code}


def answer_command(conn: sa.Connection, cmd: Command, now: dt.datetime, *,
                   setup: CommandSetup) -> None:
    handler = HANDLERS.get(cmd.name, _help)
    _say(conn, cmd, handler(conn, cmd, now, setup), now, setup)
