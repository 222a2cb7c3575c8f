"""Real mail from other projects' public corpora (bounce classifiers, reply parsers, mail
libraries; ``corpus/SOURCES.md`` names each origin and licence) and the cases no licensed sample
covers, each replayed through the parser against its expected parse (``corpus/expected.json``):
the sender's mailbox and spoofing signals, charsets, automated-mail kinds and delivery reports,
quotes and signatures in many languages, mailing-list footers and broken MIME."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from channels.email import parse_email
from ticketing.domain.errors import MalformedPayload
from ticketing.domain.message import Automation, InboundMessage

CORPUS = Path(__file__).parent / "corpus"
EXPECTED: dict[str, dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text("utf-8"))
META = {"received_at": "2030-01-01T00:00:00Z", "rcpt_tos": ["pengaduan@dinas.example.go.id"]}


def test_every_sample_has_an_expectation_and_a_source() -> None:
    emails = sorted(p.name for p in CORPUS.glob("*.eml"))
    assert len(emails) >= 60
    assert emails == sorted(EXPECTED)
    sources = (CORPUS / "SOURCES.md").read_text("utf-8")
    for name in emails:
        row = next(line for line in sources.splitlines() if f"`{name}`" in line)
        assert re.search(r"\| (own|BSD-2-Clause|MIT|Apache-2.0|PSF-2.0) \|$", row), row


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_parses_to_its_expected_outcome(name: str) -> None:
    raw = (CORPUS / name).read_bytes()
    want = EXPECTED[name]
    if "malformed" in want:
        with pytest.raises(MalformedPayload, match=re.escape(want["malformed"])):
            parse_email(raw, META)
        return
    msg = parse_email(raw, META)
    assert isinstance(msg, InboundMessage)
    json.dumps(msg.extra)
    assert [msg.sender.name, msg.sender.email] == want["sender"]
    assert msg.extra.get("sender_warnings", []) == want.get("sender_warnings", [])
    assert msg.subject == want["subject"]
    assert msg.automation is Automation(want["automation"])
    assert msg.automation_reason == want["auto"]
    assert msg.extra["defects"] == want["defects"]
    assert [[a.filename, a.content_type, a.size] for a in msg.attachments] == want["attachments"]
    if "report" in want:
        assert msg.report is not None
        assert {k: getattr(msg.report, k) for k in want["report"]} == want["report"]
    else:
        assert msg.report is None
    if "body" in want:
        assert msg.body == want["body"]
    else:
        assert msg.body.startswith(want["body_startswith"])
    assert msg.extra["quoted"].split("\n")[0] == want.get("quoted_startswith", "")
    assert msg.extra["footer"].split("\n")[0] == want.get("footer_startswith", "")


# What the samples are there to show, stated once more so that a regenerated expected.json
# cannot quietly accept a wrong reading.
@pytest.mark.parametrize("name, kind, reason", [
    ("apple_vacation.eml", Automation.AUTO_REPLY, "vacation"),
    ("auto_reply_subject_only_id.eml", Automation.AUTO_REPLY, "auto-reply-subject"),
    ("iso2022jp_label_utf8_text.eml", Automation.BOUNCE, "bounce"),
    ("dsn_delayed_opensmtpd.eml", Automation.DELAY, "bounce"),
    ("dsn_delayed_sendmail.eml", Automation.DELAY, "bounce"),
    ("arf_abuse_report.eml", Automation.FEEDBACK_REPORT, "feedback-report"),
    ("dsn_relayed.eml", Automation.RECEIPT, "bounce"),
    ("dsn_delivered.eml", Automation.RECEIPT, "bounce"),
    ("dsn_expanded.eml", Automation.RECEIPT, "bounce"),
    ("dsn_mixed_actions.eml", Automation.BOUNCE, "bounce"),
    ("returned_copy_of_our_message.eml", Automation.BOUNCE, "returned-copy"),
    ("reply_gmail.eml", Automation.NONE, None),
])
def test_automated_kinds(name: str, kind: Automation, reason: str | None) -> None:
    msg = parse_email((CORPUS / name).read_bytes(), META)
    assert isinstance(msg, InboundMessage)
    assert (msg.automation, msg.automation_reason) == (kind, reason)


def test_key_readings() -> None:
    def parse(name: str) -> InboundMessage:
        msg = parse_email((CORPUS / name).read_bytes(), META)
        assert isinstance(msg, InboundMessage)
        return msg
    spoof = parse("from_display_name_is_another_address.eml")
    assert spoof.sender.email == "penipu@evil.example"
    assert spoof.extra["sender_claimed"] == "warga.asli@gmail.com"
    assert parse("dsn_original_recipient.eml").report.recipient == "neko-nyaan@cat.example.jp"  # type: ignore[union-attr]
    mixed = parse("dsn_mixed_actions.eml").report
    assert mixed is not None and (mixed.action, mixed.recipient) == ("failed", "budi@example.org")
    assert "镕" in parse("gb2312_label_gbk_text.eml").body
    assert parse("raw_8bit_filename_gbk.eml").attachments[0].filename == "路灯照片.jpg"
    assert "\ufffd" not in parse("iso2022jp_label_utf8_text.eml").body
    returned = parse("returned_copy_of_our_message.eml")
    assert "Laporan Anda sudah kami terima" not in returned.body
    reused = parse("mime_boundary_reused_by_nested_part.eml")
    assert reused.body == "Some removed test." and [a.filename for a in reused.attachments] == ["xx.gif"]
    assert "boundary-reused" in reused.extra["defects"]
    related = parse("mime_related_root_not_first.eml")
    assert "jembatan retak" in related.body and "color: red" not in related.body
    for name in ("bounce_indented_headers_exchange2003.eml",
                 "dsn_original_recipient_indented_headers.eml"):
        msg = parse(name)
        assert msg.extra["quoted"] == "" and "Subject:" in msg.body


def test_a_formal_letter_heading_is_text_but_an_outlook_block_below_text_is_a_quote() -> None:
    from channels.email.reply import parse_reply
    letter = ("Dari: Budi Santoso <budi@example.id>\nKepada: Yth. Kepala Dinas PU\n"
              "Tanggal: 3 Juni 2024 10.15\nPerihal: Jalan rusak\n\nDengan hormat, jalan di RT 05 rusak.")
    parts = parse_reply(letter)
    assert parts.new_text == letter and parts.quoted == ""
    reply = "Masih rusak.\n\n" + letter
    parts = parse_reply(reply)
    assert parts.new_text == "Masih rusak." and parts.quoted.startswith("Dari: Budi")
