"""More of the ticket page in a real browser: attachments downloaded with the web session, the
related tickets (incident cluster, duplicates) with scores, merging and unmerging by a
supervisor (refused to agents), topic correction with its audit record, citizen markup in
related tickets kept as text, and the HTML page of an unexpected error."""

from __future__ import annotations

import json
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ticketing.app import App
from ticketing.services import accounts, merging, views
from ticketing.services.accounts import Principal, Role
from ticketing.services.ingest import Outcome, store_and_process
from ticketing.store import tables
from ticketing.domain.raw import RawDelivery, content_key
from tests.helpers import ingest_one, message
from tests.routing_helpers import agent
from tests.web.test_agent_pages import IMG, SCRIPT, _sign_in, _ticket
from tests.web.conftest import OWN_SCRIPT_EXCLUDED

BOSS = Principal(user_id=0, email="boss@example.id", name="Boss", role=Role.SUPERVISOR)

pytestmark = pytest.mark.browser
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 4 + b"\n%%EOF"
HTML_FILE = b"<html><script>alert(1)</script></html>"
NIK = "3224281908876385"
OTP_TEXTS = ["Selamat pagi, OTP tidak masuk ke HP saya dari kemarin",
             "OTP gak masuk ke hp saya dari kemarin min",
             "halo kak, otp tidak masuk ke HP saya sejak kemarin"]


