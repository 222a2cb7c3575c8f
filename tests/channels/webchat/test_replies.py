"""The desk's replies on the web chat: pushed over the open socket and counted as a response
when written there; queued for the next connection (the outbox worker leaves them alone);
continued by e-mail after the configured time; and the long-polling fallback."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from websockets.sync.client import connect

from ticketing.app import App
from ticketing.entrypoints.worker import deliver, hand_over_chats
from ticketing.services.accounts import Principal, Role
from ticketing.services.clock import FixedClock
from ticketing.store import tables
from tests.channels.webchat.conftest import start, ws_url
from tests.channels.webchat.test_protocol import frames_until, send
from tests.helpers import AcceptingProvider, reply
from tests.routing_helpers import agent

o, t, m = tables.outbox, tables.tickets, tables.messages


def _agent(app: App) -> Principal:
    uid = agent(app)
    return Principal(user_id=uid, email="a@example.id", name="Petugas Ani", role=Role.AGENT)


def _outbox(app: App, ticket_id: int) -> list[Any]:
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(o.c.channel, o.c.status, o.c.kind, o.c.sent_at)
                                 .where(o.c.ticket_id == ticket_id, o.c.kind == "reply")))


def settled(app: App, ticket_id: int) -> list[Any]:
    """The outbox rows once the web process has settled them (it writes the frame first, then
    settles): waits for that effect, bounded, not for a time."""
    for _ in range(200):
        rows = _outbox(app, ticket_id)
        if rows and all(r.status != "pending" for r in rows):
            return rows
        threading.Event().wait(0.025)
    return _outbox(app, ticket_id)


def _first_response(app: App, ticket_id: int) -> Any:
    with app.engine.connect() as conn:
        return conn.execute(sa.select(t.c.first_response_at).where(t.c.id == ticket_id)
                            ).scalar_one()


def test_a_reply_reaches_the_open_socket_and_counts_then(app: App, live_url: str) -> None:
    s = start(live_url)
    who = _agent(app)
    with connect(ws_url(live_url, s["session"])) as ws:
        frames_until(ws, "history")
        send(ws, "c1", "Akun saya terblokir setelah ganti HP")
        ack, _ = frames_until(ws, "stored", client_id="c1")
        out = reply(app, ack["ticket_id"], "Baik, kami buka blokirnya <b>sekarang</b>.",
                    by=who, delivered=False)
        pushed, _ = frames_until(ws, "message")
        assert pushed == {"type": "message", "from": "agent", "id": out["message_id"],
                          "text": "Baik, kami buka blokirnya <b>sekarang</b>.",
                          "author": who.name, "sent_at": pushed["sent_at"]}
    [row] = settled(app, ack["ticket_id"])
    assert (row.channel, row.status) == ("webchat", "sent")
    assert _first_response(app, ack["ticket_id"]) == app.clock.now()


def test_a_reply_waits_for_the_next_connection(app: App, live_url: str) -> None:
    s = start(live_url)
    who = _agent(app)
    with connect(ws_url(live_url, s["session"])) as ws:
        frames_until(ws, "history")
        send(ws, "c1", "Insentif saya belum cair")
        ack, _ = frames_until(ws, "stored", client_id="c1")
    tid = ack["ticket_id"]
    out = reply(app, tid, "Sedang kami cek.", by=who, delivered=False)
    provider = AcceptingProvider()
    app.senders["webchat"] = provider  # even with a sender, the worker leaves live rows
    deliver(app)
    assert provider.sent == [] and _outbox(app, tid)[0].status == "pending"
    assert _first_response(app, tid) is None  # not reached yet: no response
    with connect(ws_url(live_url, s["session"])) as ws:
        history, _ = frames_until(ws, "history")
    assert [(h["from"], h["text"]) for h in history["messages"]] == [
        ("citizen", "Insentif saya belum cair"), ("agent", "Sedang kami cek.")]
    assert history["messages"][1]["id"] == out["message_id"]
    assert settled(app, tid)[0].status == "sent"
    assert _first_response(app, tid) is not None


def test_an_unreceived_reply_continues_by_email_after_a_while(app: App, clock: FixedClock,
                                                              live_url: str) -> None:
    with_mail = start(live_url, email="budi@example.id")
    without = start(live_url)
    who = _agent(app)
    tickets = []
    for s in (with_mail, without):
        with connect(ws_url(live_url, s["session"])) as ws:
            frames_until(ws, "history")
            send(ws, "c1", "Sertifikat pelatihan saya belum terbit")
            tickets.append(frames_until(ws, "stored", client_id="c1")[0]["ticket_id"])
    for tid in tickets:
        reply(app, tid, "Sertifikat terbit besok.", by=who, delivered=False)
    assert hand_over_chats(app) == 0  # not yet
    clock.advance(minutes=app.settings.webchat_email_after_minutes + 1)
    assert hand_over_chats(app) == 1
    mail = AcceptingProvider()
    from ticketing.services.outbox import deliver_due
    deliver_due(app.uow, {"email": mail}, app.clock, capabilities=app.capabilities)
    [sent] = [d for d in mail.sent if d.kind == "reply"]
    assert sent.recipient["email"] == "budi@example.id"
    assert "Sertifikat terbit besok." in sent.payload["body"]
    assert f"T-{tickets[0]:06d}" in sent.payload["subject"]
    assert _outbox(app, tickets[0])[0][:2] == ("email", "sent")
    assert _first_response(app, tickets[0]) is not None
    assert _outbox(app, tickets[1])[0][:2] == ("webchat", "pending")  # no e-mail: it waits


def test_long_polling_fallback_sends_and_receives(app: App, live_url: str) -> None:
    s = start(live_url)
    who = _agent(app)
    params = {"session": s["session"]}
    first = httpx.get(f"{live_url}/channels/webchat/poll", params={**params, "first": "1"})
    assert [f["type"] for f in first.json()["frames"]][:1] == ["history"]
    frame = {"type": "message", "client_id": "p1", "text": "WebSocket diblokir kantor saya"}
    r = httpx.post(f"{live_url}/channels/webchat/messages", params=params, json=frame)
    [ack] = [f for f in r.json()["frames"] if f["type"] == "ack"]
    assert ack["client_id"] == "p1" and ack["duplicate"] is False
    again = httpx.post(f"{live_url}/channels/webchat/messages", params=params, json=frame)
    assert [f["duplicate"] for f in again.json()["frames"] if f["type"] == "ack"] == [True]
    # The ticket is built behind the acknowledgement: the next poll says where it landed.
    landed = httpx.get(f"{live_url}/channels/webchat/poll", params={**params, "wait": "5"},
                       timeout=10).json()["frames"]
    [ack] = [f for f in landed if f["type"] == "stored"][:1]
    assert ack["client_id"] == "p1" and ack["id"]
    reply(app, ack["ticket_id"], "Tidak apa-apa, lewat sini juga bisa.", by=who,
          delivered=False)
    texts: list[str] = []
    for _ in range(3):  # the queue frame may come in an answer of its own
        got = httpx.get(f"{live_url}/channels/webchat/poll", params={**params, "wait": "5"},
                        timeout=10)
        texts += [f["text"] for f in got.json()["frames"] if f["type"] == "message"]
        if texts:
            break
    assert texts == ["Tidak apa-apa, lewat sini juga bisa."]
    assert _outbox(app, ack["ticket_id"])[0].status == "sent"
    empty = httpx.get(f"{live_url}/channels/webchat/poll", params={**params, "wait": "0"})
    assert empty.json()["frames"] == []


def test_a_reply_is_not_held_up_by_recording_new_tickets(app: App, live_url: str,
                                                          monkeypatch: Any) -> None:
    """Recording the ticket a session's message landed on (and reading its queue place) runs
    behind the push loop: while it is stuck, another session's reply still arrives at once,
    and the queue frame follows once the recording is done."""
    from ticketing.services import webchat as chats

    if not app.uow.has_row_locks():
        pytest.skip("SQLite: a stuck writing transaction holds the one write lock, so the "
                    "agent's reply itself waits for it (not the hub's doing)")
    real, entered, release = chats.catch_up, threading.Event(), threading.Event()
    blocking = threading.Event()

    def slow_catch_up(*args: Any, **kw: Any) -> Any:  # stuck before it writes anything
        if blocking.is_set():
            entered.set()
            release.wait(15)
        return real(*args, **kw)
    monkeypatch.setattr(chats, "catch_up", slow_catch_up)
    who = _agent(app)
    a, b = start(live_url), start(live_url)
    with connect(ws_url(live_url, a["session"])) as ws_a, \
            connect(ws_url(live_url, b["session"])) as ws_b:
        frames_until(ws_a, "history")
        send(ws_a, "a1", "Akun saya terblokir")
        ack, _ = frames_until(ws_a, "stored", client_id="a1")
        frames_until(ws_a, "queue")
        frames_until(ws_b, "queue")  # the welcome's, before the recording is slowed
        blocking.set()
        try:
            send(ws_b, "b1", "Insentif saya belum cair")
            frames_until(ws_b, "stored", client_id="b1")
            assert entered.wait(10)  # b's new ticket is being recorded, stuck
            out = reply(app, ack["ticket_id"], "Sudah kami buka.", by=who, delivered=False)
            while True:  # a's reply arrives while b's recording is still stuck
                frame = json.loads(ws_a.recv(timeout=5))
                if frame["type"] == "message":
                    break
            assert frame["id"] == out["message_id"] and not release.is_set()
        finally:
            release.set()
        queue, _ = frames_until(ws_b, "queue")
        assert queue["type"] == "queue"
    [row] = settled(app, ack["ticket_id"])
    assert row.status == "sent"
