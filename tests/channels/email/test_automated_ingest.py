"""Automated mail end to end (real SMTP in and out, the worker, the database): an Apple vacation
reply without RFC 3834 headers (a real sample) to our acknowledgement of a resolved ticket is
kept on it but neither reopens it nor is acknowledged; a returned copy of our acknowledgement
without any delivery-status part marks it failed; an abuse feedback report about it does not."""

from __future__ import annotations

import re
import smtplib
from pathlib import Path

import sqlalchemy as sa

from ticketing.app import App
from ticketing.entrypoints.worker import deliver, drain
from ticketing.store import tables
from tests.channels.email.test_outbound import (Relay, inbound, mail_app, outbox_rows,  # noqa: F401
                                                relay, relay_port, send)
from tests.channels.email.test_smtp import DOMAIN, citizen_mail

CORPUS = Path(__file__).parent / "corpus"


def _acknowledged(app: App, port: int) -> tuple[int, str]:
    send(port, citizen_mail(msgid="<auto1@gmail.com>"))
    drain(app)
    deliver(app)
    [ack] = outbox_rows(app)
    assert ack.status == "sent" and ack.external_id
    return int(ack.ticket_id), str(ack.external_id)


def _raw_in(port: int, data: bytes, mail_from: str = "") -> None:
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.sendmail(mail_from, [f"pengaduan@{DOMAIN}"], data)


def _message(app: App, external_id: str) -> sa.Row:  # type: ignore[type-arg]
    m = tables.messages
    with app.engine.connect() as conn:
        return conn.execute(sa.select(m.c.ticket_id, m.c.automation, m.c.automation_reason)
                            .where(m.c.external_id == external_id)).one()


def _status(app: App, ticket_id: int) -> str:
    with app.engine.connect() as conn:
        return str(conn.execute(sa.select(tables.tickets.c.status)
                                .where(tables.tickets.c.id == ticket_id)).scalar_one())


def test_an_apple_vacation_reply_neither_reopens_nor_is_acknowledged(
        mail_app: App, relay: Relay, inbound: int) -> None:
    tid, our_id = _acknowledged(mail_app, inbound)
    with mail_app.engine.begin() as conn:
        conn.execute(sa.update(tables.tickets).where(tables.tickets.c.id == tid)
                     .values(status="resolved"))
    sample = (CORPUS / "apple_vacation.eml").read_bytes()
    sample = re.sub(rb"(?m)^(In-Reply-To|References): .*$", lambda m: m.group(1) + b": "
                    + our_id.encode(), sample).replace(b"kijitora@apple.example.com",
                                                       b"budi.santoso@gmail.com")
    _raw_in(inbound, sample.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"),
            "budi.santoso@gmail.com")
    drain(mail_app)
    deliver(mail_app)
    stored = _message(mail_app, "<7e23258d-247f-479e-996d-e01f0f30af85-vac@apple.example.com>")
    assert tuple(stored) == (tid, "auto_reply", "vacation")
    assert _status(mail_app, tid) == "resolved"
    assert len(outbox_rows(mail_app)) == 1 and len(relay.received) == 1  # the first ack only


def _returned(our_id: str, *, report: str | None) -> bytes:
    kind = f"multipart/report; report-type={report}" if report else "multipart/mixed"
    extra = ("--r\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
             "User-Agent: x/1\r\nVersion: 1\r\n\r\n" if report else "")
    return (f"From: Layanan Surat <info@mail.carrier.example>\r\nTo: pengaduan@{DOMAIN}\r\n"
            f"Subject: Pemberitahuan\r\nDate: Mon, 02 Mar 2026 09:30:00 +0700\r\n"
            f"Message-ID: <ret-{report}@mail.carrier.example>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: {kind}; boundary=\"r\"\r\n\r\n--r\r\nContent-Type: text/plain\r\n\r\n"
            "Pesan Anda tidak dapat kami teruskan.\r\n" + extra +
            f"--r\r\nContent-Type: message/rfc822\r\n\r\nFrom: pengaduan@{DOMAIN}\r\n"
            f"To: budi.santoso@gmail.com\r\nMessage-ID: {our_id}\r\nSubject: Laporan\r\n\r\n"
            "Laporan Anda sudah kami terima.\r\n--r--\r\n").encode()


def test_a_returned_copy_fails_the_delivery_and_a_feedback_report_does_not(
        mail_app: App, relay: Relay, inbound: int) -> None:
    tid, our_id = _acknowledged(mail_app, inbound)
    _raw_in(inbound, _returned(our_id, report="feedback-report"), "info@mail.carrier.example")
    drain(mail_app)
    assert tuple(_message(mail_app, "<ret-feedback-report@mail.carrier.example>")) == (
        tid, "feedback_report", "feedback-report")
    assert [r.status for r in outbox_rows(mail_app)] == ["sent"]
    _raw_in(inbound, _returned(our_id, report=None), "info@mail.carrier.example")
    drain(mail_app)
    assert tuple(_message(mail_app, "<ret-None@mail.carrier.example>")) == (
        tid, "bounce", "returned-copy")
    with mail_app.engine.connect() as conn:
        failures = conn.execute(sa.select(sa.func.count()).select_from(tables.audit).where(
            tables.audit.c.kind == "message.delivery_failed")).scalar()
    assert failures == 1
    assert _status(mail_app, tid) == "new"
