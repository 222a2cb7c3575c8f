"""The ticket page's ways to answer (issue 11) in a real browser: a citizen who wrote only on a
channel that cannot send gets no reply box, and a forced post is refused readably with nothing
queued; a citizen known only by phone gets "catat telepon balik"; a reply that failed for good
is flagged on the ticket and in the queue."""

from __future__ import annotations

import os
from typing import Any

import pytest
import sqlalchemy as sa

from ticketing.app import App
from ticketing.services import outbox
from ticketing.store import tables
from tests.helpers import ingest_one, message, reply
from tests.routing_helpers import agent
from tests.web.test_agent_pages import _rows, _sign_in, _ticket
from ticketing.domain.errors import RecipientRejected
from ticketing.services.accounts import Principal, Role
from ticketing.services.ports import Delivery

pytestmark = pytest.mark.browser
CALL = "[00:00:04] Penelepon: Halo, sertifikat saya belum terbit."
SHOTS = os.environ.get("TICKETING_SCREENSHOTS")  # a folder: keep screenshots to look at


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_a_reply_on_a_channel_that_cannot_send_is_refused_on_the_page(
        app: App, live_url: str, page: Any, dialogs: list[str]) -> None:
    tid = int(ingest_one(app, message("Pelatihan saya tidak muncul", channel="webchat",
                                      email="sari@example.id")).ticket_id or 0)
    agent(app, email="ani@example.id")
    _sign_in(page, live_url, "ani@example.id", f"/login?next=/tickets/{tid}")
    assert page.locator("#reply-channels input[value=webchat]").is_disabled()
    assert "Tidak ada kanal yang bisa mengirim balasan" in \
        page.locator("#reply-impossible").inner_text()
    assert page.locator("#reply-form textarea").count() == 0
    assert page.locator("#callback-form").count() == 0
    _shot(page, "reply-impossible")
    response = page.request.post(f"{live_url}/tickets/{tid}/reply",
                                 form={"body": "Kami cek.", "channel": "webchat"})
    assert response.status == 409
    page.set_content(response.text())
    error = page.locator("#error").inner_text()
    assert error.startswith("Tidak bisa dilakukan: Web chat: alamat Web chat warga tidak")
    assert _rows(app, tables.outbox, tid) == []
    assert [m.direction for m in _rows(app, tables.messages, tid)] == ["in"]
    assert dialogs == []


def test_a_citizen_known_only_by_phone_gets_a_call_back_log(
        app: App, live_url: str, page: Any) -> None:
    tid = int(ingest_one(app, message(CALL, channel="phone", phone="081234567890",
                                      sent_at="2026-03-02T08:55:00+07:00")).ticket_id or 0)
    agent(app, email="ani@example.id")
    _sign_in(page, live_url, "ani@example.id", f"/login?next=/tickets/{tid}")
    assert "catat telepon balik" in page.locator("#reply-channels").inner_text()
    assert "hanya bisa dihubungi lewat telepon" in page.locator("#reply-impossible").inner_text()
    page.check("#callback-form input[name=reached][value='1']")
    page.fill("#callback-form textarea[name=body]", "Sudah dijelaskan, sertifikat terbit besok.")
    _shot(page, "call-back-form")
    page.click("#callback-form button[type=submit]")
    assert page.url == f"{live_url}/tickets/{tid}?done=callback"
    assert page.locator("#notice").inner_text() == "Telepon balik dicatat."
    out = page.locator("#conversation article[data-direction=out]")
    assert out.count() == 1 and "telepon balik tersambung" in out.locator(".meta").inner_text()
    row = _ticket(app, tid)
    assert row.first_response_at == app.clock.now() and row.status == "open"
    _shot(page, "call-back-logged")


class _Refusing:
    def __call__(self, delivery: Delivery) -> str | None:
        raise RecipientRejected("550 5.1.1 user unknown")


def test_a_reply_that_failed_for_good_is_flagged_on_the_ticket_and_in_the_queue(
        app: App, live_url: str, page: Any) -> None:
    tid = int(ingest_one(app, message("OTP tidak masuk", channel="email",
                                      email="sari@example.id")).ticket_id or 0)
    uid = agent(app, email="ani@example.id")
    with app.engine.begin() as conn:
        conn.execute(tables.tickets.update().where(tables.tickets.c.id == tid)
                     .values(assignee_id=uid))
    ani = Principal(user_id=uid, email="ani@example.id", name="ani", role=Role.AGENT)
    reply(app, tid, "Kami cek.", by=ani, delivered=False)
    outbox.deliver_due(app.uow, {"email": _Refusing()}, app.clock)
    _sign_in(page, live_url, "ani@example.id")
    flag = page.locator(f"#mine tr[data-ticket='{tid}'] .reply-failed")
    assert flag.inner_text() == "balasan gagal terkirim"
    _shot(page, "queue-reply-failed")
    page.goto(f"{live_url}/tickets/{tid}")
    assert "SLA tetap berjalan" in page.locator("#reply-failed").inner_text()
    [failed] = [m for m in page.locator("#conversation article[data-direction=out]").all()
                if "Kami cek." in m.inner_text()]
    assert "gagal dikirim" in failed.inner_text()
    # Plain words for agents; the technical reason is for supervisors only (issue 15).
    assert "550 5.1.1" not in failed.inner_text()
    _shot(page, "ticket-reply-failed")
    with app.engine.connect() as conn:
        kinds = conn.execute(sa.select(tables.notifications.c.kind).where(
            tables.notifications.c.user_id == uid)).scalars().all()
    assert kinds == ["reply.failed"]
