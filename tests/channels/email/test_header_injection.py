"""A citizen's mail whose encoded subject and name decode to CR/LF ("header injection"): the
ticket keeps the text, and every mail we send on that ticket still leaves, with the text on one
header line and no smuggled header or recipient."""

from __future__ import annotations

import base64
import email
import email.policy
import smtplib

import sqlalchemy as sa
from fastapi.testclient import TestClient

from channels.email.send import build_message, header_text
from ticketing.app import App
from ticketing.entrypoints.api import create_api
from ticketing.entrypoints.worker import deliver, drain
from ticketing.store import tables
from tests.channels.email.test_outbound import (  # noqa: F401 (fixtures)
    Relay, agent_token, inbound, mail_app, outbox_rows, relay, relay_port)
from tests.channels.email.test_smtp import DOMAIN

EVIL_SUBJECT = "OTP tidak masuk\r\nBcc: korban@example.com\r\n\r\nisi palsu"
EVIL_NAME = "Budi\r\nX-Injected: ya"


def _word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def send_raw(port: int, data: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.sendmail("budi.santoso@gmail.com", [f"pengaduan@{DOMAIN}"], data)


def evil_mail() -> bytes:
    return (f"From: {_word(EVIL_NAME)} <budi.santoso@gmail.com>\r\n"
            f"To: pengaduan@{DOMAIN}\r\n"
            f"Subject: {_word(EVIL_SUBJECT)}\r\n"
            "Message-ID: <evil1@gmail.com>\r\n"
            "Date: Mon, 02 Mar 2026 09:15:00 +0700\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            "Selamat pagi, OTP tidak masuk ke HP saya.\r\n").encode()


def test_a_subject_decoding_to_crlf_never_stops_our_mail(
        mail_app: App, relay: Relay, inbound: int) -> None:
    send_raw(inbound, evil_mail())
    assert drain(mail_app) == 1
    with mail_app.engine.connect() as conn:
        subject = conn.execute(sa.select(tables.tickets.c.subject)).scalar_one()
    assert "Bcc: korban@example.com" in subject  # stored as the citizen wrote it
    assert deliver(mail_app) == 1  # the acknowledgement
    auth = {"Authorization": f"Bearer {agent_token(mail_app)}"}
    with TestClient(create_api(mail_app)) as client:
        r = client.post("/api/v1/tickets/1/replies", json={"body": "Mohon coba lagi."},
                        headers=auth)
        assert r.status_code == 201, r.text
    assert deliver(mail_app) == 1
    assert [row.status for row in outbox_rows(mail_app)] == ["sent", "sent"]
    ack, reply = relay.received
    for out in (ack, reply):
        assert out["Bcc"] is None and out["X-Injected"] is None
        assert "\n" not in str(out["Subject"]) and "\r" not in str(out["Subject"])
        assert [a.addr_spec for a in out["To"].addresses] == ["budi.santoso@gmail.com"]
    assert "OTP tidak masuk Bcc: korban@example.com isi palsu" in str(reply["Subject"])
    assert reply["In-Reply-To"] == "<evil1@gmail.com>"
    assert reply.get_body(("plain",)).get_content().strip() == "Mohon coba lagi."


def test_build_message_cleans_every_citizen_value() -> None:
    msg = build_message(
        {"name": "Budi\u2028Santoso\x00\r\n", "email": "budi@gmail.com\r\nBcc: x@y.id"},
        {"from": f"pengaduan@{DOMAIN}", "subject": "Re:\x1b[31m tolong\r\n\tlagi\x85",
         "message_id": "<a@b>\r\nBcc: x@y.id", "in_reply_to": "<c@d>\n",
         "references": ["<e@f>\r\n", None, "\r\n", "<g@h>"], "body": "Halo"})
    back = email.message_from_bytes(msg.as_bytes(policy=email.policy.SMTP),
                                    policy=email.policy.default)
    assert back["Bcc"] is None
    assert sorted(back.keys()) == sorted(["From", "To", "Subject", "Date", "Message-ID",
                                          "In-Reply-To", "References", "MIME-Version",
                                          "Content-Type"])
    assert msg["Subject"] == "Re: [31m tolong lagi"
    assert msg["References"] == "<e@f> <g@h>"
    assert msg["In-Reply-To"] == "<c@d>"
    assert header_text(" a \r\n\r\n b ") == "a b"
