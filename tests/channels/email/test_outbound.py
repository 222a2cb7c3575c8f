"""Replies, acknowledgements, retries and bounces end to end: the API writes the outbox, the
worker delivers through the real e-mail sender to an aiosmtpd relay on loopback, and the
citizen's answer (through the real SMTP listener) threads back."""

from __future__ import annotations

import email
import email.policy
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from channels.email.server import make_controller
from ticketing.entrypoints.api import create_api
from ticketing.app import App
from ticketing.domain.zones import WIB
from ticketing.services import accounts
from ticketing.services.intake import raw_sink
from ticketing.store import tables
from ticketing.entrypoints.worker import deliver, drain
from tests.channels.email.test_smtp import DOMAIN, citizen_mail, free_port


@dataclass
class Relay:
    """Stands in for the outbound relay; refuses recipients whose address contains 'reject'."""

    received: list[EmailMessage] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if "reject" in address:
            return "550 5.1.1 User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(email.message_from_bytes(envelope.original_content,
                                                      policy=email.policy.default))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def relay_port() -> int:
    return free_port()


@pytest.fixture
def relay(relay_port: int) -> Iterator[Relay]:
    handler = Relay()
    controller = Controller(handler, hostname="127.0.0.1", port=relay_port)
    controller.start()
    yield handler
    controller.stop()


@pytest.fixture
def mail_app(app: App, relay_port: int) -> App:
    app.settings = replace(app.settings, outbound_smtp_url=f"smtp://127.0.0.1:{relay_port}",
                           smtp_domains=(DOMAIN,), support_address=f"pengaduan@{DOMAIN}")
    return app


@pytest.fixture
def inbound(mail_app: App) -> Iterator[int]:
    port = free_port()
    controller = make_controller(raw_sink(mail_app.uow, mail_app.clock), host="127.0.0.1",
                                 port=port, domains=[DOMAIN], max_bytes=1_000_000)
    controller.start()
    yield port
    controller.stop()


