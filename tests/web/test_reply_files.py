"""Files attached to a reply in the ticket page (issue 15): checked by their content (415 for
anything but images and PDF, whatever the name says; 413 over the size limit), kept in the
attachment store, shown on the reply, sent by e-mail as MIME parts; a channel that cannot
carry files (Instagram, as its sender stands) refuses them with the reason and the reply box says so beforehand."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ticketing.app import App
from ticketing.domain import reply_files
from ticketing.entrypoints.server import create_http_app
from ticketing.entrypoints.worker import deliver
from ticketing.services import accounts
from ticketing.services.clock import FixedClock
from tests.helpers import ingest_one, message

PASSWORD = "kata-sandi-rahasia"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"1 0 obj\n" * 8


@pytest.fixture
def agent(app: App, clock: FixedClock) -> Iterator[TestClient]:
    with app.engine.begin() as conn:
        accounts.create_user(conn, email="ani@example.id", name="Ani", role="agent",
                             password=PASSWORD, clock=clock)
    with TestClient(create_http_app(app), follow_redirects=False,
                    raise_server_exceptions=False) as client:
        r = client.post("/login", data={"email": "ani@example.id", "password": PASSWORD})
        assert r.status_code == 303
        yield client


def _ticket(app: App, channel: str) -> int:
    extra = {"instagram_id": "17841400000000001"} if channel == "instagram" else {}
    out = ingest_one(app, message("OTP tidak masuk", channel=channel,
                                  email="warga@example.id", **extra))
    assert out.ticket_id is not None
    deliver(app)  # the acknowledgement, out of the way
    for mail in Path(app.settings.dev_mailbox_dir).glob("*.eml"):
        mail.unlink()
    return int(out.ticket_id)


def _reply(client: TestClient, tid: int, files: list[tuple[str, bytes, str]],
           channel: str) -> object:
    page = client.get(f"/tickets/{tid}")
    seen = page.text.split('name="seen" value="', 1)[1].split('"', 1)[0]
    return client.post(f"/tickets/{tid}/reply",
                       data={"body": "Berikut panduannya.", "channel": channel, "seen": seen},
                       files=[("files", f) for f in files])


def test_an_image_and_a_pdf_go_out_as_mime_parts(app: App, agent: TestClient) -> None:
    tid = _ticket(app, "email")
    page = agent.get(f"/tickets/{tid}").text
    assert 'enctype="multipart/form-data"' in page and 'id="reply-file-input"' in page
    assert "Terkirim lewat: E-mail" in page
    r = _reply(agent, tid, [("../../bukti<b>.exe", PNG, "application/x-msdownload"),
                            ("surat.pdf", PDF, "text/plain")], "email")
    assert r.status_code == 303, r.text  # type: ignore[attr-defined]
    shown = agent.get(f"/tickets/{tid}").text
    assert "bukti b .exe.png" in shown and "surat.pdf" in shown and "<b>" not in shown
    assert deliver(app) == 1
    [mail] = sorted(Path(app.settings.dev_mailbox_dir).glob("*.eml"))
    parsed = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default)
    parts = list(parsed.iter_attachments())  # type: ignore[attr-defined]
    assert [(p.get_filename(), p.get_content_type()) for p in parts] == [
        ("bukti b .exe.png", "image/png"), ("surat.pdf", "application/pdf")]
    assert parts[0].get_payload(decode=True) == PNG
    assert "Berikut panduannya." in parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_type_by_content_415_size_413_and_the_draft_is_kept(
        app: App, agent: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    tid = _ticket(app, "email")
    r = _reply(agent, tid, [("foto.png", b"MZ\x90\x00 not an image", "image/png")], "email")
    assert r.status_code == 415 and "hanya gambar" in r.text  # type: ignore[attr-defined]
    assert "Berikut panduannya." in r.text  # type: ignore[attr-defined]
    monkeypatch.setattr(reply_files, "MAX_FILE", 32)
    r = _reply(agent, tid, [("besar.pdf", PDF, "application/pdf")], "email")
    assert r.status_code == 413 and "lebih dari" in r.text  # type: ignore[attr-defined]
    assert deliver(app) == 0  # nothing was queued


def test_a_channel_without_files_refuses_them_and_says_so(app: App, agent: TestClient) -> None:
    tid = _ticket(app, "instagram")
    page = agent.get(f"/tickets/{tid}").text
    assert "tidak bisa membawa lampiran" in page
    assert "Kanal balasan tiket ini tidak bisa membawa lampiran." in page
    r = _reply(agent, tid, [("bukti.png", PNG, "image/png")], "instagram")
    assert r.status_code == 422 and "tidak bisa membawa lampiran" in r.text  # type: ignore[attr-defined]
    r = _reply(agent, tid, [], "instagram")  # the same reply without the file goes
    assert r.status_code == 303  # type: ignore[attr-defined]


def test_sniffing_and_names() -> None:
    assert reply_files.sniff(PNG) == "image/png"
    assert reply_files.sniff(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert reply_files.sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert reply_files.sniff(b"<svg onload=alert(1)>") is None
    assert reply_files.safe_name("C:\\x\\foto.JPEG", "image/jpeg") == "foto.JPEG"
    assert reply_files.safe_name("", "application/pdf") == "lampiran.pdf"
    with pytest.raises(reply_files.FileTypeRefused):
        reply_files.accept([("a.pdf", b"%PD")])
    with pytest.raises(reply_files.InvalidInput):
        reply_files.accept([("a.png", PNG)] * (reply_files.MAX_FILES + 1))
