"""The agents' pages in a real browser: the queue, claiming, one ticket's conversation, replying,
notes, status, release; escaping of citizen text, masking of personal data by role, two agents
racing for one ticket, signing in, and forms from another site."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ticketing.app import App
from ticketing.domain.identity import IdentityKind, mask
from ticketing.store import tables
from tests.helpers import ingest_one, message
from tests.routing_helpers import agent, assignee
from tests.web.conftest import OWN_SCRIPT_EXCLUDED

pytestmark = pytest.mark.browser
PASSWORD = "secret-password"  # routing_helpers.agent's
NIK = "3224281908876385"
NIK_WRITTEN = "3224 2819 0887 6385"
PHONE = "+6281234567890"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
NAME = "Budi <b>Santoso</b>"


def _citizen_ticket(app: App) -> int:
    """One citizen's ticket written on two channels: web chat at 09:00 WIB (with their NIK in
    the text and markup), then e-mail at 10:00 from the same phone number."""
    first = ingest_one(app, message(
        f"Pelatihan saya tidak muncul di dashboard. NIK saya {NIK_WRITTEN}\n"
        f"Tolong dicek {SCRIPT} {IMG}", channel="webchat",
        sent_at="2026-03-02T09:00:00+07:00", name=NAME, phone="0812-3456-7890"))
    second = ingest_one(app, message("Mohon dibantu ya kak", channel="email",
                                     sent_at="2026-03-02T10:00:00+07:00",
                                     email="budi.s@example.id", phone="+62 812 3456 7890"))
    assert first.outcome == "created" and second.outcome == "appended"
    assert second.ticket_id == first.ticket_id
    return int(first.ticket_id or 0)


def _sign_in(page: Any, base: str, email: str, path: str = "/login") -> None:
    page.goto(base + path)
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    # The post answers with a redirect: wait until the page it leads to has loaded, or the next
    # (non-waiting) assertion may still see the login page.
    with page.expect_navigation():
        page.click("#login button[type=submit]")


def _rows(app: App, table: sa.Table, ticket_id: int) -> list[Any]:
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(table).where(table.c.ticket_id == ticket_id)
                                 .order_by(table.c.id)))


def _ticket(app: App, ticket_id: int) -> Any:
    with app.engine.connect() as conn:
        t = tables.tickets
        return conn.execute(sa.select(t).where(t.c.id == ticket_id)).one()


def test_agent_claims_reads_replies_notes_changes_status_and_releases(
        app: App, live_url: str, page: Any, dialogs: list[str]) -> None:
    tid = _citizen_ticket(app)
    uid = agent(app, email="ani@example.id")
    _sign_in(page, live_url, "ani@example.id")
    assert page.url == f"{live_url}/queue"  # an agent's home
    assert page.locator("#nav a").all_inner_texts() == ["Antrian", "Cari"]
    waiting = page.locator(f"#waiting tr[data-ticket='{tid}']")
    assert waiting.count() == 1
    assert "webchat" in waiting.inner_text() and "akun" in waiting.inner_text()
    assert page.locator("#mine-empty").count() == 1

    page.click("#claim-form button")
    assert page.url == f"{live_url}/tickets/{tid}?done=claimed"
    assert page.locator("#notice").inner_text() == "Tiket ini sekarang milik Anda."
    assert page.locator("#assignee").inner_text() == "ani@example.id"
    assert assignee(app, tid) == uid
    assert page.locator("#status").inner_text() == "baru"
    # The conversation across channels, oldest first, times in WIB, line breaks kept.
    articles = page.locator("#conversation article")
    assert articles.count() == 2
    assert [a.get_attribute("data-direction") for a in articles.all()] == ["in", "in"]
    first_meta = articles.nth(0).locator(".meta").first.inner_text()
    assert "webchat" in first_meta and "02-03-2026 09:00 WIB" in first_meta
    assert "email" in articles.nth(1).locator(".meta").first.inner_text()
    first_body = articles.nth(0).locator(".body")
    assert first_body.inner_text().startswith("Pelatihan saya tidak muncul di dashboard.")
    assert "\nTolong dicek" in first_body.inner_text()
    assert first_body.evaluate("e => getComputedStyle(e).whiteSpace") == "pre-wrap"
    assert articles.nth(1).locator(".body").inner_text() == "Mohon dibantu ya kak"
    page.goto(f"{live_url}/queue")
    assert page.locator(f"#mine tr[data-ticket='{tid}']").count() == 1
    assert page.locator(f"#waiting tr[data-ticket='{tid}']").count() == 0
    page.click(f"#mine tr[data-ticket='{tid}'] a")
    assert page.url == f"{live_url}/tickets/{tid}"

    # The channels the citizen wrote on: web chat has no session to answer (the message came
    # through the API: disabled, with why), e-mail
    # (where they last wrote) is chosen.
    assert page.locator("#reply-channels input[value=webchat]").is_disabled()
    assert "tidak diketahui" in page.locator("#reply-channels").inner_text()
    assert page.locator("#reply-channels input[value=email]").is_checked()
    answer = "Baik kak, kami cek dulu.\nMohon ditunggu <i>ya</i>."
    page.fill("#reply-form textarea[name=body]", answer)
    page.click("#reply-form button[type=submit]")
    assert page.url == f"{live_url}/tickets/{tid}?done=reply"
    assert page.locator("#notice").inner_text().startswith("Balasan disimpan")
    out = page.locator("#conversation article[data-direction=out]")
    assert out.count() == 1
    assert out.locator(".body").inner_text() == answer
    assert "menunggu dikirim" in out.locator(".meta").inner_text()
    assert page.locator("#conversation i").count() == 0
    assert page.locator("#status").inner_text() == "dibuka"  # a first reply opens the ticket
    sent = [m for m in _rows(app, tables.messages, tid) if m.direction == "out"]
    assert len(sent) == 1 and sent[0].channel == "email"  # where the citizen last wrote
    outbox = _rows(app, tables.outbox, tid)
    assert [(o.message_id, o.kind, o.status) for o in outbox] == [(sent[0].id, "reply", "pending")]

    page.fill("#note-form textarea[name=body]", "Cek data e-KYC dulu.")
    page.click("#note-form button[type=submit]")
    assert page.url == f"{live_url}/tickets/{tid}?done=note"
    note = page.locator("#conversation article[data-direction=note]")
    assert note.count() == 1 and note.locator(".body").inner_text() == "Cek data e-KYC dulu."
    assert "Catatan internal" in note.locator(".meta").inner_text()
    assert [m.body for m in _rows(app, tables.messages, tid)
            if m.direction == "note"] == ["Cek data e-KYC dulu."]
    assert len(_rows(app, tables.outbox, tid)) == 1  # a note is never sent to the citizen

    page.select_option("#status-form select[name=status]", "pending_customer")
    page.click("#status-form button[type=submit]")
    assert page.url == f"{live_url}/tickets/{tid}?done=status"
    assert page.locator("#status").inner_text() == "menunggu warga"
    assert _ticket(app, tid).status == "pending_customer"

    page.click("#release-form button[type=submit]")
    assert page.url == f"{live_url}/tickets/{tid}?done=release"
    assert page.locator("#notice").inner_text() == "Tiket dikembalikan ke antrean."
    assert page.locator("#assignee").inner_text() == "—"
    assert page.locator("#release-form").count() == 0
    assert assignee(app, tid) is None
    page.goto(f"{live_url}/queue")
    assert page.locator(f"#mine tr[data-ticket='{tid}']").count() == 0
    assert dialogs == []


def test_citizen_markup_is_shown_as_text_and_runs_nothing(
        app: App, live_url: str, page: Any, dialogs: list[str]) -> None:
    tid = _citizen_ticket(app)
    agent(app, email="ani@example.id")
    _sign_in(page, live_url, "ani@example.id")
    assert SCRIPT in page.locator("#waiting").inner_text()  # the subject, in the queue
    page.goto(f"{live_url}/tickets/{tid}")
    body = page.locator("#conversation article").first.locator(".body").inner_text()
    assert SCRIPT in body and IMG in body
    assert page.locator("#citizen-name").inner_text() == NAME
    assert page.locator("#citizen b, #conversation b").count() == 0
    assert page.locator(OWN_SCRIPT_EXCLUDED).count() == 0 and page.locator("img").count() == 0
    # A refused reply comes back in its box, as text, and nothing of it was stored.
    draft = f"</textarea>{SCRIPT}\nbaris dua"
    response = page.request.post(f"{live_url}/tickets/{tid}/reply",
                                 form={"body": draft, "status": "bogus"})
    assert response.status == 409
    page.set_content(response.text())
    assert page.input_value("#reply-form textarea[name=body]") == draft
    assert "unknown status" in page.locator("#error").inner_text()
    assert page.locator(OWN_SCRIPT_EXCLUDED).count() == 0
    assert [m.direction for m in _rows(app, tables.messages, tid)] == ["in", "in"]
    assert dialogs == []


def test_agents_see_nik_and_phone_masked_supervisors_whole(
        app: App, live_url: str, browser: Any, page: Any) -> None:
    tid = _citizen_ticket(app)
    agent(app, email="ani@example.id")
    agent(app, role="supervisor", email="spv@example.id")
    _sign_in(page, live_url, "ani@example.id", f"/login?next=/tickets/{tid}")
    assert page.url == f"{live_url}/tickets/{tid}"
    assert page.locator("#identities li[data-kind=nik] .value").inner_text() == \
        mask(IdentityKind.NIK, NIK)
    assert page.locator("#identities li[data-kind=phone] .value").inner_text() == \
        mask(IdentityKind.PHONE, PHONE)
    content = page.content()
    for secret in (NIK, NIK_WRITTEN, PHONE, "81234567890"):
        assert secret not in content, secret
    assert "NIK saya 32** **** **** *385" in page.locator("#conversation").inner_text()

    context = browser.new_context(locale="id-ID")
    try:
        spv = context.new_page()
        _sign_in(spv, live_url, "spv@example.id", f"/login?next=/tickets/{tid}")
        assert spv.locator("#nav a").all_inner_texts() == ["Antrian", "Cari", "Laporan SLA"]
        assert spv.locator("#identities li[data-kind=nik] .value").inner_text() == NIK
        assert spv.locator("#identities li[data-kind=phone] .value").inner_text() == PHONE
        assert f"NIK saya {NIK_WRITTEN}" in spv.locator("#conversation").inner_text()
    finally:
        context.close()


def test_a_second_agent_cannot_claim_or_release_what_the_first_has(
        app: App, live_url: str, browser: Any, page: Any) -> None:
    tid = _citizen_ticket(app)
    first = agent(app, email="ani@example.id")
    agent(app, email="budi@example.id")
    other = browser.new_context(locale="id-ID")
    try:
        second = other.new_page()
        _sign_in(page, live_url, "ani@example.id")
        _sign_in(second, live_url, "budi@example.id")
        assert second.locator(f"#waiting tr[data-ticket='{tid}']").count() == 1  # both see it
        page.click("#claim-form button")
        assert page.url == f"{live_url}/tickets/{tid}?done=claimed"
        second.click("#claim-form button")  # from the page loaded before the claim
        assert second.url == f"{live_url}/queue?claim=none"
        assert "Tidak ada tiket yang bisa Anda ambil" in second.locator("#notice").inner_text()
        assert second.locator(f"#waiting tr[data-ticket='{tid}']").count() == 0
        assert assignee(app, tid) == first
        second.goto(f"{live_url}/tickets/{tid}")
        assert second.locator("#assignee").inner_text() == "ani@example.id"
        assert second.locator("#release-form").count() == 0
        response = second.request.post(f"{live_url}/tickets/{tid}/release")
        assert response.status == 403
        second.set_content(response.text())
        assert "Tidak diizinkan" in second.locator("#error").inner_text()
        assert assignee(app, tid) == first
    finally:
        other.close()


def test_anonymous_visits_go_to_login_and_back_and_admins_are_refused(
        app: App, live_url: str, page: Any) -> None:
    tid = _citizen_ticket(app)
    agent(app, email="ani@example.id")
    agent(app, role="admin", email="admin@example.id")
    page.goto(f"{live_url}/tickets/{tid}")
    assert page.url == f"{live_url}/login?next=%2Ftickets%2F{tid}"
    page.fill("input[name=email]", "ani@example.id")
    page.fill("input[name=password]", PASSWORD)
    # The post answers with a redirect: wait until the page it leads to has loaded, or the next
    # (non-waiting) assertion may still see the login page.
    with page.expect_navigation():
        page.click("#login button[type=submit]")
    assert page.url == f"{live_url}/tickets/{tid}"
    page.goto(f"{live_url}/queue")
    assert page.locator("#claim-form").count() == 1
    page.click("text=Keluar")
    page.goto(f"{live_url}/queue")
    assert page.url == f"{live_url}/login?next=%2Fqueue"
    # A post without a session changes nothing and asks for a login.
    anonymous = httpx.post(f"{live_url}/tickets/{tid}/note", data={"body": "x"})
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == f"/login?next=%2Ftickets%2F{tid}"
    assert not [m for m in _rows(app, tables.messages, tid) if m.direction == "note"]
    _sign_in(page, live_url, "admin@example.id", "/login?next=/queue")
    response = page.goto(f"{live_url}/queue")
    assert response is not None and response.status == 403
    assert "agen dan supervisor" in page.locator("[role=alert]").inner_text()


def test_refusals_are_readable_pages_and_an_unknown_ticket_is_404(
        app: App, live_url: str, page: Any) -> None:
    tid = _citizen_ticket(app)
    agent(app, email="ani@example.id")
    _sign_in(page, live_url, "ani@example.id")
    for missing in ("999999", "abc"):
        response = page.goto(f"{live_url}/tickets/{missing}")
        assert response is not None and response.status == 404
        assert "Tidak ada tiket" in page.locator("[role=alert]").inner_text()
    page.goto(f"{live_url}/tickets/{tid}")
    page.select_option("#status-form select[name=status]", "closed")
    page.click("#status-form button[type=submit]")
    assert page.locator("#status").inner_text() == "ditutup"
    assert page.locator("#reply-form").count() == 0 and page.locator("#status-form").count() == 0
    draft = "Jawaban yang <b>tidak</b> boleh hilang"
    response = page.request.post(f"{live_url}/tickets/{tid}/reply", form={"body": draft})
    assert response.status == 409
    page.set_content(response.text())
    assert page.locator("#error").inner_text() == "Tidak bisa dilakukan: the ticket is closed"
    assert "Traceback" not in response.text()
    assert [m for m in _rows(app, tables.messages, tid) if m.direction == "out"] == []
    response = page.request.post(f"{live_url}/tickets/{tid}/note", form={"body": "   "})
    assert response.status == 422
    page.set_content(response.text())
    assert page.locator("#error").inner_text().startswith("Isian tidak valid")
    response = page.request.post(f"{live_url}/tickets/999999/note", form={"body": draft})
    assert response.status == 404
    page.set_content(response.text())
    assert "Tidak ada tiket #999999" in page.locator("[role=alert]").inner_text()


def test_forms_from_another_site_are_refused(app: App, live_url: str) -> None:
    tid = _citizen_ticket(app)
    agent(app, email="ani@example.id")
    login = httpx.post(f"{live_url}/login", headers={"Origin": live_url},
                       data={"email": "ani@example.id", "password": PASSWORD})
    assert login.status_code == 303 and login.headers["location"] == "/queue"
    cookies = {"ticketing_session": login.cookies["ticketing_session"]}
    evil = {"Origin": "https://evil.example"}
    for path, form in (("/queue/claim", {}), (f"/tickets/{tid}/note", {"body": "x"}),
                       (f"/tickets/{tid}/reply", {"body": "x"}),
                       (f"/tickets/{tid}/status", {"status": "closed"})):
        refused = httpx.post(live_url + path, data=form, headers=evil, cookies=cookies)
        assert refused.status_code == 403, path
        assert "situs lain" in refused.text
    assert assignee(app, tid) is None
    assert [m.direction for m in _rows(app, tables.messages, tid)] == ["in", "in"]
    assert _ticket(app, tid).status == "new"
    # The same posts from our own pages go through.
    ours = httpx.post(f"{live_url}/tickets/{tid}/note", data={"body": "x"}, cookies=cookies,
                      headers={"Origin": live_url})
    assert ours.status_code == 303 and ours.headers["location"] == f"/tickets/{tid}?done=note"
    claimed = httpx.post(f"{live_url}/queue/claim", cookies=cookies,
                         headers={"Referer": f"{live_url}/queue"})
    assert claimed.status_code == 303
    assert claimed.headers["location"] == f"/tickets/{tid}?done=claimed"