def send(port: int, msg: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.send_message(msg)


def agent_token(app: App) -> str:
    with app.engine.begin() as conn:
        accounts.create_user(conn, email="agen@example.id", name="Agen Satu", role="agent",
                             password="secret-password", clock=app.clock)
        return accounts.create_token(conn, email="agen@example.id", clock=app.clock)


def outbox_rows(app: App) -> list[Any]:
    with app.engine.connect() as conn:
        return conn.execute(sa.select(tables.outbox).order_by(tables.outbox.c.id)).all()


def test_reply_goes_out_threaded_and_the_answer_comes_back(
        mail_app: App, relay: Relay, inbound: int) -> None:
    send(inbound, citizen_mail())
    drain(mail_app)
    deliver(mail_app)
    [ack] = relay.received
    assert ack["Auto-Submitted"] == "auto-replied"
    assert "[#T-000001]" in ack["Subject"]
    assert "T-000001" in ack.get_body(("plain",)).get_content()
    relay.received.clear()

    auth = {"Authorization": f"Bearer {agent_token(mail_app)}"}
    with TestClient(create_api(mail_app)) as client:
        r = client.post("/api/v1/tickets/1/replies", json={"body": "Mohon coba lagi besok."},
                        headers=auth)
        assert r.status_code == 201, r.text
        ticket = client.get("/api/v1/tickets/1", headers=auth).json()
    # Queued is not answered: the reply counts once the relay accepts it (issue 11).
    assert ticket["status"] == "open" and ticket["first_response_at"] is None
    assert deliver(mail_app) == 1
    [out] = relay.received
    assert out["From"] == f"pengaduan@{DOMAIN}"
    assert out["To"].addresses[0].addr_spec == "budi.santoso@gmail.com"
    assert out["In-Reply-To"] == "<m1@gmail.com>"
    assert out["Subject"].startswith("[#T-000001] Re: OTP tidak masuk")
    assert out.get_body(("plain",)).get_content().strip() == "Mohon coba lagi besok."
    assert "<p>Mohon coba lagi besok.</p>" in out.get_body(("html",)).get_content()
    assert outbox_rows(mail_app)[-1].status == "sent"
    with TestClient(create_api(mail_app)) as client:
        shown = client.get("/api/v1/tickets/1", headers=auth).json()["messages"]
    assert [x["delivery"]["status"] for x in shown if x["direction"] == "out"] == ["sent"] * 2
    with TestClient(create_api(mail_app)) as client:
        after = client.get("/api/v1/tickets/1", headers=auth).json()
    assert after["first_response_at"] == mail_app.clock.now().isoformat()
    assert shown[0]["full_text"] and shown[0]["delivery"] is None

    answer = citizen_mail(body="Sudah saya coba, tetap tidak bisa.", msgid="<m2@gmail.com>")
    del answer["Subject"]
    answer["Subject"] = "Re: " + str(out["Subject"])
    answer["In-Reply-To"] = out["Message-ID"]
    send(inbound, answer)
    drain(mail_app)
    with mail_app.engine.connect() as conn:
        tickets = conn.execute(sa.select(tables.messages.c.ticket_id).where(
            tables.messages.c.direction == "in")).scalars().all()
    assert tickets == [1, 1]


def test_no_acknowledgement_for_automated_mail_or_other_channels_and_a_loop_guard(
        mail_app: App, relay: Relay, inbound: int) -> None:
    ooo = citizen_mail(msgid="<ooo@gmail.com>")
    ooo["Auto-Submitted"] = "auto-replied"
    send(inbound, ooo)
    for i in range(5):  # five new complaints from one address within the hour
        topics = ["OTP tidak masuk", "Insentif belum cair", "Sertifikat belum terbit",
                  "Gagal login akun", "Rekening salah input"]
        mail = citizen_mail(body=topics[i], msgid=f"<n{i}@gmail.com>")
        del mail["Subject"]
        mail["Subject"] = topics[i]
        send(inbound, mail)
    drain(mail_app)
    deliver(mail_app)
    assert len(relay.received) == 3, [(r.id, r.kind, r.status, r.last_error) for r in outbox_rows(mail_app)]
    with mail_app.engine.connect() as conn:
        suppressed = conn.execute(sa.select(sa.func.count()).select_from(tables.audit).where(
            tables.audit.c.kind == "acknowledgement.suppressed")).scalar()
        ignored = conn.execute(sa.select(tables.inbox.c.last_error).where(
            tables.inbox.c.status == "ignored")).scalars().all()
    assert suppressed == 2
    assert len(ignored) == 1 and "automated" in ignored[0]


def test_relay_down_retries_with_backoff_then_delivers(mail_app: App, relay_port: int,
                                                       inbound: int) -> None:
    send(inbound, citizen_mail())
    drain(mail_app)
    assert deliver(mail_app) == 1  # nobody listens on the relay port yet
    [row] = outbox_rows(mail_app)
    assert row.status == "pending" and row.attempts == 1 and "unreachable" in row.last_error
    assert row.next_attempt_at > mail_app.clock.now()
    assert deliver(mail_app) == 0  # not due yet
    handler = Relay()
    controller = Controller(handler, hostname="127.0.0.1", port=relay_port)
    controller.start()
    try:
        mail_app.clock.advance(hours=2)  # type: ignore[attr-defined]
        assert deliver(mail_app) == 1
    finally:
        controller.stop()
    assert outbox_rows(mail_app)[0].status == "sent" and len(handler.received) == 1


def test_permanent_rejection_and_a_bounce_mark_the_delivery_failed(
        mail_app: App, relay: Relay, inbound: int) -> None:
    rejected = citizen_mail(body="Insentif saya belum cair.", msgid="<r1@gmail.com>")
    del rejected["From"]
    rejected["From"] = "reject.me@gmail.com"
    send(inbound, rejected)
    send(inbound, citizen_mail(msgid="<b1@gmail.com>"))
    drain(mail_app)
    deliver(mail_app)
    rows = outbox_rows(mail_app)
    assert [r.status for r in rows] == ["failed", "sent"]
    our_id = rows[1].external_id

    bounce = EmailMessage()
    bounce["From"] = "Mail Delivery Subsystem <mailer-daemon@gmail.com>"
    bounce["To"] = f"pengaduan@{DOMAIN}"
    bounce["Subject"] = "Delivery Status Notification (Failure)"
    bounce["Message-ID"] = "<dsn1@gmail.com>"
    bounce["Auto-Submitted"] = "auto-replied"
    bounce.set_content(f"Your message {our_id} could not be delivered: 550 5.1.1")
    bounce["In-Reply-To"] = our_id
    send(inbound, bounce)
    drain(mail_app)
    with mail_app.engine.connect() as conn:
        status = conn.execute(sa.select(tables.outbox.c.status)
                              .where(tables.outbox.c.external_id == our_id)).scalar()
        failures = conn.execute(sa.select(tables.audit.c.ticket_id).where(
            tables.audit.c.kind == "message.delivery_failed")).scalars().all()
        ticket_status = conn.execute(sa.select(tables.tickets.c.status)
                                     .where(tables.tickets.c.id == rows[1].ticket_id)).scalar()
        on_ticket = conn.execute(sa.select(sa.func.count()).select_from(tables.messages).where(
            tables.messages.c.external_id == "<dsn1@gmail.com>",
            tables.messages.c.ticket_id == rows[1].ticket_id)).scalar()
    assert on_ticket == 1
    assert ticket_status == "new"  # a bounce never reopens or opens anything
    assert sorted(failures) == sorted([rows[0].ticket_id, rows[1].ticket_id])
    assert status == "failed"


def test_ticket_tag_is_trusted_only_from_the_tickets_own_citizen(
        mail_app: App, relay: Relay, inbound: int) -> None:
    send(inbound, citizen_mail())
    drain(mail_app)
    same = citizen_mail(body="Tambahan: saya pakai Telkomsel.", msgid="<t2@gmail.com>")
    del same["Subject"]
    same["Subject"] = "[#T-000001] tambahan info"
    other = citizen_mail(body="Saya juga mau tanya soal sertifikat", msgid="<t3@gmail.com>")
    del other["From"], other["Subject"]
    other["From"] = "orang.lain@gmail.com"
    other["Subject"] = "[#T-000001] ikut tanya"
    send(inbound, same)
    send(inbound, other)
    drain(mail_app)
    with mail_app.engine.connect() as conn:
        rows = dict(conn.execute(sa.select(tables.messages.c.external_id,
                                           tables.messages.c.ticket_id)
                                 .where(tables.messages.c.direction == "in")).all())
        linked = conn.execute(sa.select(tables.audit.c.data).where(
            tables.audit.c.kind == "ticket.created",
            tables.audit.c.ticket_id == rows["<t3@gmail.com>"])).scalar_one()
    assert rows["<t2@gmail.com>"] == 1
    assert rows["<t3@gmail.com>"] != 1 and linked["linked_to"] == 1


def test_a_breach_mails_each_supervisor_through_the_relay_marked_auto_generated(
        mail_app: App, relay: Relay) -> None:
    import datetime as dt

    from ticketing.services.clock import FixedClock
    from ticketing.entrypoints.jobs import sla_tick
    from tests.helpers import ingest_one, message

    mail_app.settings = replace(mail_app.settings, sla_escalation_email=True)
    clock = mail_app.clock
    assert isinstance(clock, FixedClock)
    with mail_app.engine.begin() as conn:
        accounts.create_user(conn, email="spv@example.id", name="Supervisor Satu",
                             role="supervisor", password="secret-password", clock=clock)
    clock.at = dt.datetime(2026, 3, 6, 16, 31, tzinfo=WIB).astimezone(dt.UTC)
    tid = ingest_one(mail_app, message("OTP tidak masuk", phone="081234567890",
                                       sent_at="2026-03-06T16:30:00+07:00")).ticket_id or 0
    clock.at = dt.datetime(2026, 3, 9, 11, 31, tzinfo=WIB).astimezone(dt.UTC)
    sla_tick(mail_app)
    assert deliver(mail_app) == 1
    [mail] = relay.received
    assert mail["To"] == "Supervisor Satu <spv@example.id>"
    assert mail["From"] == f"pengaduan@{DOMAIN}"
    assert mail["Auto-Submitted"] == "auto-generated"  # RFC 3834: nobody answers this
    assert f"[#T-{tid:06d}]" in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "2026-03-09 11:30 WIB" in text and f"/tickets/{tid}" in text
    assert "0812" not in text


def test_a_delay_notice_is_kept_on_the_ticket_but_does_not_fail_the_delivery(
        mail_app: App, relay: Relay, inbound: int) -> None:
    send(inbound, citizen_mail(msgid="<d1@gmail.com>"))
    drain(mail_app)
    deliver(mail_app)
    [ack] = outbox_rows(mail_app)
    assert ack.status == "sent"
    report = (
        "From: Mail Delivery Subsystem <mailer-daemon@gmail.com>\r\n"
        f"To: pengaduan@{DOMAIN}\r\nSubject: Delivery Status Notification (Delay)\r\n"
        f"Message-ID: <dsn-delay@gmail.com>\r\nIn-Reply-To: {ack.external_id}\r\n"
        "Date: Mon, 02 Mar 2026 09:00:00 +0700\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nDelivery is delayed; we keep trying.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.gmail.com\r\n\r\n"
        "Final-Recipient: rfc822; warga@gmail.com\r\nAction: delayed\r\nStatus: 4.4.7\r\n"
        "--b--\r\n")
    with smtplib.SMTP("127.0.0.1", inbound) as client:
        client.sendmail("", [f"pengaduan@{DOMAIN}"], report.encode())
    drain(mail_app)
    m = tables.messages
    with mail_app.engine.connect() as conn:
        stored = conn.execute(sa.select(m.c.ticket_id, m.c.automation, m.c.automation_reason)
                              .where(m.c.external_id == "<dsn-delay@gmail.com>")).one()
        failures = conn.execute(sa.select(sa.func.count()).select_from(tables.audit).where(
            tables.audit.c.kind == "message.delivery_failed")).scalar()
    assert stored == (ack.ticket_id, "delay", "bounce")
    assert [r.status for r in outbox_rows(mail_app)] == ["sent"] and failures == 0
