"""Out through the real python-telegram-bot against the stand-in: replies via the outbox
(delivered, threaded by Telegram's ids), long texts split, photos and documents, 429 honoured,
403 marks the citizen unreachable, 400 fails for good, timeouts are retried; getFile downloads
with the size limit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from channels.telegram.bot import BotRunner, make_bot
from channels.telegram.send import TelegramFetcher, TelegramSender, split_text
from ticketing.app import App
from ticketing.domain.errors import (ChannelUnavailable, RateLimited, RecipientRejected,
                                     TooLarge)
from ticketing.domain.raw import RawDelivery
from ticketing.services import replies
from ticketing.services.accounts import Principal, Role
from ticketing.services.clock import FixedClock
from ticketing.services.ingest import store_and_process
from ticketing.services.outbox import deliver_due, enqueue
from ticketing.services.ports import Delivery
from ticketing.store import tables
from channels.telegram.parse import CONTENT_TYPE, update_key
from tests.channels.telegram.standin import TOKEN, StandIn
from tests.channels.telegram.updates import message
from tests.services.conftest import user


@pytest.fixture
def runner(standin: StandIn) -> Iterator[BotRunner]:
    r = BotRunner(make_bot(TOKEN, standin.url, timeout=1.0))
    yield r
    r.close()


def _delivery(text: str = "Baik, kami cek.", chat: str = "777", **payload: object) -> Delivery:
    return Delivery(outbox_id=1, channel="telegram", kind="reply",
                    recipient={"telegram_id": chat}, payload={"body": text, **payload})


def test_split_keeps_every_character_under_the_limit() -> None:
    text = ("Paragraf satu. " * 200 + "\n\n") * 3
    parts = split_text(text)
    assert len(parts) == 3 and all(len(p) <= 4096 for p in parts)
    assert "".join(parts).replace(" ", "").replace("\n", "") == \
        text.replace(" ", "").replace("\n", "")
    assert split_text("x" * 5000) == ["x" * 4096, "x" * 904]


def test_sender_texts_splits_and_threads(standin: StandIn, runner: BotRunner) -> None:
    sender = TelegramSender(runner, gap=0)
    assert sender(_delivery("Halo", in_reply_to="777:10")) == "777:1001"
    [call] = standin.calls("sendMessage")
    assert call.params["chat_id"] == 777 and call.params["text"] == "Halo"
    assert call.params["reply_parameters"]["message_id"] == 10
    long = "kata " * 2000  # 10,000 characters: three messages
    assert sender(_delivery(long)) == "777:1004"
    assert [len(c.params["text"]) <= 4096 for c in standin.calls("sendMessage")[1:]] == \
        [True] * 3


def test_sender_sends_photos_and_documents(standin: StandIn, runner: BotRunner) -> None:
    files = {"a" * 64: b"\x89PNG...", "b" * 64: b"%PDF-1.4"}
    sender = TelegramSender(runner, files.__getitem__, gap=0)
    sender(_delivery("Berikut buktinya", attachments=[
        {"sha256": "a" * 64, "filename": "bukti.png", "content_type": "image/png"},
        {"sha256": "b" * 64, "filename": "surat.pdf", "content_type": "application/pdf"}]))
    assert len(standin.calls("sendMessage")) == 1
    [photo] = standin.calls("sendPhoto")
    [doc] = standin.calls("sendDocument")
    assert photo.params["photo"]["filename"] == "bukti.png"
    assert doc.params["document"] == {"filename": "surat.pdf", "size": 8}


def test_sender_translates_telegram_errors(standin: StandIn, runner: BotRunner) -> None:
    sender = TelegramSender(runner, gap=0)
    standin.fail("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(RateLimited) as limited:
        sender(_delivery())
    assert limited.value.retry_after == 7
    standin.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    with pytest.raises(RecipientRejected) as blocked:
        sender(_delivery())
    assert blocked.value.unreachable
    standin.fail("sendMessage", 400, "Bad Request: message text is empty")
    with pytest.raises(RecipientRejected) as bad:
        sender(_delivery())
    assert not bad.value.unreachable
    standin.stall("sendMessage", 2.5)
    with pytest.raises(ChannelUnavailable):
        sender(_delivery())


def test_fetcher_downloads_within_the_limit(standin: StandIn, runner: BotRunner) -> None:
    fetch = TelegramFetcher(runner)
    standin.add_file("ph-1", b"jpeg bytes" * 10, "photos/file_1.jpg")
    assert fetch("ph-1", 1000) == (b"jpeg bytes" * 10, "image/jpeg")
    with pytest.raises(TooLarge):
        fetch("ph-1", 50)
    with pytest.raises(RecipientRejected):
        fetch("no-such-file", 1000)
    assert [c.method for c in standin.calls()].count("download") == 1


def _agent(app: App) -> Principal:
    uid = user(app, "agen@example.id", "supervisor")
    return Principal(user_id=uid, email="agen@example.id", name="Agen", role=Role.SUPERVISOR)


def test_reply_goes_out_through_the_outbox_and_threads_back(tg: App, standin: StandIn,
                                                            clock: FixedClock) -> None:
    def ingest(update: dict[str, object]) -> object:
        raw = RawDelivery(channel="telegram", key=update_key("123456", int(update["update_id"])),
                          payload=json.dumps(update).encode(), content_type=CONTENT_TYPE)
        [out] = store_and_process(tg.uow, [raw], policy=tg.ingest_policy, clock=clock)
        return out

    first = ingest(message(1, "Saldo JHT saya belum masuk", chat=777, message_id=10))
    agent = _agent(tg)
    with tg.engine.begin() as conn:
        sent = replies.reply_to_ticket(conn, first.ticket_id, "Baik, kami cek.", by=agent,
                                       now=clock.now(), from_address="p@example.id",
                                       capabilities=tg.capabilities)
    assert sent["channel"] == "telegram"

    def sleep(seconds: float) -> None:
        clock.at += dt.timedelta(seconds=seconds)

    standin.fail("sendMessage", 429, "Too Many Requests: retry after 5", retry_after=5)
    assert deliver_due(tg.uow, tg.senders, clock, capabilities=tg.capabilities,
                       sleep=sleep) == 1
    with tg.engine.connect() as conn:
        row = conn.execute(sa.select(tables.outbox)).one()
    assert row.status == "pending" and "retry" in row.last_error.lower()
    clock.at += dt.timedelta(seconds=5)
    deliver_due(tg.uow, tg.senders, clock, capabilities=tg.capabilities, sleep=sleep)
    call = standin.calls("sendMessage")[-1]
    assert call.params["reply_parameters"]["message_id"] == 10 and call.params["chat_id"] == 777
    with tg.engine.connect() as conn:
        ours = conn.execute(sa.select(tables.messages).where(
            tables.messages.c.id == sent["message_id"])).one()
        ticket = conn.execute(sa.select(tables.tickets)).one()
    assert ours.external_id == "777:1001" and ours.delivered_at is not None
    assert ticket.first_response_at is not None
    answer = ingest(message(2, "Oke, terima kasih", chat=777, message_id=11,
                            reply_to_message={"message_id": 1001, "date": 1772416800,
                                              "chat": {"id": 777, "type": "private"}}))
    assert answer.ticket_id == first.ticket_id
    standin.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    with tg.engine.begin() as conn:
        replies.reply_to_ticket(conn, first.ticket_id, "Sudah kami proses.", by=agent,
                                now=clock.now(), from_address="p@example.id",
                                capabilities=tg.capabilities)
    clock.at += dt.timedelta(seconds=2)
    deliver_due(tg.uow, tg.senders, clock, capabilities=tg.capabilities, sleep=sleep)
    with tg.engine.connect() as conn:
        options = replies.reply_channels(conn, first.ticket_id, capabilities=tg.capabilities,
                                         now=clock.now())
    [option] = options["options"]
    assert not option["possible"] and "tidak bisa dihubungi" in option["reason"]


def test_every_message_of_a_split_reply_takes_its_own_pace_slot(tg: App, standin: StandIn,
                                                                 clock: FixedClock) -> None:
    """A long reply is several Bot API messages: each one waits for its own slot per chat and
    overall (here 4 a second overall, to see it with a few messages), as the outbox holds for
    whole deliveries; the stand-in logs the fake clock's time."""
    standin.state.now = lambda: clock.at.timestamp()
    telegram = dataclasses.replace(tg.capabilities["telegram"], pace_overall=0.25)
    capabilities = {**tg.capabilities, "telegram": telegram}
    long = "kata " * 2000  # 10,000 characters: three messages
    with tg.engine.begin() as conn:
        for chat, text in ((901, long), (902, "Baik."), (903, long), (904, "Kami cek."),
                           (905, "Sudah.")):
            enqueue(conn, ticket_id=None, message_id=None, channel="telegram", kind="reply",
                    recipient={"telegram_id": str(chat)}, payload={"body": text},
                    now=clock.now(), recipient_key=str(chat))

    def sleep(seconds: float) -> None:
        clock.at += dt.timedelta(seconds=seconds)

    for _ in range(100):
        deliver_due(tg.uow, tg.senders, clock, capabilities=capabilities, sleep=sleep)
        with tg.engine.connect() as conn:
            if not conn.execute(sa.select(sa.func.count()).select_from(tables.outbox).where(
                    tables.outbox.c.status != "sent")).scalar_one():
                break
        clock.at += dt.timedelta(seconds=0.1)
    calls = sorted(standin.calls("sendMessage"), key=lambda c: c.at)
    assert len(calls) == 3 + 1 + 3 + 1 + 1
    eps = 1e-6
    assert all(b.at - a.at >= 0.25 - eps for a, b in zip(calls, calls[1:]))
    by_chat: dict[int, list[float]] = {}
    for c in calls:
        by_chat.setdefault(c.params["chat_id"], []).append(c.at)
    assert len(by_chat[901]) == len(by_chat[903]) == 3
    assert all(b - a >= 1.0 - eps for times in by_chat.values()
               for a, b in zip(times, times[1:]))


