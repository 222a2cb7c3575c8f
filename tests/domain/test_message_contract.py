"""The typed contract: automation kinds from real-looking mail (the email fixtures), the thread
reference and what the normalized JSON maps onto it."""

from __future__ import annotations

from pathlib import Path

import pytest

from channels.email import parse_email
from channels.email.automated import automation_of
from ticketing.domain.message import (Automation, DeliveryReport, InboundMessage, ThreadRef,
                                      parse_normalized)

FIXTURES = Path(__file__).parents[1] / "channels" / "email" / "fixtures"
META = {"received_at": "2024-06-13T08:00:00Z", "rcpt_tos": ["pengaduan@dinas.example.go.id"]}


def _mail(name: str) -> InboundMessage:
    msg = parse_email((FIXTURES / name).read_bytes(), META)
    assert isinstance(msg, InboundMessage)
    return msg


@pytest.mark.parametrize("name, kind", [
    ("dsn_bounce_rfc822.eml", Automation.BOUNCE),
    ("dsn_bounce_headers_only.eml", Automation.BOUNCE),
    ("mailer_daemon_plain_bounce.eml", Automation.BOUNCE),
    ("read_receipt.eml", Automation.RECEIPT),
    ("ooo_exchange.eml", Automation.AUTO_REPLY),
    ("ooo_gmail_vacation.eml", Automation.AUTO_REPLY),
    ("x_autoreply.eml", Automation.AUTO_REPLY),
    ("mailing_list.eml", Automation.AUTO_REPLY),
    ("gmail_id_reply.eml", Automation.NONE),
    ("outlook_id_reply_cp1252.eml", Automation.NONE),
])
def test_each_fixture_has_its_automation_kind(name: str, kind: Automation) -> None:
    msg = _mail(name)
    assert msg.automation is kind
    assert msg.automated is (kind is not Automation.NONE)
    assert "auto" not in msg.extra and "references" not in msg.extra


def test_a_bounce_reports_which_message_recipient_status_and_action() -> None:
    msg = _mail("dsn_bounce_rfc822.eml")
    assert msg.report == DeliveryReport(
        message_id="<T-000123.1717380000.a1b2@dinas.example.go.id>",
        recipient="tidak.ada@gmail.com", status="5.1.1", action="failed")
    assert msg.thread_keys()[-1] == "<T-000123.1717380000.a1b2@dinas.example.go.id>"


def test_a_read_receipt_says_which_message_was_read() -> None:
    msg = _mail("read_receipt.eml")
    assert msg.report is not None
    assert msg.report.message_id == "<T-000123.1717380000.a1b2@dinas.example.go.id>"


@pytest.mark.parametrize("reason, report_type, action, kind", [
    (None, None, None, Automation.NONE),
    ("bounce", "delivery-status", "delayed", Automation.DELAY),
    ("bounce", "delivery-status", "delivered", Automation.RECEIPT),
    ("bounce", "delivery-status", "failed", Automation.BOUNCE),
    ("bounce", "feedback-report", None, Automation.FEEDBACK_REPORT),
    ("read-receipt", "disposition-notification", None, Automation.RECEIPT),
    ("precedence:bulk", None, None, Automation.AUTO_REPLY),
    ("null-sender", None, None, Automation.AUTO_REPLY),
])
def test_reasons_map_onto_the_channel_neutral_kinds(reason: str | None, report_type: str | None,
                                                     action: str | None,
                                                     kind: Automation) -> None:
    assert automation_of(reason, report_type=report_type, action=action) is kind


def test_a_reply_threads_by_in_reply_to_then_references_newest_first() -> None:
    msg = _mail("gmail_id_reply.eml")
    assert msg.thread.in_reply_to is not None
    assert msg.thread_keys()[0] == msg.thread.in_reply_to
    assert len(set(msg.thread_keys())) == len(msg.thread_keys())


def test_thread_answers_are_unique_and_strongest_first() -> None:
    ref = ThreadRef(in_reply_to="<b@x>", references=("<b@x>", "<a@x>"), ticket=7)
    assert ref.answers() == ("<b@x>", "<a@x>")
    assert ThreadRef().answers() == ()


def test_normalized_json_maps_in_reply_to_references_and_the_subject_token() -> None:
    msg = parse_normalized({
        "channel": "api", "external_id": "x-1", "sent_at": "2026-03-02T09:00:00+07:00",
        "sender": {"email": "warga@example.id"}, "body": "masih belum",
        "subject": "Re: [#T-000042] Insentif", "in_reply_to": "<our-1@dinas>",
        "references": ["<our-1@dinas>", "<old@dinas>", 5], "x_custom": 1})
    assert msg.thread == ThreadRef(in_reply_to="<our-1@dinas>",
                                   references=("<our-1@dinas>", "<old@dinas>"), ticket=42)
    assert msg.automation is Automation.NONE and msg.report is None
    assert msg.extra == {"x_custom": 1}  # unknown fields kept
