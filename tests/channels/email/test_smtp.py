"""The SMTP listener on loopback, spoken to with smtplib: 250 only after the commit, 550 for
foreign domains, 552 over the size limit, 451 when storage fails or hangs, one row per retry."""

from __future__ import annotations

import email.policy
import smtplib
import socket
import threading
from collections.abc import Callable, Iterator
from email.message import EmailMessage

import pytest
import sqlalchemy as sa

from channels.email.server import make_controller
from ticketing.app import App
from ticketing.services.intake import raw_sink
from ticketing.domain.raw import RawDelivery
from ticketing.services.ports import RawSink
from ticketing.store import tables
from ticketing.entrypoints.worker import drain

DOMAIN = "prakerja.example.id"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Listen = Callable[..., int]


@pytest.fixture
def listen() -> Iterator[Listen]:
    started = []

    def start(sink: RawSink, max_bytes: int = 200_000, timeout: float = 5.0,
              **options: int) -> int:
        port = free_port()
        controller = make_controller(sink, host="127.0.0.1", port=port, domains=[DOMAIN],
                                     max_bytes=max_bytes, store_timeout=timeout, **options)
        controller.start()
        started.append(controller)
        return port
    yield start
    for c in started:
        c.stop()


def citizen_mail(body: str = "Selamat pagi, OTP tidak masuk ke HP saya. WA saya 0812-3456-7890",
                 msgid: str = "<m1@gmail.com>") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Budi Santoso <budi.santoso@gmail.com>"
    msg["To"] = f"pengaduan@{DOMAIN}"
    msg["Subject"] = "OTP tidak masuk"
    msg["Message-ID"] = msgid
    msg["Date"] = "Mon, 02 Mar 2026 09:15:00 +0700"
    msg.set_content(body)
    return msg


def test_mail_is_committed_then_becomes_a_ticket(app: App, listen: Listen) -> None:
    port = listen(raw_sink(app.uow, app.clock))
    with smtplib.SMTP("127.0.0.1", port) as client:
        refused = client.send_message(citizen_mail())
    assert refused == {}
    with app.engine.connect() as conn:
        assert conn.execute(sa.select(tables.inbox.c.status)).scalar_one() == "pending"
    assert drain(app) == 1
    with app.engine.connect() as conn:
        row = conn.execute(sa.select(tables.messages.c.channel, tables.messages.c.external_id,
                                     tables.messages.c.body)
                           .where(tables.messages.c.direction == "in")).one()
        phones = conn.execute(sa.select(tables.identities.c.value).where(
            tables.identities.c.kind == "phone")).scalars().all()
    assert row.channel == "email" and row.external_id == "<m1@gmail.com>"
    assert "OTP tidak masuk" in row.body
    assert phones == ["+6281234567890"]


def test_a_retried_delivery_is_stored_once(app: App, listen: Listen) -> None:
    port = listen(raw_sink(app.uow, app.clock))
    mail = citizen_mail().as_bytes()
    for _ in range(2):
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.sendmail("budi.santoso@gmail.com", [f"pengaduan@{DOMAIN}"], mail)
    with app.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.inbox)).scalar() == 1


def test_one_mail_to_two_of_our_addresses_is_one_message(app: App, listen: Listen) -> None:
    port = listen(raw_sink(app.uow, app.clock))
    mail = citizen_mail(msgid="<two@gmail.com>")
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.send_message(mail, to_addrs=[f"pengaduan@{DOMAIN}"])
    del mail["To"]
    mail["To"] = f"info@{DOMAIN}"
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.send_message(mail, to_addrs=[f"info@{DOMAIN}"])
    drain(app)
    with app.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.messages)
                            .where(tables.messages.c.direction == "in")).scalar() == 1


def test_recipients_beyond_the_cap_get_452_and_the_mail_is_stored_once(
        app: App, listen: Listen) -> None:
    port = listen(raw_sink(app.uow, app.clock))  # the default cap: RFC 5321's 100
    rcpts = [f"warga{i}@{DOMAIN}" for i in range(200)]
    with smtplib.SMTP("127.0.0.1", port) as client:
        refused = client.sendmail("budi.santoso@gmail.com", rcpts,
                                  citizen_mail().as_bytes(policy=email.policy.SMTP))
    assert sorted(refused) == sorted(rcpts[100:])
    assert {code for code, _ in refused.values()} == {452}
    assert all(b"4.5.3 Too many recipients" in text for _, text in refused.values())
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(tables.inbox.c.meta)).scalars().all()
    assert len(rows) == 1 and rows[0]["rcpt_tos"] == rcpts[:100]


