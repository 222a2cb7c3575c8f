"""The reply box's file input in a real browser: an agent attaches a photo to an e-mail reply,
the reply shows it, and the dev mailbox shows the mail carrying it."""

from __future__ import annotations

from typing import Any

import pytest

from ticketing.app import App
from ticketing.entrypoints.worker import deliver
from tests.helpers import ingest_one, message
from tests.routing_helpers import agent
from tests.web.test_agent_pages import _sign_in
from tests.web.test_reply_files import PNG

pytestmark = pytest.mark.browser


def test_an_agent_attaches_a_photo_to_a_reply(app: App, live_url: str, page: Any,
                                              dialogs: list[str]) -> None:
    got = ingest_one(app, message("Sertifikat saya tidak muncul", channel="email",
                                  name="Sari", email="sari@example.id"))
    tid = int(got.ticket_id or 0)
    deliver(app)  # the acknowledgement
    agent(app, email="ani@example.id")
    _sign_in(page, live_url, "ani@example.id", f"/login?next=/tickets/{tid}")
    assert "E-mail" in page.locator("#reply-files-note").inner_text()
    page.fill("#reply-form textarea[name=body]", "Ini tangkapan layar langkahnya.")
    page.set_input_files("#reply-file-input", files=[
        {"name": "langkah.png", "mimeType": "image/png", "buffer": PNG}])
    with page.expect_navigation():
        page.click("#reply-form button[type=submit]")
    assert "done=reply" in page.url
    link = page.locator("article.msg-out a.download", has_text="langkah.png")
    assert link.count() == 1
    assert deliver(app) == 1
    page.goto(live_url + "/dev/mailbox")
    page.locator("#mailbox tbody tr").filter(has_text=f"[#T-{tid:06d}] Re:").locator(
        "a").click()
    assert "langkah.png (image/png" in page.locator("#mail-attachments").inner_text()
    assert dialogs == []
