"""Sign-in links by e-mail: asked from the chat or by typing an address on another device,
sent only to the address a chat itself gave, single-use and short-lived, opened by a POST (a
mail scanner's GET uses nothing), moving the chat to the device that opens it and proving the
address; the same answer for a known and an unknown address; limits per address and client."""

from __future__ import annotations

import re
from typing import Any

import httpx
import sqlalchemy as sa

from ticketing.app import App
from ticketing.services.clock import FixedClock
from ticketing.store import tables
from websockets.sync.client import connect

from tests.channels.webchat.conftest import chat_with_message, ws_url
from tests.channels.webchat.test_protocol import frames_until
from tests.helpers import ingest_one, message

o, i, a = tables.outbox, tables.identities, tables.audit


def _links(app: App) -> list[Any]:
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(o.c.recipient, o.c.payload, o.c.ticket_id)
                                 .where(o.c.kind == "signin_link").order_by(o.c.id)))


def _token(row: Any) -> str:
    found = re.search(r"/chat/masuk\?t=([A-Za-z0-9_\-%]+)", row.payload["body"])
    assert found, row.payload["body"]
    return found.group(1)


def test_a_link_from_the_chat_opens_it_on_another_device_once(app: App, clock: FixedClock,
                                                              live_url: str) -> None:
    old, chat, out = chat_with_message(app, email="siti@example.id")
    r = httpx.post(f"{live_url}/channels/webchat/link", json={},
                   cookies={"webchat_session": old})
    assert r.status_code == 202 and r.json()["to"] == "s***@example.id"
    [row] = _links(app)
    assert row.recipient["email"] == "siti@example.id" and row.ticket_id == out.ticket_id
    assert f"T-{out.ticket_id:06d}" in row.payload["subject"]
    token = _token(row)
    forged = httpx.post(f"{live_url}/chat/masuk", data={"t": token},
                        headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403 and "webchat_session" not in forged.cookies
    with connect(ws_url(live_url, old)) as old_socket:
        frames_until(old_socket, "history")
        page = httpx.get(f"{live_url}/chat/masuk", params={"t": token})  # a scanner's GET
        assert page.status_code == 200 and 'method="post"' in page.text
        opened = httpx.post(f"{live_url}/chat/masuk", data={"t": token})
        assert opened.status_code == 303 and opened.headers["location"] == "/chat"
        moved, _ = frames_until(old_socket, "error")  # the first device is told
    assert moved["code"] == "session_moved"
    new = opened.cookies["webchat_session"]
    assert new != old
    me = httpx.get(f"{live_url}/channels/webchat/session", cookies={"webchat_session": new})
    assert me.status_code == 200 and me.json()["session_id"] == chat.public_id
    history = httpx.get(f"{live_url}/channels/webchat/poll", params={"first": "1"},
                        cookies={"webchat_session": new}).json()["frames"][0]
    assert [m["text"] for m in history["messages"]] == ["Saldo insentif saya belum cair"]
    # The chat moved: the first device's token is gone; the link works once.
    assert httpx.get(f"{live_url}/channels/webchat/session",
                     cookies={"webchat_session": old}).status_code == 401
    again = httpx.post(f"{live_url}/chat/masuk", data={"t": token})
    assert again.status_code == 410 and "webchat_session" not in again.cookies
    # Expired links do not open either.
    httpx.post(f"{live_url}/channels/webchat/link", json={}, cookies={"webchat_session": new})
    late = _token(_links(app)[-1])
    clock.advance(minutes=app.settings.webchat_link_minutes + 1)
    assert httpx.post(f"{live_url}/chat/masuk", data={"t": late}).status_code == 410


def test_a_typed_address_gets_a_link_only_to_itself_and_learns_nothing(app: App,
                                                                       live_url: str) -> None:
    budi, chat, _ = chat_with_message(app, email="budi@example.id")
    chat_with_message(app, client_id="c-2", phone="081234567890")  # no e-mail: never linkable
    with httpx.Client(base_url=live_url) as client:
        def ask(email: object) -> httpx.Response:
            return client.post("/channels/webchat/link", json={"email": email})
        known, unknown = ask("Budi@Example.id"), ask("orang.lain@example.id")
        assert known.status_code == unknown.status_code == 202
        assert known.json() == unknown.json()
        [row] = _links(app)
        assert row.recipient == {"email": "budi@example.id"}  # nothing the chat typed
        assert "Siti" not in row.payload["body"]
        # Over the per-address limit: still the same answer, nothing more sent.
        for _ in range(app.settings.webchat_links_per_address):
            r = ask("budi@example.id")
            assert r.status_code == 202 and r.json() == unknown.json()
        assert len(_links(app)) == app.settings.webchat_links_per_address
        # The chat itself knows its address: it is told to wait.
        assert client.post("/channels/webchat/link", json={},
                           cookies={"webchat_session": budi}).status_code == 429
        assert ask("bukan alamat").status_code == 422
        # Over the per-client limit (8 here): 429, which says nothing about the address.
        statuses = [ask(f"x{n}@example.id").status_code for n in range(4)]
    assert statuses == [202, 202, 202, 429]  # 5 counted before, 8 allowed an hour


def test_a_chat_without_email_cannot_ask_and_bad_requests_are_4xx(app: App,
                                                                  live_url: str) -> None:
    token, _, _ = chat_with_message(app, phone="081234567890")
    r = httpx.post(f"{live_url}/channels/webchat/link", json={},
                   cookies={"webchat_session": token})
    assert r.status_code == 422
    assert httpx.post(f"{live_url}/channels/webchat/link", json={}).status_code == 401
    assert httpx.post(f"{live_url}/channels/webchat/link", content=b"[1,").status_code == 422
    assert httpx.post(f"{live_url}/channels/webchat/link",
                      json={"email": 5}).status_code == 422
    assert httpx.post(f"{live_url}/chat/masuk", data={"t": "nope"}).status_code == 410
    assert httpx.get(f"{live_url}/chat/masuk").status_code == 400
    assert _links(app) == []


def test_opening_the_link_proves_a_claimed_chat(app: App, live_url: str) -> None:
    """A chat that typed the address of a citizen we know joins them only as a claim; the
    holder of that mailbox opening the link proves it (audited)."""
    known = ingest_one(app, message("Saldo insentif belum cair", channel="email",
                                    email="sari@example.id"))
    token, chat, out = chat_with_message(app, email="sari@example.id")
    assert out.customer_id == known.customer_id

    def claimed() -> Any:
        with app.engine.connect() as conn:
            return conn.execute(sa.select(i.c.claimed_link_at).where(
                i.c.kind == "webchat", i.c.value == chat.public_id)).scalar_one()
    assert claimed() is not None
    httpx.post(f"{live_url}/channels/webchat/link", json={},
               cookies={"webchat_session": token})
    httpx.post(f"{live_url}/chat/masuk", data={"t": _token(_links(app)[-1])})
    assert claimed() is None
    with app.engine.connect() as conn:
        [event] = conn.execute(sa.select(a.c.data).where(a.c.kind == "identity.verified"))
    assert event.data["method"] == "email_link"  # her e-mail was already proof: one event


def test_opening_the_link_proves_a_typed_address(app: App, live_url: str) -> None:
    """A new address typed in the form is only a statement until its link is opened."""
    token, chat, _ = chat_with_message(app, email="wati@example.id")

    def source() -> Any:
        with app.engine.connect() as conn:
            return conn.execute(sa.select(i.c.source).where(
                i.c.kind == "email", i.c.value == "wati@example.id")).scalar_one()
    assert source() == "text"
    httpx.post(f"{live_url}/channels/webchat/link", json={},
               cookies={"webchat_session": token})
    httpx.post(f"{live_url}/chat/masuk", data={"t": _token(_links(app)[-1])})
    assert source() == "sender"
    with app.engine.connect() as conn:
        [event] = conn.execute(sa.select(a.c.data).where(a.c.kind == "identity.verified"))
    assert event.data["identity"] == "email w***@example.id"


def test_the_page_offers_the_link_and_the_continuation(app: App, live_url: str) -> None:
    page = httpx.get(f"{live_url}/chat").text
    assert '<script src="/chat/links.js" defer></script>' in page
    assert 'id="resume-form"' in page and 'id="signin-link"' in page and 'id="continue"' in page
    script = httpx.get(f"{live_url}/chat/links.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in script.text  # text goes in with textContent only
    token, chat, _ = chat_with_message(app, email="sari@example.id")
    cookies = {"webchat_session": token}
    got = httpx.get(f"{live_url}/channels/webchat/continue", cookies=cookies).json()
    assert got == {"options": ["email"], "chosen": None, "via": "email"}
    chose = httpx.post(f"{live_url}/channels/webchat/continue", json={"via": "telegram"},
                       cookies=cookies).json()
    assert chose == {"options": ["email"], "chosen": "telegram", "via": "email"}  # not linked
    assert httpx.post(f"{live_url}/channels/webchat/continue", json={"via": "sms"},
                      cookies=cookies).status_code == 422
    assert httpx.get(f"{live_url}/channels/webchat/continue").status_code == 401
