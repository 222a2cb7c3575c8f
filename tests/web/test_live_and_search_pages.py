"""In a real browser: a citizen's new message appears live on the open ticket page (committed
by another connection, shown as text), a ticket taken by someone else is marked in the queue,
and the search page finds a citizen by a phone written another way, masked for an agent, in
Indonesian or English, with typed markup shown as text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ticketing.app import App
from ticketing.services.clock import FixedClock
from ticketing.settings import Settings
from ticketing.store import tables
from tests.conftest import ROOT
from tests.helpers import ingest_one, message
from tests.routing_helpers import agent

pytestmark = pytest.mark.browser
PASSWORD = "secret-password"  # routing_helpers.agent's
NIK = "3224281908876385"
IMG = "<img src=x onerror=alert(1)>"


@pytest.fixture
def other(db_url: str, clock: FixedClock, tmp_path: Path) -> Iterator[App]:
    core = App(settings=Settings(database_url=db_url, config_dir=str(ROOT / "config"),
                                 attachment_dir=str(tmp_path / "other")), clock=clock)
    yield core
    core.close()


def _sign_in(page: Any, base: str, email: str, path: str) -> None:
    page.goto(f"{base}/login?next={path}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("#login button[type=submit]")


def _assign(app: App, ticket_id: int, user_id: int) -> None:
    with app.engine.begin() as conn:
        conn.execute(tables.tickets.update().where(tables.tickets.c.id == ticket_id)
                     .values(assignee_id=user_id))


def test_a_new_citizen_message_appears_live_on_the_open_ticket(
        app: App, other: App, live_url: str, page: Any, dialogs: list[str]) -> None:
    me = agent(app, email="siti@example.id", status="offline")
    first = ingest_one(app, message("OTP tidak masuk", channel="webchat", name="Budi",
                                    phone="0812-3456-7890"))
    tid = int(first.ticket_id or 0)
    _assign(app, tid, me)
    _sign_in(page, live_url, "siti@example.id", f"/tickets/{tid}")
    page.locator("#live-state", has_text="Langsung").wait_for(timeout=10_000)
    ingest_one(other, message(f"Masih belum masuk {IMG} NIK saya {NIK}", channel="webchat",
                              phone="0812-3456-7890", sent_at="2026-03-02T09:30:00+07:00"))
    fresh = page.locator("#conversation .live-new")
    fresh.wait_for(timeout=10_000)
    text = fresh.inner_text()
    assert "Masih belum masuk" in text and IMG in text  # markup shown as text
    assert NIK not in page.content()  # masked for an agent
    assert dialogs == []


def test_a_ticket_taken_by_someone_else_is_marked_in_the_queue(
        app: App, other: App, live_url: str, page: Any) -> None:
    agent(app, email="siti@example.id", teams=("akun",), status="offline")
    andi = agent(app, email="andi@example.id", status="offline")
    waiting = ingest_one(app, message("Tidak bisa login ke akun, password salah terus",
                                      channel="email", email="warga@example.id"))
    tid = int(waiting.ticket_id or 0)
    _sign_in(page, live_url, "siti@example.id", "/queue")
    page.locator("#live-state", has_text="Langsung").wait_for(timeout=10_000)
    _assign(other, tid, andi)
    note = page.locator("#live-events li.live-ticket-assigned")
    note.wait_for(timeout=10_000)
    assert f"#{tid}" in note.inner_text() and "andi@example.id" in note.inner_text()
    if page.locator(f'tr[data-ticket="{tid}"]').count():
        assert "diambil oleh" in page.locator(f'tr[data-ticket="{tid}"]').inner_text()


def test_search_page_finds_a_phone_written_another_way_masked(
        app: App, live_url: str, page: Any, dialogs: list[str]) -> None:
    agent(app, email="siti@example.id", status="offline")
    found = ingest_one(app, message(f"Dana insentif belum cair. NIK saya {NIK}",
                                    channel="webchat", name="Budi", phone="0812-3456-7890"))
    _sign_in(page, live_url, "siti@example.id", "/search")
    page.fill("#search-form input[name=q]", "+62 812 3456 7890")
    with page.expect_navigation():
        page.click("#search-form button[type=submit]")
    assert page.locator(f'#results li[data-ticket="{found.ticket_id}"]').count() == 1
    assert NIK not in page.content() and "+6281234567890" not in page.content()
    assert "nomor HP" in page.locator("#identifier").inner_text()
    # Words, with a slang spelling, marked in the snippet; then English.
    page.goto(f"{live_url}/search?q=insentip")
    assert page.locator("#results mark").first.inner_text().lower() == "insentif"
    page.click("#lang-switch")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "tickets match" in page.locator("#found").inner_text()
    # Typed markup is echoed as text, never run.
    page.goto(f"{live_url}/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert page.locator("#search-form input[name=q]").input_value() == "<script>alert(1)</script>"
    assert page.locator("#no-results").count() == 1 and dialogs == []
