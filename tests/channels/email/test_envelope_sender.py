"""A mail without a From header is kept when the SMTP envelope names its sender (MAIL FROM):
the envelope address becomes the sender, marked as such on the stored message and the ticket
page; a null reverse-path (``<>``, a bounce's) names nobody, so such a mail stays quarantined."""

from __future__ import annotations

import smtplib

import pytest
import sqlalchemy as sa

from channels.email.parse import parse_email
from ticketing.app import App
from ticketing.domain.errors import MalformedPayload
from ticketing.domain.message import InboundMessage
from ticketing.entrypoints.worker import drain
from ticketing.services import views
from ticketing.services.accounts import Principal, Role
from ticketing.services.intake import raw_sink
from ticketing.store import tables
from tests.channels.email.test_smtp import DOMAIN, Listen, listen  # noqa: F401 - fixture

NO_FROM = (f"To: pengaduan@{DOMAIN}\r\nSubject: OTP tidak masuk\r\n"
           "Message-ID: <nofrom1@mail.example>\r\nDate: Mon, 02 Mar 2026 09:15:00 +0700\r\n"
           "\r\nSelamat pagi, OTP tidak masuk ke HP saya.\r\n").encode()
META = {"received_at": "2026-03-02T02:16:00+00:00"}
SUPERVISOR = Principal(user_id=0, email="spv@example.id", name="Spv", role=Role.SUPERVISOR)


def test_parser_takes_the_envelope_sender_when_from_is_missing() -> None:
    msg = parse_email(NO_FROM, {**META, "mail_from": "<Budi.Santoso@Gmail.com>"})
    assert isinstance(msg, InboundMessage)
    assert msg.sender.email == "budi.santoso@gmail.com" and msg.sender.name is None
    assert msg.extra["sender_source"] == "envelope"
    with_from = parse_email(b"From: Rina <rina@x.id>\r\n" + NO_FROM,
                            {**META, "mail_from": "other@y.id"})
    assert isinstance(with_from, InboundMessage)
    assert with_from.sender.email == "rina@x.id" and "sender_source" not in with_from.extra


@pytest.mark.parametrize("mail_from", ["<>", "", None, "not-an-address"])
def test_no_usable_envelope_sender_is_still_malformed(mail_from: str | None) -> None:
    with pytest.raises(MalformedPayload, match="no From"):
        parse_email(NO_FROM, {**META, "mail_from": mail_from})


def _inbox(app: App) -> list[tuple[str, str | None]]:
    with app.engine.connect() as conn:
        return [(r.status, r.last_error) for r in conn.execute(
            sa.select(tables.inbox.c.status, tables.inbox.c.last_error).order_by(tables.inbox.c.id))]


def test_mail_without_from_over_smtp_becomes_a_ticket_of_the_envelope_sender(
        app: App, listen: Listen) -> None:  # noqa: F811 - the fixture
    port = listen(raw_sink(app.uow, app.clock))
    with smtplib.SMTP("127.0.0.1", port) as client:
        assert client.sendmail("budi.santoso@gmail.com", [f"pengaduan@{DOMAIN}"], NO_FROM) == {}
    drain(app)
    assert [status for status, _ in _inbox(app)] == ["done"]
    with app.engine.connect() as conn:
        msg = conn.execute(sa.select(tables.messages).where(
            tables.messages.c.direction == "in")).one()
        assert msg.extra["sender_source"] == "envelope"
        email = conn.execute(sa.select(tables.identities.c.value).where(
            tables.identities.c.kind == "email")).scalar_one()
        shown = views.get_ticket(conn, int(msg.ticket_id), SUPERVISOR)
    assert email == "budi.santoso@gmail.com"
    assert shown["messages"][0]["sender_source"] == "envelope"


def test_a_bounce_without_from_stays_quarantined(app: App, listen: Listen) -> None:  # noqa: F811
    port = listen(raw_sink(app.uow, app.clock))
    with smtplib.SMTP("127.0.0.1", port) as client:
        assert client.sendmail("<>", [f"pengaduan@{DOMAIN}"], NO_FROM) == {}
    drain(app)
    [(status, error)] = _inbox(app)
    assert status == "quarantined" and "no From" in (error or "")
