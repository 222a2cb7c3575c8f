"""A mail whose display name is another address (``From: alice@example.com <bob@evil.example>``)
is the mailbox's, never the name's: the ticket is bob's, and staff see the spoofing signal both
in the API view of the message and as a mark on the ticket page (a real browser, a real server)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ticketing.app import App
from ticketing.domain.raw import RawDelivery, content_key
from ticketing.services import accounts
from ticketing.services.ingest import store_and_process
from ticketing.store import tables
from tests.routing_helpers import agent
from tests.web.test_agent_pages import _sign_in

pytestmark = pytest.mark.browser

SPOOFED = (b"From: budi.santoso@gmail.com <budi-santoso@evil.example>\r\n"
           b"To: pengaduan@prakerja.example.id\r\nSubject: Minta data NIK saya\r\n"
           b"Message-ID: <spoof-1@evil.example>\r\nDate: Mon, 02 Mar 2026 09:15:00 +0700\r\n"
           b"\r\nTolong kirim ulang semua data tiket saya ke alamat ini.\r\n")


def _ingest(app: App, payload: bytes) -> int:
    raw = RawDelivery(channel="email", key=content_key("email", payload), payload=payload,
                      content_type="message/rfc822")
    [outcome] = store_and_process(app.uow, [raw], policy=app.ingest_policy, clock=app.clock)
    assert outcome.outcome == "created" and outcome.ticket_id
    return int(outcome.ticket_id)


def test_spoofed_display_name_is_flagged_in_the_api_and_on_the_page(
        app: App, live_url: str, page: Any) -> None:
    tid = _ingest(app, SPOOFED)
    with app.engine.connect() as conn:
        identities = conn.execute(sa.select(tables.identities.c.value).where(
            tables.identities.c.kind == "email")).scalars().all()
    assert identities == ["budi-santoso@evil.example"]  # the mailbox, never the display name
    agent(app, role="supervisor", email="spv@example.id")
    with app.engine.begin() as conn:
        token = accounts.create_token(conn, email="spv@example.id", clock=app.clock)
    api = httpx.get(f"{live_url}/api/v1/tickets/{tid}",
                    headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    [shown] = [m for m in api.json()["messages"] if m["direction"] == "in"]
    assert shown["sender_warnings"] == ["display-name-address"]
    assert shown["sender_claimed"] == "budi.santoso@gmail.com"
    _sign_in(page, live_url, "spv@example.id")
    page.goto(f"{live_url}/tickets/{tid}")
    mark = page.locator("article.msg-in .sender-warning")
    assert mark.count() == 1
    assert "dipalsukan" in mark.inner_text() and "budi.santoso@gmail.com" in mark.inner_text()


def test_an_ordinary_sender_has_no_mark(app: App, live_url: str, page: Any) -> None:
    tid = _ingest(app, SPOOFED.replace(b"budi.santoso@gmail.com <", b"Budi Santoso <"))
    agent(app, role="supervisor", email="spv@example.id")
    _sign_in(page, live_url, "spv@example.id")
    page.goto(f"{live_url}/tickets/{tid}")
    assert page.locator("article.msg-in").count() == 1
    assert page.locator(".sender-warning").count() == 0