def _email(app: App, sender: str, subject: str, files: list[tuple[bytes, str, str]]) -> Outcome:
    """An e-mail with attachments, through the same ingest as the SMTP listener's."""
    mail = EmailMessage()
    mail["From"], mail["To"] = sender, "pengaduan@prakerja.example.id"
    mail["Subject"], mail["Date"] = subject, "Mon, 02 Mar 2026 09:15:00 +0700"
    mail["Message-ID"] = f"<{abs(hash((sender, subject)))}@example.id>"
    mail.set_content("Terlampir bukti pembayaran saya, mohon dicek.")
    for data, ctype, name in files:
        maintype, subtype = ctype.split("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    payload = mail.as_bytes()
    raw = RawDelivery(channel="email", key=content_key("email", payload), payload=payload,
                      content_type="message/rfc822")
    [outcome] = store_and_process(app.uow, [raw], policy=app.ingest_policy, clock=app.clock)
    assert outcome.outcome == "created" and outcome.ticket_id and outcome.message_id
    return outcome


def _audit(app: App, kind: str) -> list[Any]:
    with app.engine.connect() as conn:
        a = tables.audit
        return list(conn.execute(sa.select(a).where(a.c.kind == kind).order_by(a.c.id)))


def _two_of_one_citizen(app: App) -> tuple[int, int]:
    a = ingest_one(app, {**message("OTP tidak masuk ke HP saya", phone="081234567890"),
                         "subject": f"OTP {SCRIPT}"})
    b = ingest_one(app, {**message(f"Insentif belum cair {IMG}", phone="081234567890",
                                   sent_at="2026-03-02T09:30:00+07:00"),
                         "subject": f"Insentif {IMG} NIK {NIK}"})
    assert a.ticket_id and b.ticket_id and a.ticket_id != b.ticket_id
    return a.ticket_id, b.ticket_id


def test_attachments_download_from_the_ticket_page_with_the_session(
        app: App, live_url: str, browser: Any, page: Any) -> None:
    mine = _email(app, "Hendra <hendra@example.id>", "Bukti bayar",
                  [(PDF, "application/pdf", "kwitansi maret.pdf"),
                   (HTML_FILE, "text/html", "halaman.html")])
    other = _email(app, "Sari <sari@example.id>", "Lampiran lain",
                   [(b"lain" * 50, "application/pdf", "lain.pdf")])
    tid, mid = mine.ticket_id, mine.message_id
    agent(app, email="ani@example.id")
    agent(app, email="budi@example.id")
    _sign_in(page, live_url, "ani@example.id", f"/login?next=/tickets/{tid}")
    links = page.locator(f"#m-{mid} .attachments a.download")
    assert links.count() == 2
    first = f"/tickets/{tid}/messages/{mid}/attachments/0"
    assert links.nth(0).get_attribute("href") == first
    with page.expect_download() as got:
        links.nth(0).click()
    download = got.value
    assert download.suggested_filename == "kwitansi maret.pdf"
    with open(download.path(), "rb") as fh:
        assert fh.read() == PDF
    response = page.request.get(live_url + first)
    assert response.status == 200 and response.body() == PDF
    headers = response.headers
    assert headers["content-disposition"].startswith("attachment;")
    assert "kwitansi" in headers["content-disposition"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"] == "sandbox"
    assert headers["content-type"] == "application/pdf"
    html_file = page.request.get(f"{live_url}/tickets/{tid}/messages/{mid}/attachments/1")
    assert html_file.status == 200 and html_file.body() == HTML_FILE
    assert html_file.headers["content-type"] == "application/octet-stream"
    assert html_file.headers["content-disposition"].startswith("attachment;")

    context = browser.new_context(locale="id-ID")  # another agent's session works too
    try:
        budi = context.new_page()
        _sign_in(budi, live_url, "budi@example.id")
        again = budi.request.get(live_url + first)
        assert again.status == 200 and again.body() == PDF
    finally:
        context.close()
    anonymous = httpx.get(live_url + first)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=")
    assert PDF not in anonymous.content
    # A message of another ticket is not this ticket's, though it exists under its own.
    foreign = page.request.get(
        f"{live_url}/tickets/{tid}/messages/{other.message_id}/attachments/0")
    assert foreign.status == 404 and "Lampiran tidak ditemukan" in foreign.text()
    own = page.request.get(f"{live_url}/tickets/{other.ticket_id}/messages/"
                           f"{other.message_id}/attachments/0")
    assert own.status == 200 and own.body() == b"lain" * 50
    for missing in (f"/tickets/{tid}/messages/{mid}/attachments/2",
                    f"/tickets/{tid}/messages/abc/attachments/0"):
        assert page.request.get(live_url + missing).status == 404, missing
    with app.engine.connect() as conn:  # a file gone from the store is a 404 page too
        kept = conn.execute(sa.select(tables.messages.c.attachments).where(
            tables.messages.c.id == other.message_id)).scalar_one()
    app.attachment_store.path(kept[0]["sha256"]).unlink()
    gone = page.request.get(f"{live_url}/tickets/{other.ticket_id}/messages/"
                            f"{other.message_id}/attachments/0")
    assert gone.status == 404 and gone.headers["content-type"].startswith("text/html")


def test_related_section_shows_the_incident_cluster_with_scores_as_text(
        app: App, live_url: str, page: Any, dialogs: list[str]) -> None:
    outs = [ingest_one(app, {**message(text, phone=f"08123456{i:04d}"),
                             "subject": f"OTP {i} {SCRIPT} {IMG}"})
            for i, text in enumerate(OTP_TEXTS)]
    tids = [int(o.ticket_id or 0) for o in outs]
    assert len(set(tids)) == 3
    agent(app, email="ani@example.id")
    _sign_in(page, live_url, "ani@example.id", f"/login?next=/tickets/{tids[2]}")
    incident = page.locator("#related #incident")
    assert incident.count() == 1
    assert page.locator("#incident-count").inner_text() == "3"
    rows = page.locator("#incident-tickets tbody tr")
    assert sorted(int(r.get_attribute("data-ticket") or 0) for r in rows.all()) == \
        sorted(tids[:2])
    for row in rows.all():
        score = float(row.locator("td.score").get_attribute("data-score") or 0)
        assert score >= 0.85
        assert row.locator("td.score").inner_text() == f"{score:.2f}"
        subject = row.locator("td").nth(1).inner_text()
        assert SCRIPT in subject and IMG in subject  # citizen markup shown as text
    assert page.locator(OWN_SCRIPT_EXCLUDED).count() == 0 and page.locator("img").count() == 0
    assert page.locator("#related .merge-form").count() == 0  # other citizens: never merged
    page.click(f"#incident-tickets tr[data-ticket='{tids[0]}'] a")
    assert page.url == f"{live_url}/tickets/{tids[0]}"
    assert page.locator(f"#incident-tickets tr[data-ticket='{tids[2]}']").count() == 1
    assert dialogs == []


def test_supervisor_merges_two_tickets_of_one_citizen_and_unmerges(
        app: App, live_url: str, page: Any, dialogs: list[str]) -> None:
    a, b = _two_of_one_citizen(app)
    spv = agent(app, role="supervisor", email="spv@example.id")
    _sign_in(page, live_url, "spv@example.id", f"/login?next=/tickets/{a}")
    row = page.locator(f"#duplicates tr[data-ticket='{b}']")
    assert row.count() == 1
    assert float(row.locator("td.score").get_attribute("data-score") or -1) >= 0
    assert f"Insentif {IMG} NIK {NIK}" in row.inner_text()  # supervisors see it whole
    row.locator(".merge-form button").click()
    assert page.url == f"{live_url}/tickets/{a}?done=merged"
    assert page.locator("#notice").inner_text() == "Tiket digabung ke tiket ini."
    assert _ticket(app, b).merged_into_id == a
    assert page.locator("#conversation article").count() == 2  # b's message is here now
    assert page.locator(f"#duplicates tr[data-ticket='{b}']").count() == 0
    [merged] = _audit(app, "ticket.merged")
    assert merged.actor == f"user:{spv}" and merged.data["source"] == b
    page.click(f"text=#{b}")
    assert page.url == f"{live_url}/tickets/{b}"
    assert page.locator("#merged").count() == 1
    page.click("#unmerge-form button")
    assert page.url == f"{live_url}/tickets/{b}?done=unmerged"
    assert page.locator("#notice").inner_text() == "Penggabungan dibatalkan."
    assert _ticket(app, b).merged_into_id is None
    assert page.locator("#conversation article").count() == 1
    [unmerged] = _audit(app, "ticket.unmerged")
    assert unmerged.actor == f"user:{spv}" and unmerged.ticket_id == b
    assert page.locator("#unmerge-form").count() == 0
    assert page.locator(OWN_SCRIPT_EXCLUDED).count() == 0 and page.locator("img").count() == 0
    assert dialogs == []


def test_agents_get_no_merge_forms_and_a_forged_post_is_refused(
        app: App, live_url: str, page: Any) -> None:
    a, b = _two_of_one_citizen(app)
    agent(app, email="ani@example.id")
    _sign_in(page, live_url, "ani@example.id", f"/login?next=/tickets/{a}")
    row = page.locator(f"#duplicates tr[data-ticket='{b}']")
    assert row.count() == 1  # shown, though
    assert f"Insentif {IMG} NIK" in row.inner_text() and NIK not in page.content()  # masked
    assert page.locator(".merge-form").count() == 0
    refused = page.request.post(f"{live_url}/tickets/{a}/merge", form={"source": str(b)})
    assert refused.status == 403
    page.set_content(refused.text())
    assert page.locator("#error").inner_text().startswith("Tidak diizinkan")
    assert _ticket(app, b).merged_into_id is None and not _audit(app, "ticket.merged")
    with app.engine.begin() as conn:
        merging.merge_tickets(conn, b, a, by=BOSS, now=app.clock.now())
    page.goto(f"{live_url}/tickets/{b}")
    assert page.locator("#merged").count() == 1 and page.locator("#unmerge-form").count() == 0
    assert page.request.post(f"{live_url}/tickets/{b}/unmerge").status == 403
    assert _ticket(app, b).merged_into_id == a and not _audit(app, "ticket.unmerged")
    # A supervisor's session does not help a form from another site either.
    agent(app, role="supervisor", email="spv@example.id")
    login = httpx.post(f"{live_url}/login", headers={"Origin": live_url},
                       data={"email": "spv@example.id", "password": "secret-password"})
    evil = httpx.post(f"{live_url}/tickets/{b}/unmerge", headers={"Origin": "https://evil.x"},
                      cookies={"ticketing_session": login.cookies["ticketing_session"]})
    assert evil.status_code == 403 and _ticket(app, b).merged_into_id == a


def test_topic_correction_changes_the_topic_and_is_audited(
        app: App, live_url: str, page: Any) -> None:
    out = ingest_one(app, message("OTP tidak masuk ke HP saya", phone="081234567890"))
    tid = int(out.ticket_id or 0)
    assert _ticket(app, tid).topic == "otp"
    uid = agent(app, email="ani@example.id")
    _sign_in(page, live_url, "ani@example.id", f"/login?next=/tickets/{tid}")
    select = page.locator("#topic-form select[name=topic]")
    assert select.input_value() == "otp"
    offered = [o.get_attribute("value") for o in select.locator("option").all()]
    assert offered == app.evidence_policy.classifier.topics
    select.select_option("akun")
    page.click("#topic-form button[type=submit]")
    assert page.url == f"{live_url}/tickets/{tid}?done=topic"
    assert page.locator("#topic").inner_text() == "akun"
    assert page.locator("#topic-form select[name=topic]").input_value() == "akun"
    assert _ticket(app, tid).topic == "akun"
    [event] = _audit(app, "ticket.topic_changed")
    assert event.actor == f"user:{uid}" and event.ticket_id == tid
    assert event.data == {"previous": "otp", "topic": "akun", "reason": "corrected by staff"}
    refused = page.request.post(f"{live_url}/tickets/{tid}/topic", form={"topic": "cuaca"})
    assert refused.status == 422 and _ticket(app, tid).topic == "akun"


def test_an_unexpected_error_is_an_html_page_on_the_web_and_json_on_the_api(
        app: App, live_url: str, page: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    tid = int(ingest_one(app, message("OTP tidak masuk", phone="081234567890")).ticket_id or 0)
    agent(app, email="ani@example.id")
    with app.engine.begin() as conn:
        token = accounts.create_token(conn, email="ani@example.id", clock=app.clock)
    _sign_in(page, live_url, "ani@example.id")

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("rahasia-internal: koneksi db putus")
    monkeypatch.setattr(views, "get_ticket", broken)
    response = page.goto(f"{live_url}/tickets/{tid}")
    assert response is not None and response.status == 500
    assert response.headers["content-type"].startswith("text/html")
    assert page.locator("h1").inner_text() == "Terjadi kesalahan"
    assert "sudah dicatat" in page.locator("[role=alert]").inner_text()
    for leak in ("rahasia", "RuntimeError", "Traceback", "broken"):
        assert leak not in page.content(), leak
    api = httpx.get(f"{live_url}/api/v1/tickets/{tid}",
                    headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 500 and api.headers["content-type"] == "application/json"
    assert json.loads(api.text) == {"error": {"code": "internal",
                                              "message": "internal error; it has been logged"}}