def test_the_recipient_cap_is_a_setting(app: App, listen: Listen) -> None:
    port = listen(raw_sink(app.uow, app.clock), max_recipients=2)
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.ehlo()
        client.mail("budi.santoso@gmail.com")
        assert client.rcpt(f"a@{DOMAIN}")[0] == 250
        assert client.rcpt(f"b@{DOMAIN}")[0] == 250
        assert client.rcpt(f"c@{DOMAIN}") == (452, b"4.5.3 Too many recipients")
        client.rset()


def test_foreign_domain_is_refused_with_550(app: App, listen: Listen) -> None:
    port = listen(raw_sink(app.uow, app.clock))
    with smtplib.SMTP("127.0.0.1", port) as client, \
            pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        client.sendmail("a@gmail.com", ["someone@elsewhere.example"], b"Subject: x\r\n\r\nx\r\n")
    assert refused.value.recipients["someone@elsewhere.example"][0] == 550


def test_oversized_mail_gets_552(app: App, listen: Listen) -> None:
    port = listen(raw_sink(app.uow, app.clock), max_bytes=10_000)
    with smtplib.SMTP("127.0.0.1", port) as client, \
            pytest.raises((smtplib.SMTPDataError, smtplib.SMTPSenderRefused)) as err:
        client.send_message(citizen_mail(body="x" * 20_000))
    assert err.value.smtp_code == 552


def test_storage_failure_is_451_and_nothing_half_stored(app: App, listen: Listen) -> None:
    def broken(delivery: RawDelivery) -> bool:
        raise OSError("disk full")
    port = listen(broken)
    with smtplib.SMTP("127.0.0.1", port) as client, \
            pytest.raises(smtplib.SMTPDataError) as err:
        client.send_message(citizen_mail())
    assert err.value.smtp_code == 451


def test_storage_that_hangs_is_451_not_a_hang(app: App, listen: Listen) -> None:
    release = threading.Event()

    def stuck(delivery: RawDelivery) -> bool:
        release.wait(10)
        return True
    port = listen(stuck, timeout=0.3)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client, \
                pytest.raises(smtplib.SMTPDataError) as err:
            client.send_message(citizen_mail())
        assert err.value.smtp_code == 451
    finally:
        release.set()


def test_attachments_are_stored_by_digest_and_downloadable(app: App, listen: Listen) -> None:
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from ticketing.entrypoints.api import create_api
    from ticketing.services import accounts

    app.settings = replace(app.settings, max_attachment_bytes=50_000)
    port = listen(raw_sink(app.uow, app.clock))
    mail = citizen_mail()
    ktp = b"\xff\xd8\xff\xe0" + b"KTP-scan" * 100
    mail.add_attachment(ktp, maintype="image", subtype="jpeg", filename="ktp saya.jpg")
    mail.add_attachment(b"x" * 60_000, maintype="application", subtype="pdf",
                        filename="besar.pdf")
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.send_message(mail)
    drain(app)
    with app.engine.connect() as conn:
        message_id, items = conn.execute(sa.select(tables.messages.c.id,
                                                   tables.messages.c.attachments)
                                         .where(tables.messages.c.direction == "in")).one()
    assert [(a["filename"], a["stored"]) for a in items] == [("ktp saya.jpg", True),
                                                            ("besar.pdf", False)]
    assert items[1]["note"] == "too large to keep"
    with app.engine.begin() as conn:
        accounts.create_user(conn, email="a@example.id", name="A", role="agent",
                             password="secret-password", clock=app.clock)
        token = accounts.create_token(conn, email="a@example.id", clock=app.clock)
    with TestClient(create_api(app)) as client:
        auth = {"Authorization": f"Bearer {token}"}
        r = client.get(f"/api/v1/messages/{message_id}/attachments/0", headers=auth)
        assert r.status_code == 200 and r.content == ktp
        assert r.headers["content-disposition"].startswith("attachment")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert client.get(f"/api/v1/messages/{message_id}/attachments/1",
                          headers=auth).status_code == 404
        assert client.get(f"/api/v1/messages/{message_id}/attachments/0").status_code == 401
