"""The agents' workspace in a real browser (issue 15): the first five minutes (``/`` to the
login, presence, claim, reply, the reply in the dev mailbox) and the queue (filters, totals,
paging, SLA badges, saved views, supervisors' bulk assignment), with the same escaping,
role and same-origin rules as every other form."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from ticketing.app import App
from ticketing.entrypoints.worker import deliver
from ticketing.services import presence
from tests.helpers import ingest_one, message
from tests.routing_helpers import agent, assignee, tickets
from tests.web.test_agent_pages import SCRIPT, _sign_in

pytestmark = pytest.mark.browser


def test_root_sends_to_login_and_a_day_starts(app: App, live_url: str, page: Any,
                                              dialogs: list[str]) -> None:
    answer = httpx.get(live_url + "/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    got = ingest_one(app, message(f"Halo kak, voucher pelatihan tidak bisa dipakai {SCRIPT}",
                                  channel="email", name="Sari", email="sari@example.id"))
    tid = int(got.ticket_id or 0)  # team "program": waits for a claim
    auto = ingest_one(app, message("Kode OTP tidak pernah masuk ke HP saya", channel="email",
                                   name="Budi", email="budi@example.id"))
    uid = agent(app, email="ani@example.id", status="offline")
    _sign_in(page, live_url, "ani@example.id")
    assert page.url.endswith("/queue")
    assert page.locator("#presence").input_value() == "offline"
    with page.expect_navigation():
        page.select_option("#presence", "online")  # the script submits the toggle
    assert page.locator("#presence").input_value() == "online"
    assert app.read(presence.status_of, uid) == "online"
    # Online, the web-only agent is reached by auto-assignment (team "akun", round robin).
    assert page.locator(f"#mine tr[data-ticket='{auto.ticket_id}']").count() == 1
    assert page.locator("#dev-mailbox-banner").count() == 1
    page.click("#claim-form button")
    page.wait_for_url(f"**/tickets/{tid}?done=claimed")
    assert assignee(app, tid) == uid
    page.fill("#reply-form textarea[name=body]", f"Terima kasih Ibu Sari <b>{SCRIPT}</b>")
    with page.expect_navigation():
        page.click("#reply-form button[type=submit]")
    assert deliver(app) >= 1  # the worker's outbox pass, into the dev mailbox
    page.goto(live_url + "/dev/mailbox")
    row = page.locator("#mailbox tbody tr").filter(has_text=f"[#T-{tid:06d}] Re:")
    assert row.count() == 1
    row.locator("a").click()
    assert "sari@example.id" in page.locator("#mail-to").inner_text()
    assert f"<b>{SCRIPT}</b>" in page.locator("#mail-body").inner_text()  # text, not markup
    assert dialogs == []


def _queue_tickets(app: App) -> list[int]:
    now = app.clock.now()
    return tickets(app, [
        {"first_response_state": "breached", "first_response_due_at": now - dt.timedelta(hours=1),
         "subject": f"lewat {SCRIPT}"},
        {"first_response_state": "running", "first_response_due_at": now + dt.timedelta(minutes=20),
         "subject": "hampir", "channel": "email"},
        *({"first_response_state": "running", "first_response_due_at": now + dt.timedelta(days=1),
           "subject": f"santai {n}", "channel": "telegram"} for n in range(12)),
    ])


def test_queue_filters_totals_paging_and_bulk_assign(app: App, live_url: str, page: Any,
                                                     dialogs: list[str]) -> None:
    ids = _queue_tickets(app)
    agent(app, email="ani@example.id")
    agent(app, role="supervisor", email="sri@example.id")
    _sign_in(page, live_url, "sri@example.id", "/login?next=/queue")
    assert page.locator("#total").inner_text() == "14"
    page.goto(live_url + "/queue?sla=breached")
    assert page.locator("#total").inner_text() == "1"
    assert page.locator(f"#all tr[data-ticket='{ids[0]}'] [data-sla=breached]").count() == 1
    assert SCRIPT in page.locator("#all").inner_text() and dialogs == []
    page.goto(live_url + "/queue?sla=warning")
    assert page.locator(f"#all tr[data-ticket='{ids[1]}']").count() == 1
    page.goto(live_url + "/queue?channel=telegram&per_page=10&sort=old")
    assert page.locator("#total").inner_text() == "12"
    assert page.locator("#all tbody tr").count() == 10
    page.click(".pager a[rel=next]")
    assert page.locator("#all tbody tr").count() == 2
    page.fill("#save-view input[name=name]", "Telegram <i>saya</i>")
    page.click("#save-view button")
    assert page.locator("#views a", has_text="Telegram <i>saya</i>").count() == 1
    page.goto(live_url + "/queue?sla=breached")
    page.locator("#views a", has_text="Telegram").click()
    assert page.locator("#total").inner_text() == "12"
    page.goto(live_url + "/queue?channel=email&channel=webchat")
    for tid in ids[:2]:
        page.check(f"#all tr[data-ticket='{tid}'] input[name=ticket]")
    page.select_option("#bulk-form select[name=assignee]", "ani@example.id")
    with page.expect_navigation():
        page.click("#bulk-form button[type=submit]")
    assert page.locator("#notice").count() == 1
    ani = agent_id(app, "ani@example.id")
    assert [assignee(app, t) for t in ids[:3]] == [ani, ani, None]


def agent_id(app: App, email: str) -> int:
    from ticketing.services import accounts
    who = app.read(accounts.principal_by_email, email)
    assert who is not None
    return who.user_id


def test_queue_refuses_bad_filters_foreign_forms_and_agents_bulk(app: App,
                                                                  live_url: str) -> None:
    ids = _queue_tickets(app)
    agent(app, email="ani@example.id")
    with httpx.Client(base_url=live_url) as client:
        signed = client.post("/login", data={"email": "ani@example.id",
                                             "password": "secret-password"})
        assert signed.status_code in (200, 303)
        for query in ("sla=soon", "status=<b>", "per_page=7", "page=0", "sort=x",
                      "channel=" + "x" * 300):
            answer = client.get("/queue?" + query)
            assert answer.status_code == 422, query
            assert "<b>" not in answer.text
        bulk = client.post("/queue/bulk", data={"ticket": str(ids[0]),
                                                "assignee": "ani@example.id"})
        assert bulk.status_code == 403 and assignee(app, ids[0]) is None
        foreign = client.post("/queue/bulk", data={"ticket": str(ids[0])},
                              headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403
        for path in ("/presence", "/queue/views", "/presence/heartbeat"):
            assert client.post(path, data={"status": "online", "name": "x"},
                               headers={"Origin": "https://evil.example"}).status_code == 403
        assert client.post("/presence/heartbeat").json() == {"status": "online"}
        assert client.get("/dev/mailbox/../../etc/passwd").status_code == 404
        assert client.get("/dev/mailbox/x.eml").status_code == 404


def test_canned_reply_asks_for_a_missing_value_and_a_stale_view_is_held(
        app: App, live_url: str, browser: Any, page: Any, dialogs: list[str]) -> None:
    got = ingest_one(app, message("Halo kak, kode OTP tidak pernah masuk ke HP saya",
                                  channel="email", name=f"Sari {SCRIPT}",
                                  email="sari@example.id"))
    tid = int(got.ticket_id or 0)
    agent(app, email="ani@example.id")
    agent(app, role="supervisor", email="sri@example.id")
    _sign_in(page, live_url, "ani@example.id", f"/login?next=/tickets/{tid}")
    # The topic's canned reply is offered; choosing it fills what the ticket knows and asks
    # for the rest (the phone number is not filled in from personal data).
    assert page.locator("#canned option[value=otp]").count() == 1
    with page.expect_navigation():
        page.select_option("#canned", "otp")
    body = page.locator("#reply-body").input_value()
    assert f"T-{tid:06d}" in body and "{nomor_hp}" in body
    assert page.locator("input[data-variable=nomor_hp]").count() == 1
    page.fill("input[data-variable=nomor_hp]", "0812 0000 1111")
    with page.expect_navigation():
        page.click("#canned-form button[type=submit]")
    body = page.locator("#reply-body").input_value()
    assert "0812 0000 1111" in body and "{" not in body
    assert page.locator("#reply-form select[name=status]").input_value() == "pending_customer"
    # A second user opens the ticket: the first one's page shows them as a viewer.
    other = browser.new_context(locale="id-ID").new_page()
    _sign_in(other, live_url, "sri@example.id", f"/login?next=/tickets/{tid}")
    page.reload()
    assert "sri@example.id" in page.locator("#viewers").inner_text()
    # The second user replies first; the first one's reply, written on the older view, is held.
    other.fill("#reply-body", "Dari supervisor.")
    with other.expect_navigation():
        other.click("#reply-form button[type=submit]")
    page.fill("#reply-body", body)
    with page.expect_navigation():
        page.click("#reply-form button[type=submit]")
    assert page.locator("#stale-warning").count() == 1
    assert page.locator("#reply-body").input_value() == body  # kept, not lost
    assert "Dari supervisor." in page.locator("#conversation").inner_text()
    with page.expect_navigation():
        page.click("#reply-form button[type=submit]")  # "Kirim tetap", after reading
    assert page.url.endswith("?done=reply")
    assert body.split("\n")[0] in page.locator("#conversation").inner_text()
    assert dialogs == []
    other.context.close()


def test_ticket_page_in_english_and_agents_see_no_technical_reason(
        app: App, live_url: str, page: Any) -> None:
    got = ingest_one(app, message("OTP tidak masuk", channel="email", email="a@example.id"))
    agent(app, email="ani@example.id")
    _sign_in(page, live_url, "ani@example.id", f"/login?next=/tickets/{got.ticket_id}")
    page.click("#lang-switch a")
    assert page.locator("#reply-form h3").inner_text() == "Reply to the citizen"
    assert page.locator("html").get_attribute("lang") == "en"
    page.click("#lang-switch a")
    assert page.locator("#reply-form h3").inner_text() == "Balas warga"