def test_a_split_reply_goes_on_from_its_progress_after_a_429(tg: App, standin: StandIn,
                                                             clock: FixedClock) -> None:
    """Paced, a long reply is sent one message a call and its progress kept on the outbox row:
    the worker is free between the parts, and a 429 on the second part retries from there, so
    no part goes twice."""
    long = " ".join(f"bagian{k:04d}" for k in range(1000))  # 10,999 characters: three parts
    with tg.engine.begin() as conn:
        enqueue(conn, ticket_id=None, message_id=None, channel="telegram", kind="reply",
                recipient={"telegram_id": "911"}, payload={"body": long}, now=clock.now(),
                recipient_key="911")

    def deliver(after: float) -> Any:
        clock.at += dt.timedelta(seconds=after)
        deliver_due(tg.uow, tg.senders, clock, capabilities=tg.capabilities,
                    sleep=lambda s: None)
        with tg.engine.connect() as conn:
            return conn.execute(sa.select(tables.outbox)).one()

    row = deliver(0)
    assert (row.status, row.payload["parts_sent"], row.attempts) == ("pending", 1, 0)
    assert deliver(0.5).payload["parts_sent"] == 1  # not before a second after the first
    standin.fail("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    row = deliver(0.6)
    assert row.status == "pending" and "retry" in row.last_error.lower()
    assert row.payload["parts_sent"] == 1
    assert deliver(3.1).payload["parts_sent"] == 2
    row = deliver(1.1)
    assert row.status == "sent" and row.external_id == "911:1003"
    texts = [c.params["text"] for c in standin.calls("sendMessage") if c.status == 200]
    assert len(texts) == len(set(texts)) == 3 and "".join(texts).replace(" ", "") == \
        long.replace(" ", "")


def test_a_chats_next_message_is_timed_from_the_answer_of_a_late_send(
        tg: App, standin: StandIn, clock: FixedClock) -> None:
    """A send that leaves its slot late (a loaded host) must not squeeze the chat's next
    message: the chat's key is held while the send is in flight and released from its
    answer."""
    standin.state.now = lambda: clock.at.timestamp()
    with tg.engine.begin() as conn:
        for text in ("Pertama", "Kedua"):
            enqueue(conn, ticket_id=None, message_id=None, channel="telegram", kind="reply",
                    recipient={"telegram_id": "921"}, payload={"body": text},
                    now=clock.now(), recipient_key="921")
    real = tg.senders["telegram"]
    late = [0.4]

    def slow_first(delivery: Delivery) -> str | None:
        if late:
            clock.at += dt.timedelta(seconds=late.pop())  # left its slot 0.4 s late
        return real(delivery)

    def sleep(seconds: float) -> None:
        clock.at += dt.timedelta(seconds=seconds)

    for _ in range(40):
        deliver_due(tg.uow, {"telegram": slow_first}, clock, capabilities=tg.capabilities,
                    sleep=sleep)
        if len(standin.calls("sendMessage")) == 2:
            break
        clock.at += dt.timedelta(seconds=0.1)
    first, second = standin.calls("sendMessage")
    assert second.at - first.at >= 1.0 - 1e-6
