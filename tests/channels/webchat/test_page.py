"""The citizen's page ``/chat`` in headless Chromium, end to end with an agent's own pages: the
citizen fills the pre-chat form and writes, the ticket is in the agent's queue, the agent's
reply (HTML-looking text stays text) appears live, a reload keeps the history, a dropped
connection (closed by the test, the message swallowed on the way) resends the unacknowledged
message exactly once and it is stored once, and the English switch works.  Phone-sized
viewport; ``WEBCHAT_SHOTS=<dir>`` keeps screenshots."""

from __future__ import annotations

import os
import json
from typing import Any

import sqlalchemy as sa

from ticketing.app import App
from ticketing.store import tables
from tests.routing_helpers import agent
from tests.web.test_agent_pages import _sign_in

SHOTS = os.environ.get("WEBCHAT_SHOTS")
PHONE = {"width": 390, "height": 780}


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


class Wire:
    """The page's WebSocket through the test: frames forwarded both ways, except that while
    ``swallow`` is set the page's frames are recorded and dropped (a connection that died
    without the page knowing); ``cut()`` then closes it."""

    def __init__(self) -> None:
        self.swallow = False
        self.routes: list[Any] = []
        self.sent: list[list[dict[str, Any]]] = []

    def __call__(self, ws: Any) -> None:
        server = ws.connect_to_server()
        mine: list[dict[str, Any]] = []
        self.sent.append(mine)
        self.routes.append(ws)

        def from_page(message: str | bytes) -> None:
            mine.append(json.loads(message))
            if not self.swallow:
                server.send(message)
        ws.on_message(from_page)
        server.on_message(lambda message: ws.send(message))

    def cut(self) -> None:
        self.swallow = False
        self.routes[-1].close(code=4000, reason="network drop")


def test_citizen_chats_with_an_agent_and_survives_a_drop(browser: Any, app: App,
                                                          live_url: str) -> None:
    citizen = browser.new_context(viewport=PHONE, locale="id-ID", is_mobile=True)
    page = citizen.new_page()
    wire = Wire()
    page.route_web_socket("**/channels/webchat/ws*", wire)
    page.goto(f"{live_url}/chat")
    page.set_default_timeout(10_000)
    page.wait_for_selector("#topic option", state="attached")
    _shot(page, "1-prechat")
    page.fill("input[name=name]", "Dewi <script>alert(1)</script>")
    page.fill("input[name=email]", "dewi@example.id")
    page.select_option("#topic", "otp")
    page.click("#prechat button[type=submit]")
    assert "Setujui" in page.inner_text("#form-error")  # the privacy notice first
    page.check("input[name=consent]")
    page.click("#prechat button[type=submit]")
    page.wait_for_selector("#chat:not([hidden])")
    page.fill("#text", "Kode OTP tidak pernah masuk ke HP saya")
    page.click("#send")
    page.wait_for_selector("#messages li.citizen .meta[data-state=terkirim]")
    # "terkirim" once the raw frame is committed; the ticket is built behind it (the worker)
    # and its queue position follows.
    page.wait_for_selector("#status[data-queue*='1']", state="attached")
    with app.engine.connect() as conn:
        [tid] = conn.execute(sa.select(tables.messages.c.ticket_id)
                             .where(tables.messages.c.channel == "webchat")).scalars()
    assert "Posisi antrean Anda: 1" in page.inner_text("#status")
    assert "Perkiraan waktu tunggu: ±5 menit." in page.inner_text("#status")  # 5 min a chat
    _shot(page, "2-sent")

    agent(app, email="rina@example.id")
    desk = browser.new_context(locale="id-ID").new_page()
    _sign_in(desk, live_url, "rina@example.id", "/login?next=/queue")
    assert desk.locator(f"#waiting tr[data-ticket='{tid}']").count() == 1
    desk.goto(f"{live_url}/tickets/{tid}")
    assert desk.inner_text("#chat-presence") == "Warga sedang online"
    assert desk.locator("#reply-channels input[value=webchat]").is_checked()
    # The agent opened the ticket: the citizen sees their message read.
    page.wait_for_selector("#messages li.citizen .meta[data-state=dibaca]")
    page.fill("#text", "Oh iya satu lagi")  # typing, not sent yet
    desk.wait_for_selector("#chat-presence[data-typing='1']")
    assert "sedang mengetik" in desk.inner_text("#chat-presence")
    page.fill("#text", "")
    desk.fill("#reply-form textarea[name=body]", "Halo Dewi, <b>kami</b> kirim ulang kodenya.")
    with desk.expect_navigation():
        desk.click("#reply-form button[type=submit]")

    answer = page.locator("#messages li.agent .text")
    answer.wait_for()
    assert answer.inner_text() == "Halo Dewi, <b>kami</b> kirim ulang kodenya."
    _shot(page, "3-answered")

    page.reload()
    page.wait_for_selector("#messages li.agent")
    assert [t.strip() for t in page.locator("#messages li .text").all_inner_texts()] == [
        "Kode OTP tidak pernah masuk ke HP saya", "Halo Dewi, <b>kami</b> kirim ulang kodenya."]

    wire.swallow = True  # the connection dies silently: this message gets no ack
    page.fill("#text", "Masih belum masuk")
    page.click("#send")
    page.wait_for_selector("#messages li.citizen.pending")
    [lost] = [f for f in wire.sent[-1] if f.get("type") == "message"]
    connections = len(wire.sent)
    wire.cut()
    page.wait_for_selector("#messages li.citizen.pending", state="detached")
    assert len(wire.sent) == connections + 1
    again = [f for f in wire.sent[-1] if f.get("client_id") == lost["client_id"]]
    assert len(again) == 1  # resent once, on the new connection
    # the worker has stored it: the "stored" frame gave the page its id
    page.wait_for_selector(f"#messages li[data-key='c:{lost['client_id']}'][data-id]"
                           ":not([data-id=''])", state="attached")
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(tables.messages).where(
            tables.messages.c.external_id.like(f"%:{lost['client_id']}"))).scalar_one()
    assert rows == 1

    page.click("#lang")
    assert page.inner_text("#send") == "Send"
    assert page.get_attribute("html", "lang") == "en"
    assert "Connected" in page.inner_text("#status")
    assert "read" in page.locator("#messages li.citizen .meta").first.inner_text()
    _shot(page, "4-english")
    citizen.close()
    desk.context.close()
