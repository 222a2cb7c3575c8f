"""Replies through the Graph API stand-in: DMs in and out of Meta's window (with and without
the HUMAN_AGENT tag), comments answered privately or publicly (never with personal data), echoes
of what we sent recognised as ours, and Meta's errors mapped.  SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from channels.instagram.events import split
from channels.instagram.send import GraphSender, graph_error
from ticketing.app import App
from ticketing.domain.errors import (ChannelUnavailable, RateLimited, RecipientRejected,
                                     ReplyRefused)
from ticketing.services import replies
from ticketing.services.accounts import Principal, Role
from ticketing.services.ingest import Outcome, store_and_process
from ticketing.services.outbox import deliver_due
from ticketing.services.ports import Delivery
from ticketing.store import tables
from tests.channels.instagram.graph_standin import GraphStandIn
from tests.helpers import ingest_one, message
from tests.services.conftest import user

FIXTURES = Path(__file__).parent / "fixtures"


def delivery(body: str = "Baik, kami cek.", *, to: str = "9000000000000001",
             **payload: Any) -> Delivery:
    return Delivery(outbox_id=1, channel="instagram", kind="reply",
                    recipient={"instagram_id": to}, payload={"body": body, **payload})


@pytest.mark.parametrize("token, to, body, error, unreachable", [
    ("expired", "9000000000000001", "halo", ChannelUnavailable, False),
    ("token-1", "limited", "halo", RateLimited, False),
    ("token-1", "gone", "halo", RecipientRejected, True),
    ("token-1", "outside", "halo", RecipientRejected, False),
])
def test_graph_errors_are_mapped(graph: GraphStandIn, token: str, to: str, body: str,
                                 error: type[Exception], unreachable: bool) -> None:
    sender = GraphSender(graph_url=graph.url, access_token=token)
    with pytest.raises(error) as caught:
        sender(delivery(body, to=to))
    assert getattr(caught.value, "unreachable", False) is unreachable


def test_too_long_is_refused_by_us_and_by_meta(graph: GraphStandIn) -> None:
    sender = GraphSender(graph_url=graph.url, access_token="token-1")
    with pytest.raises(RecipientRejected, match="1000"):
        sender(delivery("x" * 1001))
    assert graph.requests == []  # never sent
    answer = sender.client.post(graph.url + "/me/messages", json={
        "recipient": {"id": "1"}, "message": {"text": "y" * 1200}})
    assert isinstance(graph_error(answer), RecipientRejected)
    assert "too long" in str(graph_error(answer))


def test_human_agent_tag_is_used_only_when_allowed_and_only_outside_the_window(
        graph: GraphStandIn) -> None:
    tagged = GraphSender(graph_url=graph.url, access_token="token-1", human_agent=True)
    assert tagged(delivery(to="outside")) is not None
    assert [r["body"].get("tag") for r in graph.requests] == [None, "HUMAN_AGENT"]
    assert tagged(delivery(to="9000000000000001")) is not None
    assert graph.requests[-1]["body"].get("tag") is None


def test_public_comment_reply_never_carries_personal_data(graph: GraphStandIn) -> None:
    sender = GraphSender(graph_url=graph.url, access_token="token-1")
    for leak in ("Hubungi kami, NIK Anda 3174051203900001 sudah dicek",
                 "Kami telepon ke 0812-3456-7890 ya"):
        with pytest.raises(RecipientRejected, match="data pribadi"):
            sender(delivery(leak, in_reply_to="comment:178", public=True))
    assert graph.requests == []
    assert sender(delivery("Sudah kami balas lewat DM ya", in_reply_to="comment:178",
                           public=True)) == "comment:17900000000000001"
    assert graph.requests[-1]["path"] == "/v21.0/178/replies"


# ---------------------------------------------------------------- through the desk


def agent(app: App) -> Principal:
    with app.engine.connect() as conn:
        uid = conn.execute(sa.select(tables.users.c.id).where(
            tables.users.c.email == "agen@example.id")).scalar_one_or_none()
    if uid is None:
        uid = user(app, "agen@example.id", "agent")
    return Principal(user_id=uid, email="agen@example.id", name="Agen", role=Role.AGENT)


def webhook_event(app: App, name: str) -> Outcome:
    deliveries = split((FIXTURES / name).read_bytes(), {"source": "webhook"})
    [out] = store_and_process(app.uow, deliveries, policy=app.ingest_policy, clock=app.clock)
    return out


def answer(app: App, ticket_id: int, body: str, **kw: Any) -> dict[str, Any]:
    who = agent(app)
    with app.engine.begin() as conn:
        return replies.reply_to_ticket(conn, ticket_id, body, by=who,
                                       now=app.clock.now(), from_address="x@prakerja.example.id",
                                       capabilities=app.capabilities, **kw)


def sent_message(app: App, message_id: int) -> Any:
    m = tables.messages
    with app.engine.connect() as conn:
        return conn.execute(sa.select(m.c.external_id, m.c.delivered_at)
                            .where(m.c.id == message_id)).one()


def test_dm_reply_is_sent_and_its_echo_is_recognised_as_ours(ig_app: App,
                                                             graph: GraphStandIn) -> None:
    first = webhook_event(ig_app, "dm_text.json")
    queued = answer(ig_app, first.ticket_id or 0, "Baik, kami cek dulu ya.")
    assert deliver_due(ig_app.uow, ig_app.senders, ig_app.clock,
                       capabilities=ig_app.capabilities) == 1
    [request] = graph.requests
    assert request["path"] == "/v21.0/me/messages" and request["token"] == "token-1"
    assert request["body"]["recipient"] == {"id": "9000000000000001"}
    sent = sent_message(ig_app, queued["message_id"])
    assert sent.external_id == "m_sent_1" and sent.delivered_at is not None
    echo = (FIXTURES / "dm_echo.json").read_bytes().replace(
        b"aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxECHO", b"m_sent_1")
    [out] = store_and_process(ig_app.uow, split(echo, {}), policy=ig_app.ingest_policy,
                              clock=ig_app.clock)
    assert out.outcome == "duplicate" and out.message_id == queued["message_id"]


def test_outside_the_window_the_reply_box_says_why_and_offers_email(ig_app: App) -> None:
    first = webhook_event(ig_app, "dm_text.json")
    ingest_one(ig_app, message("Ini email saya juga, soal Prakerja", channel="email",
                               email="sari@example.id", phone="0812-3456-7890"))
    ig_app.clock.advance(hours=25)  # type: ignore[attr-defined]
    with pytest.raises(ReplyRefused) as refused:
        answer(ig_app, first.ticket_id or 0, "Halo", channel="instagram")
    assert "24 jam" in str(refused.value) and "E-mail" in str(refused.value)
    tagged = App(settings=dataclasses.replace(ig_app.settings, meta_human_agent=True),
                 clock=ig_app.clock)
    try:
        assert answer(tagged, first.ticket_id or 0, "Halo", channel="instagram")["outbox_id"]
    finally:
        tagged.close()


def test_a_comment_gets_a_private_reply_by_default_and_a_public_one_on_request(
        ig_app: App, graph: GraphStandIn) -> None:
    comment = webhook_event(ig_app, "comment.json")
    private = answer(ig_app, comment.ticket_id or 0, "Kami kirim DM ya")
    public = answer(ig_app, comment.ticket_id or 0, "Sudah kami balas lewat DM", public=True)
    leak = answer(ig_app, comment.ticket_id or 0, "NIK 3174051203900001 sudah dicek",
                  public=True)
    deliver_due(ig_app.uow, ig_app.senders, ig_app.clock, capabilities=ig_app.capabilities)
    paths = [(r["path"], r["body"].get("recipient")) for r in graph.requests]
    assert paths == [("/v21.0/me/messages", {"comment_id": "17865799348089039"}),
                     ("/v21.0/17865799348089039/replies", None)]
    assert sent_message(ig_app, private["message_id"]).external_id.startswith("m_sent_")
    assert sent_message(ig_app, public["message_id"]).external_id.startswith("comment:179")
    o = tables.outbox
    with ig_app.engine.connect() as conn:
        status, error = conn.execute(sa.select(o.c.status, o.c.last_error)
                                     .where(o.c.id == leak["outbox_id"])).one()
    assert status == "failed" and "data pribadi" in error
