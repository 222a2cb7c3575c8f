"""A web chat the citizen left continues on their Telegram chat, as the same ticket: only when
the Telegram chat is proven theirs (a chat that typed a known citizen's e-mail is a claim until
the sign-in link sent there is opened), through the outbox and the Telegram sender (stand-in),
and their Telegram answer threads back onto the ticket.  Their choice of e-mail wins."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa

from channels.telegram.parse import CONTENT_TYPE, update_key
from ticketing.app import App
from ticketing.domain.raw import RawDelivery
from ticketing.entrypoints.worker import hand_over_chats
from ticketing.services import webchat_links as links
from ticketing.services.accounts import Principal, Role
from ticketing.services.clock import FixedClock
from ticketing.services.ingest import store_and_process
from ticketing.services.outbox import deliver_due
from ticketing.services.webchat import history
from ticketing.store import tables
from tests.channels.telegram.standin import StandIn
from tests.channels.telegram.updates import message
from tests.channels.webchat.conftest import chat_with_message
from tests.helpers import reply
from tests.routing_helpers import agent

o, m = tables.outbox, tables.messages


def _ingest(app: App, clock: FixedClock, update: dict[str, Any]) -> Any:
    raw = RawDelivery(channel="telegram", key=update_key("123456", int(update["update_id"])),
                      payload=json.dumps(update).encode(), content_type=CONTENT_TYPE)
    [out] = store_and_process(app.uow, [raw], policy=app.ingest_policy, clock=clock)
    return out


def _rows(app: App, ticket_id: int) -> list[Any]:
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(o.c.channel, o.c.status, o.c.recipient, o.c.message_id)
                                 .where(o.c.ticket_id == ticket_id, o.c.kind == "reply")
                                 .order_by(o.c.id)))


def test_a_left_chat_continues_on_the_proven_telegram_chat(tg: App, standin: StandIn,
                                                           clock: FixedClock) -> None:
    first = _ingest(tg, clock, message(1, "Saldo insentif saya belum cair, email saya "
                                          "siti@example.id", chat=777, message_id=10))
    token, chat, out = chat_with_message(tg, "Saldo insentif saya belum cair juga",
                                         email="siti@example.id")
    assert out.customer_id == first.customer_id  # joined through the typed address: a claim
    who = Principal(user_id=agent(tg), email="a@example.id", name="Ani", role=Role.AGENT)

    def where() -> dict[str, Any]:
        found: dict[str, Any] = tg.read(links.continuation, chat.public_id, telegram_on=True)
        return found
    assert where()["options"] == ["email"]  # the typed address does not reach her Telegram
    sent: list[str] = []
    rules = links.LinkRules(ttl=dt.timedelta(minutes=15), per_address=3, per_ip=10,
                            from_address="pengaduan@example.id")
    tg.write(links.request_link, session=chat, email=None, ip="10.0.0.9", now=clock.now(),
             rules=rules, url_for=lambda t: sent.append(t) or t)
    assert tg.write(links.open_link, sent[0], now=clock.now(), ttl=dt.timedelta(hours=1))
    assert where()["options"] == ["email", "telegram"] and where()["via"] == "telegram"

    ours = reply(tg, out.ticket_id, "Insentif Anda cair besok.", by=who, delivered=False)
    assert hand_over_chats(tg) == 0  # the chat may still come back
    clock.advance(minutes=tg.settings.webchat_email_after_minutes + 1)
    assert hand_over_chats(tg) == 1
    [row] = _rows(tg, out.ticket_id)
    assert (row.channel, row.recipient["telegram_id"]) == ("telegram", "777")

    def sleep(seconds: float) -> None:
        clock.at += dt.timedelta(seconds=seconds)
    deliver_due(tg.uow, tg.senders, clock, capabilities=tg.capabilities, sleep=sleep)
    call = standin.calls("sendMessage")[-1]
    assert call.params["chat_id"] == 777
    assert call.params["text"].startswith("Insentif Anda cair besok.")
    assert f"T-{out.ticket_id:06d}" in call.params["text"]
    with tg.engine.connect() as conn:
        msg = conn.execute(sa.select(m.c.channel, m.c.external_id, m.c.delivered_at)
                           .where(m.c.id == ours["message_id"])).one()
        texts = [h["text"] for h in history(conn, chat.public_id)]
    assert msg.channel == "telegram" and msg.external_id == "777:1001" and msg.delivered_at
    assert texts[-1] == "Insentif Anda cair besok."  # the chat's history still shows it
    answer = _ingest(tg, clock, message(2, "Oke terima kasih", chat=777, message_id=11,
                                        reply_to_message={"message_id": 1001, "date": 1,
                                                          "chat": {"id": 777,
                                                                   "type": "private"}}))
    assert answer.ticket_id == out.ticket_id

    # The citizen chose e-mail: the next unreceived reply goes there.
    tg.write(links.choose, chat, "email")
    reply(tg, out.ticket_id, "Mohon cek rekening Anda.", by=who, channel="webchat",
          delivered=False)
    clock.advance(minutes=tg.settings.webchat_email_after_minutes + 1)
    assert hand_over_chats(tg) == 1
    assert _rows(tg, out.ticket_id)[-1].channel == "email"
    assert _rows(tg, out.ticket_id)[-1].recipient["email"] == "siti@example.id"


def test_without_a_bot_or_a_proven_chat_it_continues_by_email(app: App,
                                                             clock: FixedClock) -> None:
    """The app without a Telegram token: the capability cannot send, so e-mail."""
    token, chat, out = chat_with_message(app, email="budi@example.id")
    with app.engine.begin() as conn:
        conn.execute(tables.identities.insert().values(
            customer_id=out.customer_id, kind="telegram", value="888", source="sender",
            created_at=clock.now()))
    who = Principal(user_id=agent(app), email="a@example.id", name="Ani", role=Role.AGENT)
    reply(app, out.ticket_id, "Sudah kami cek.", by=who, delivered=False)
    found = app.read(links.continuation, chat.public_id, telegram_on=True)
    assert found["via"] == "telegram"  # a bot that can send would take it
    clock.advance(minutes=app.settings.webchat_email_after_minutes + 1)
    assert hand_over_chats(app) == 1  # but this app's bot is off
    assert _rows(app, out.ticket_id)[-1].channel == "email"
