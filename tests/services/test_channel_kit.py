"""The channel kit every chat channel builds on: the group-commit sink's async and many-at-once
doors, leases and the leader, cursors, pacing shared through the database, unreachable
citizens, attachments fetched after ingest, and edits / take-backs of stored messages.  Run on
SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import pytest
import sqlalchemy as sa

from ticketing.app import App
from ticketing.domain.channels import ChannelCapability
from ticketing.domain.errors import MalformedPayload, RecipientRejected, TooLarge
from ticketing.domain.message import (Attachment, Channel, InboundMessage, Revision, RevisionKind,
                                      Sender, parse_sent_at)
from ticketing.domain.raw import RawDelivery, message_key
from ticketing.services import replies
from ticketing.services.accounts import Principal, Role
from ticketing.services.clock import FixedClock
from ticketing.services.fetching import fetch_pending
from ticketing.services.ingest import store_and_process
from ticketing.services.intake import GroupCommitSink
from ticketing.services.leader import Leader
from ticketing.services.outbox import deliver_due, enqueue
from ticketing.services.ports import Delivery
from ticketing.store import cursors, pacing, revisions, tables
from tests.services.conftest import audit_rows, user

KIT = "application/x-test-kit"
TELEGRAM = ChannelCapability(channel="telegram", label="Telegram", can_send=True,
                             address_key="telegram_id", max_text=4096, attachments=True,
                             pace_per_recipient=1.0, pace_overall=0.25)


def _parse(raw: bytes, meta: Mapping[str, Any]) -> InboundMessage:
    data = json.loads(raw)
    if "body" not in data:
        raise MalformedPayload("no body")
    revision = (Revision(kind=RevisionKind(data["revision"]), of=data["of"])
                if "revision" in data else None)
    return InboundMessage(
        channel=Channel.TELEGRAM, external_id=data["id"], sent_at=parse_sent_at(data["at"]),
        sender=Sender(name="Sari", telegram_id=data.get("from", "777")), body=data["body"],
        revision=revision,
        attachments=tuple(Attachment(filename=n, content_type="image/jpeg", size=0, locator=n)
                          for n in data.get("files", ())))


@pytest.fixture
def kit(app: App) -> App:
    """The app with a test channel parser (Telegram-shaped messages with revisions and
    referenced files) and a Telegram capability that can send."""
    policy = dataclasses.replace(app.ingest_policy,
                                 parsers={**app.ingest_policy.parsers, KIT: _parse})
    app.__dict__["ingest_policy"] = policy
    app.__dict__["capabilities"] = {**app.capabilities, "telegram": TELEGRAM}
    return app


def _agent(app: App) -> Principal:
    uid = user(app, "agen@example.id", "supervisor")
    return Principal(user_id=uid, email="agen@example.id", name="Agen", role=Role.SUPERVISOR)


def _event(app: App, eid: str, body: str, at: str = "2026-03-02T09:00:00+07:00",
           **more: Any) -> Any:
    payload = json.dumps({"id": eid, "body": body, "at": at, **more}).encode()
    delivery = RawDelivery(channel="telegram", key=message_key("telegram", eid),
                           payload=payload, content_type=KIT)
    [out] = store_and_process(app.uow, [delivery], policy=app.ingest_policy, clock=app.clock)
    return out


def _message(app: App, message_id: int) -> Any:
    with app.engine.connect() as conn:
        return conn.execute(sa.select(tables.messages)
                            .where(tables.messages.c.id == message_id)).one()


# ---------------------------------------------------------------- sink, leases, cursors


@pytest.mark.parametrize("writers", [1, 2])
def test_group_commit_sink_submit_and_put_many(app: App, writers: int) -> None:
    sink = GroupCommitSink(app.uow, app.clock, writers=writers)
    try:
        one = RawDelivery(channel="telegram", key="k:1", payload=b"{}", content_type=KIT)
        many = [RawDelivery(channel="telegram", key=f"k:{n}", payload=b"{}", content_type=KIT)
                for n in (1, 2, 3)]
        assert sink.submit(one).result(timeout=10) is True
        assert sink.put_many(many) == [False, True, True]
    finally:
        sink.close()
    with app.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.inbox)
                            ).scalar_one() == 3
    with pytest.raises(RuntimeError):
        sink.submit(one).result(timeout=1)


def test_group_commit_sink_repeats_and_a_lost_connection(app: App) -> None:
    """A key twice in one batch and again later is stored once; on PostgreSQL the writer's kept
    autocommit connection, killed under it, fails that batch (the caller answers "try again")
    and the next batch runs on a new connection."""
    sink = GroupCommitSink(app.uow, app.clock, linger=0.05)
    try:
        same = [RawDelivery(channel="telegram", key=k, payload=b"{}", content_type=KIT)
                for k in ("r:1", "r:1", "r:2")]
        assert sink.put_many(same) == [True, False, True]
        assert sink.put_many(same[1:]) == [False, False]
        if app.uow.has_row_locks():
            with app.engine.connect() as conn:
                conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                    "current_database() AND pid <> pg_backend_pid()")
            lost = RawDelivery(channel="telegram", key="r:3", payload=b"{}", content_type=KIT)
            with pytest.raises(Exception):
                sink.submit(lost).result(timeout=10)
            assert sink.submit(lost).result(timeout=10) is True  # Telegram's retry
    finally:
        sink.close()
    with app.engine.connect() as conn:
        keys = conn.execute(sa.select(tables.inbox.c.idempotency_key)
                            .order_by(tables.inbox.c.idempotency_key)).scalars().all()
    assert keys == (["r:1", "r:2", "r:3"] if app.uow.has_row_locks() else ["r:1", "r:2"])


def test_one_leader_at_a_time_and_takeover_after_expiry(app: App, clock: FixedClock) -> None:
    ttl = dt.timedelta(seconds=30)
    first = Leader(app.uow, "telegram:poll", "host-a", clock, ttl)
    second = Leader(app.uow, "telegram:poll", "host-b", clock, ttl)
    assert first.hold() and not second.hold()
    clock.at += dt.timedelta(seconds=20)
    assert first.hold() and not second.hold()  # renewed: 30 s from now
    clock.at += dt.timedelta(seconds=29)
    assert not second.hold()
    clock.at += dt.timedelta(seconds=2)  # the holder died: expired
    assert second.hold() and not first.hold()
    second.release()
    assert first.hold()
    with app.engine.connect() as conn:
        fence = conn.execute(sa.select(tables.leases.c.fence)).scalar_one()
    assert fence == 3  # a, b, a again: every change of holder counts


def test_cursor_round_trip(app: App, clock: FixedClock) -> None:
    with app.uow.write() as conn:
        assert cursors.get(conn, "telegram:offset:1") is None
        cursors.put(conn, "telegram:offset:1", {"offset": 41}, clock.now())
        cursors.put(conn, "telegram:offset:1", {"offset": 42}, clock.now())
    with app.uow.read() as conn:
        assert cursors.get(conn, "telegram:offset:1") == {"offset": 42}


# ---------------------------------------------------------------- pacing


def test_reserve_spaces_sends_and_refuses_far_slots(app: App, clock: FixedClock) -> None:
    now, wait = clock.now(), dt.timedelta(seconds=2)
    keys = [("telegram", 0.5), ("telegram:9", 1.0)]
    with app.uow.write() as conn:
        got = [pacing.reserve(conn, keys, now, wait) for _ in range(4)]
    assert got[:3] == [(now, True), (now + dt.timedelta(seconds=1), True),
                       (now + dt.timedelta(seconds=2), True)]
    assert got[3] == (now + dt.timedelta(seconds=3), False)
    with app.uow.write() as conn:  # another chat only waits for the channel's own pace
        assert pacing.reserve(conn, [("telegram", 0.5), ("telegram:8", 1.0)], now, wait) == (
            now + dt.timedelta(seconds=2.5), False)


def test_outbox_holds_the_pace_per_chat_and_overall(kit: App, clock: FixedClock) -> None:
    sent: list[tuple[dt.datetime, str]] = []

    def sender(delivery: Delivery) -> str:
        sent.append((clock.now(), str(delivery.recipient["telegram_id"])))
        return f"{delivery.recipient['telegram_id']}:{len(sent)}"

    def sleep(seconds: float) -> None:
        clock.at += dt.timedelta(seconds=seconds)

    with kit.uow.write() as conn:
        for n in range(12):
            enqueue(conn, ticket_id=None, message_id=None, channel="telegram", kind="reply",
                    recipient={"telegram_id": str(100 + n % 3)}, payload={"text": "x"},
                    now=clock.now())
    for _ in range(40):
        deliver_due(kit.uow, {"telegram": sender}, clock, capabilities=kit.capabilities,
                    sleep=sleep)
        clock.at += dt.timedelta(milliseconds=100)
    assert len(sent) == 12
    for a, b in zip(sent, sent[1:]):
        assert (b[0] - a[0]).total_seconds() >= 0.25 - 1e-6
    for chat in ("100", "101", "102"):
        times = [at for at, who in sent if who == chat]
        assert len(times) == 4
        assert all((b - a).total_seconds() >= 1.0 - 1e-6 for a, b in zip(times, times[1:]))
    with kit.engine.connect() as conn:  # a deferral is not an attempt
        assert set(conn.execute(sa.select(tables.outbox.c.attempts)).scalars()) == {1}


# ---------------------------------------------------------------- unreachable


def test_blocked_bot_marks_the_address_and_a_new_message_clears_it(kit: App) -> None:
    out = _event(kit, "1:10", "Saldo saya belum masuk, mohon dicek")
    tid = out.ticket_id
    agent = _agent(kit)
    with kit.engine.begin() as conn:
        replies.reply_to_ticket(conn, tid, "Baik, kami cek.", by=agent, now=kit.clock.now(),
                                from_address="pengaduan@example.id",
                                capabilities=kit.capabilities, channel="telegram")

    def blocked(delivery: Delivery) -> str:
        raise RecipientRejected("Forbidden: bot was blocked by the user", unreachable=True)

    deliver_due(kit.uow, {"telegram": blocked}, kit.clock, capabilities=kit.capabilities)
    with kit.engine.connect() as conn:
        ident = conn.execute(sa.select(tables.identities).where(
            tables.identities.c.kind == "telegram")).one()
        options = replies.reply_channels(conn, tid, capabilities=kit.capabilities,
                                         now=kit.clock.now())
    assert ident.unreachable_at is not None and "blocked" in ident.unreachable_reason
    [option] = options["options"]
    assert not option["possible"] and "tidak bisa dihubungi" in option["reason"]
    [event] = audit_rows(kit, "customer.unreachable")
    assert event["channel"] == "telegram" and "777" not in event["identity"]
    _event(kit, "1:11", "Halo, saya buka blokirnya", at="2026-03-02T10:00:00+07:00")
    with kit.engine.connect() as conn:
        options = replies.reply_channels(conn, tid, capabilities=kit.capabilities,
                                         now=kit.clock.now())
    assert options["options"][0]["possible"]


def test_provider_id_threads_back_to_our_reply(kit: App) -> None:
    out = _event(kit, "1:20", "Pencairan saya tertunda")
    agent = _agent(kit)
    with kit.engine.begin() as conn:
        sent = replies.reply_to_ticket(conn, out.ticket_id, "Sedang kami proses.", by=agent,
                                       now=kit.clock.now(), from_address="p@example.id",
                                       capabilities=kit.capabilities, channel="telegram")
    deliver_due(kit.uow, {"telegram": lambda d: "1:21"}, kit.clock,
                capabilities=kit.capabilities)
    assert _message(kit, sent["message_id"]).external_id == "1:21"


# ---------------------------------------------------------------- fetching


class _Files:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, locator: str, max_bytes: int) -> tuple[bytes, str | None]:
        self.calls.append(locator)
        if locator == "big":
            raise TooLarge("25 MB")
        if locator == "flaky" and self.calls.count("flaky") == 1:
            raise ConnectionError("reset")
        return f"bytes of {locator}".encode(), "image/jpeg"


def test_referenced_attachments_are_fetched_after_ingest(kit: App, clock: FixedClock) -> None:
    out = _event(kit, "1:30", "Ini buktinya", files=["ok", "big", "flaky"])
    entries = _message(kit, out.message_id).attachments
    assert [e["note"] for e in entries] == ["fetching"] * 3
    files = _Files()
    fetchers = {"telegram": files}
    assert fetch_pending(kit.uow, fetchers, kit.attachment_store, clock, max_bytes=1000) == 3
    assert fetch_pending(kit.uow, fetchers, kit.attachment_store, clock, max_bytes=1000) == 0
    clock.at += dt.timedelta(hours=2)  # the flaky one is due again
    assert fetch_pending(kit.uow, fetchers, kit.attachment_store, clock, max_bytes=1000) == 1
    entries = _message(kit, out.message_id).attachments
    assert [e["stored"] for e in entries] == [True, False, True]
    assert "MB" in entries[1]["note"]
    assert kit.attachment_store.path(entries[0]["sha256"]).read_bytes() == b"bytes of ok"
    assert files.calls == ["ok", "big", "flaky", "flaky"]


# ---------------------------------------------------------------- revisions


def test_edit_keeps_the_old_text_and_unsend_keeps_it_for_the_record(kit: App) -> None:
    first = _event(kit, "1:40", "Saldo saya hilang 500rb")
    edit = _event(kit, "edit:1:40:1", "Saldo saya hilang 600rb", revision="edit", of="1:40")
    assert (edit.outcome, edit.message_id, edit.ticket_id) == (
        "revised", first.message_id, first.ticket_id)
    assert _event(kit, "edit:1:40:1", "Saldo saya hilang 600rb", revision="edit",
                  of="1:40").outcome == "duplicate"
    unsend = _event(kit, "unsend:1:40", "", revision="unsend", of="1:40")
    assert unsend.outcome == "revised"
    row = _message(kit, first.message_id)
    assert row.body == "Saldo saya hilang 600rb" and row.retracted_at is not None
    with kit.engine.connect() as conn:
        kept = revisions.of_message(conn, first.message_id)
        count = conn.execute(sa.select(sa.func.count()).select_from(tables.messages)
                             ).scalar_one()
    assert [(k["kind"], k["body_before"]) for k in kept] == [
        ("edit", "Saldo saya hilang 500rb"), ("unsend", "Saldo saya hilang 600rb")]
    assert count == 1
    assert [e["revision"] for e in audit_rows(kit, "message.revised")] == ["edit", "unsend"]


def test_edit_of_an_unknown_message_stands_in_for_it(kit: App) -> None:
    out = _event(kit, "edit:1:50:1", "Kartu saya diblokir", revision="edit", of="1:50")
    assert out.outcome == "created"
    assert _message(kit, out.message_id).external_id == "1:50"
    gone = _event(kit, "unsend:1:51", "", revision="unsend", of="1:51")
    assert gone.outcome == "ignored"


def test_edit_in_the_same_batch_as_its_message(kit: App) -> None:
    payloads = [json.dumps({"id": "1:60", "body": "Pelatihan tidak bisa dibuka",
                            "at": "2026-03-02T09:00:00+07:00"}).encode(),
                json.dumps({"id": "edit:1:60:1", "body": "Pelatihan X tidak bisa dibuka",
                            "at": "2026-03-02T09:01:00+07:00", "revision": "edit",
                            "of": "1:60"}).encode()]
    batch = [RawDelivery(channel="telegram", key=f"k{n}", payload=p, content_type=KIT)
             for n, p in enumerate(payloads)]
    first, edit = store_and_process(kit.uow, batch, policy=kit.ingest_policy, clock=kit.clock)
    assert (first.outcome, edit.outcome) == ("created", "revised")
    assert edit.message_id == first.message_id
    assert _message(kit, first.message_id).body == "Pelatihan X tidak bisa dibuka"
