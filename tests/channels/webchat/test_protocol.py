"""The web chat protocol against the real server with a real WebSocket client (``websockets``):
acknowledgement after the commit, duplicate client ids stored once, oversized and malformed
frames refused with a clear message while the socket stays open, the Origin checked on the
handshake, expired sessions refused, a flood limited without losing an acknowledged message,
the brake on bursts of new sessions, and attachments checked by their bytes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from ticketing.app import App
from ticketing.services.clock import FixedClock
from ticketing.store import tables
from tests.channels.webchat.conftest import start, ws_url
from tests.helpers import ingest_one, message

m = tables.messages


def frames_until(ws: ClientConnection, kind: str, *, client_id: str | None = None
                 ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read frames until one of ``kind`` (for ``client_id``) arrives; returns it and those
    before it."""
    seen = []
    while True:
        frame = json.loads(ws.recv(timeout=10))
        if frame["type"] == kind and (client_id is None or frame.get("client_id") == client_id):
            return frame, seen
        seen.append(frame)


def send(ws: ClientConnection, client_id: str, text: str) -> None:
    ws.send(json.dumps({"type": "message", "client_id": client_id, "text": text}))


def stored(app: App, external_id: str) -> list[Any]:
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(m.c.id, m.c.ticket_id, m.c.body, m.c.channel)
                                 .where(m.c.external_id == external_id)))


def test_message_acknowledged_after_commit_and_stored_once(app: App, live_url: str) -> None:
    s = start(live_url, email="siti@example.id", topic="otp")
    with connect(ws_url(live_url, s["session"])) as ws:
        history, _ = frames_until(ws, "history")
        assert history["messages"] == []
        send(ws, "c-1", "Kode OTP tidak masuk ke HP saya")
        ack, _ = frames_until(ws, "ack", client_id="c-1")
        # Acknowledged means committed: the message and its ticket are there already.
        [row] = stored(app, f"{s['session_id']}:c-1")
        assert (row.id, row.ticket_id, row.channel) == (ack["id"], ack["ticket_id"], "webchat")
        assert ack["duplicate"] is False
        send(ws, "c-1", "Kode OTP tidak masuk ke HP saya")  # resent after a drop
        again, _ = frames_until(ws, "ack", client_id="c-1")
        assert again["duplicate"] is True and again["id"] == ack["id"]
        send(ws, "c-2", "Sudah saya coba kirim ulang")
        second, _ = frames_until(ws, "ack", client_id="c-2")
        assert second["ticket_id"] == ack["ticket_id"]  # one chat, one ticket
    assert len(stored(app, f"{s['session_id']}:c-1")) == 1
    with connect(ws_url(live_url, s["session"])) as ws:  # reconnecting: the history
        history, _ = frames_until(ws, "history")
        assert [(h["client_id"], h["from"]) for h in history["messages"]] == [
            ("c-1", "citizen"), ("c-2", "citizen")]


def test_bad_frames_are_refused_with_a_reason_and_the_socket_stays(app: App,
                                                                  live_url: str) -> None:
    s = start(live_url)
    with connect(ws_url(live_url, s["session"]), max_size=None) as ws:
        frames_until(ws, "history")
        send(ws, "big", "x" * 5000)
        err, _ = frames_until(ws, "error")
        assert err["code"] == "too_large" and err["client_id"] == "big"
        assert "4000" in err["message"] and "terlalu panjang" in err["message"]
        ws.send("x" * 100_000)  # over the frame limit, and not even JSON
        err, _ = frames_until(ws, "error")
        assert err["code"] == "too_large"
        ws.send("{not json")
        err, _ = frames_until(ws, "error")
        assert err["code"] == "bad_frame"
        ws.send(json.dumps({"type": "message", "client_id": "bad id!", "text": "hai"}))
        err, _ = frames_until(ws, "error")
        assert err["code"] == "bad_frame"
        ws.send(json.dumps({"type": "future-thing"}))  # unknown types are ignored
        ws.send(json.dumps({"type": "ping"}))
        frames_until(ws, "pong")
    assert stored(app, f"{s['session_id']}:big") == []


def test_wrong_origin_is_refused_at_the_handshake(live_url: str) -> None:
    s = start(live_url)
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(live_url, s["session"]), origin="https://evil.example")  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    host = live_url.removeprefix("http://")
    with connect(ws_url(live_url, s["session"]), origin=f"http://{host}") as ws:  # type: ignore[arg-type]
        frames_until(ws, "history")


def test_expired_or_unknown_session_is_refused(app: App, clock: FixedClock,
                                               live_url: str) -> None:
    s = start(live_url)
    with connect(ws_url(live_url, "not-a-token")) as ws:
        err = json.loads(ws.recv(timeout=10))
        assert err["code"] == "no_session"
    clock.advance(hours=25)
    with connect(ws_url(live_url, s["session"])) as ws:
        err = json.loads(ws.recv(timeout=10))
        assert err["code"] == "session_expired" and "berakhir" in err["message"]
        with pytest.raises(Exception):
            ws.recv(timeout=10)
        assert ws.close_code == 4401
    r = httpx.get(f"{live_url}/channels/webchat/session", params={"session": s["session"]})
    assert r.status_code == 401 and r.json()["error"]["code"] == "session_expired"


def test_flood_is_limited_and_nothing_acknowledged_is_lost(app: App, live_url: str) -> None:
    s = start(live_url)
    acked, limited = set(), set()
    with connect(ws_url(live_url, s["session"])) as ws:
        frames_until(ws, "history")
        for i in range(25):
            send(ws, f"f{i}", f"pesan ke-{i}")
        while len(acked) + len(limited) < 25:
            frame = json.loads(ws.recv(timeout=10))
            if frame["type"] == "ack":
                acked.add(frame["client_id"])
            elif frame["type"] == "error":
                assert frame["code"] == "rate_limited" and frame["retry_after"] > 0
                assert "belum terkirim" in frame["message"]
                limited.add(frame["client_id"])
    assert limited and acked and not acked & limited
    with app.engine.connect() as conn:
        ids = set(conn.execute(sa.select(m.c.external_id).where(m.c.channel == "webchat"))
                  .scalars())
    assert ids == {f"{s['session_id']}:{c}" for c in acked}


def test_a_burst_of_new_sessions_from_one_address_is_braked(live_url: str) -> None:
    for _ in range(4):
        start(live_url)
    r = httpx.post(f"{live_url}/channels/webchat/sessions", json={"name": "bot"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert r.json()["error"]["code"] == "slow_down"


def test_bad_session_forms_are_422(live_url: str) -> None:
    url = f"{live_url}/channels/webchat/sessions"
    for body in ({}, {"name": "A", "email": "nope"}, {"name": "A", "topic": "unknown"},
                 {"name": "A", "nik": "123"}, {"name": ["x"]}):
        r = httpx.post(url, json=body)
        assert r.status_code == 422, (body, r.text)
    assert httpx.post(url, content=b"{oops").status_code == 422


def test_attachments_are_checked_by_their_bytes_and_size(app: App, live_url: str) -> None:
    s = start(live_url)
    url = f"{live_url}/channels/webchat/uploads"
    params = {"session": s["session"]}
    fake = httpx.post(url, params=params,
                      files={"file": ("foto.png", b"MZ\x90\x00 not an image", "image/png")})
    assert fake.status_code == 415
    big = httpx.post(url, params=params, files={"file": ("a.pdf", b"%PDF-" + b"0" * 70_000)})
    assert big.status_code == 413
    ok = httpx.post(url, params=params,
                    files={"file": ("bukti.pdf", b"%PDF-1.4 bukti", "application/pdf")})
    assert ok.status_code == 201 and ok.json()["content_type"] == "application/pdf"
    with connect(ws_url(live_url, s["session"])) as ws:
        frames_until(ws, "history")
        ws.send(json.dumps({"type": "message", "client_id": "a1", "text": "bukti transfer",
                            "attachments": [ok.json()["upload"]]}))
        frames_until(ws, "ack", client_id="a1")
    with app.engine.connect() as conn:
        [atts] = conn.execute(sa.select(m.c.attachments).where(
            m.c.external_id == f"{s['session_id']}:a1")).scalars()
    assert atts[0]["filename"] == "bukti.pdf" and atts[0]["content_type"] == "application/pdf"


def test_an_email_typed_in_the_form_links_the_chat_only_as_a_claim(app: App,
                                                                    live_url: str) -> None:
    """The pre-chat form's e-mail is what the citizen typed, not proof: a chat giving the
    address of a citizen we know joins them for the staff's view, marked claimed, so nothing
    of their other tickets goes to this chat unverified."""
    known = ingest_one(app, message("Saldo insentif belum cair", channel="email",
                                    email="sari@example.id"))
    s = start(live_url, email="Sari@Example.id", topic="insentif")
    with connect(ws_url(live_url, s["session"])) as ws:
        frames_until(ws, "history")
        send(ws, "c-1", "Saldo insentif saya belum cair")
        ack, _ = frames_until(ws, "ack", client_id="c-1")
    i = tables.identities
    with app.engine.connect() as conn:
        rows = {(r.kind, r.value): r for r in conn.execute(sa.select(i))}
        customer = conn.execute(sa.select(tables.tickets.c.customer_id).where(
            tables.tickets.c.id == ack["ticket_id"])).scalar_one()
    assert customer == known.customer_id
    assert rows[("email", "sari@example.id")].claimed_link_at is None  # her own mail: proof
    assert rows[("webchat", s["session_id"])].claimed_link_at is not None  # the chat: a claim


def test_the_queue_frame_counts_the_wait_from_the_next_opening(app: App, clock: FixedClock,
                                                              live_url: str) -> None:
    """In hours the wait is the citizen's place × an agent's time per chat; after hours it
    starts at the desk's next opening, which the citizen reads in words."""
    s = start(live_url, email="siti@example.id", topic="otp")  # Monday 16.00 WIB: open
    with connect(ws_url(live_url, s["session"])) as ws:
        frames_until(ws, "history")
        send(ws, "c-1", "Kode OTP tidak masuk ke HP saya")
        frames_until(ws, "ack", client_id="c-1")
        queue, _ = frames_until(ws, "queue")
        while "position" not in queue:
            queue, _ = frames_until(ws, "queue")
    assert queue["open"] is True and queue["position"] == 1
    assert queue["wait_minutes"] == app.settings.webchat_minutes_per_chat
    clock.advance(hours=3)  # 19.00 WIB: closed until Tuesday 08.00
    with connect(ws_url(live_url, s["session"])) as ws:
        frames_until(ws, "history")
        queue, _ = frames_until(ws, "queue")
    assert queue["open"] is False and queue["position"] == 1
    assert queue["opens_local"] == "Selasa, 3 Maret 2026 08.00 WIB"
    assert queue["local"]["id"]["opens"] == queue["opens_local"]
    assert queue["local"]["en"]["opens"].startswith("Tuesday")  # the page's English switch
    assert queue["wait_minutes"] >= 13 * 60
