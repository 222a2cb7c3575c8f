"""The email parser replayed over recorded fixtures (``fixtures/*.eml`` with ``expected.json``),
the reply splitter on the shapes Gmail, Outlook and Yahoo produce, and fuzzing: the parser only
ever answers an ``InboundMessage`` or raises ``MalformedPayload``."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.email import parse_email, split_reply
from channels.email.html import html_to_text
from channels.email.charset import decode_base64, decode_text, decode_words
from channels.email.reply import parse_reply
from ticketing.domain.errors import MalformedPayload
from ticketing.domain.message import Automation, Channel, InboundMessage

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED: dict[str, dict[str, Any]] = json.loads((FIXTURES / "expected.json").read_text("utf-8"))
META = {"received_at": "2024-06-13T08:00:00Z", "rcpt_tos": ["pengaduan@dinas.example.go.id"],
        "mail_from": "someone@example.id"}


def _parse(raw: bytes, **meta: Any) -> InboundMessage:
    result = parse_email(raw, {**META, **meta})
    assert isinstance(result, InboundMessage)
    return result


def test_there_are_at_least_thirty_fixtures_and_each_has_an_expectation() -> None:
    emails = sorted(p.name for p in FIXTURES.glob("*.eml"))
    assert len(emails) >= 30
    assert emails == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_its_expected_outcome(name: str) -> None:
    raw = (FIXTURES / name).read_bytes()
    want = EXPECTED[name]
    if "malformed" in want:
        with pytest.raises(MalformedPayload, match=want["malformed"]):
            parse_email(raw, META)
        return
    msg = _parse(raw)
    assert msg.channel is Channel.EMAIL
    assert msg.sent_at.tzinfo is not None
    json.dumps(msg.extra)  # stored as JSON by the core
    if want.get("external_id") == "synthetic":
        assert msg.external_id == f"<{hashlib.sha256(raw).hexdigest()}@missing-message-id>"
    elif "external_id" in want:
        assert msg.external_id == want["external_id"]
    else:
        assert re.fullmatch(r"<[^<>\s]+>", msg.external_id)
    if "sent_at" in want:
        assert msg.sent_at.isoformat() == want["sent_at"]
    for key, attr in (("sender_email", "email"), ("sender_name", "name")):
        if key in want:
            assert getattr(msg.sender, attr) == want[key]
    for key in ("subject", "body"):
        if key in want:
            assert getattr(msg, key) == want[key]
    if "in_reply_to" in want:
        assert msg.thread.in_reply_to == want["in_reply_to"]
    assert msg.automation_reason == want.get("auto")
    assert msg.automated is (want.get("auto") is not None)
    if "body_startswith" in want:
        assert msg.body.startswith(want["body_startswith"])
    for piece in want.get("body_contains", []):
        assert piece in msg.body
    for piece in want.get("body_not_contains", []):
        assert piece not in msg.body
    for piece in want.get("quoted_contains", []):
        assert piece in msg.extra["quoted"]
        assert piece not in msg.body
    if "attachments" in want:
        got = [(a.filename, a.content_type, a.size) for a in msg.attachments]
        assert [g[:2] for g in got] == [tuple(w[:2]) for w in want["attachments"]]
        for (_f, _c, size), (_wf, _wc, wsize) in zip(got, want["attachments"]):
            assert size == wsize if wsize is not None else size > 0
    for key, value in want.get("extra", {}).items():
        if key in _REPORT_FIELDS:  # what a bounce or receipt reports is typed, not in extra
            assert msg.report is not None
            assert getattr(msg.report, _REPORT_FIELDS[key]) == value, key
        elif key == "references":
            assert list(msg.thread.references) == value
        else:
            assert msg.extra[key] == value, key
    if "min_line_octets" in want:
        assert max(len(line) for line in raw.splitlines()) > want["min_line_octets"]


_REPORT_FIELDS = {"bounce_of": "message_id", "receipt_of": "message_id",
                  "bounce_status": "status", "bounce_action": "action",
                  "bounce_recipient": "recipient"}


def test_full_original_text_stays_available_to_agents() -> None:
    msg = _parse((FIXTURES / "gmail_id_reply.eml").read_bytes())
    assert "Terima kasih, laporan Anda" in msg.extra["full_text"]
    assert msg.body in msg.extra["full_text"]


def test_crlf_and_lf_line_endings_parse_the_same() -> None:
    raw = (FIXTURES / "gmail_en_reply.eml").read_bytes()
    lf, crlf = _parse(raw), _parse(raw.replace(b"\n", b"\r\n"))
    assert (lf.body, lf.subject, lf.sender, lf.extra["quoted"]) == \
        (crlf.body, crlf.subject, crlf.sender, crlf.extra["quoted"])


def test_missing_date_without_received_at_uses_the_newest_received_stamp() -> None:
    raw = (b"Received: from a by b; Fri, 14 Jun 2024 10:00:00 +0700\n"
           b"Received: from c by a; Fri, 14 Jun 2024 09:59:00 +0700\n"
           b"From: a@b.id\nSubject: x\n\nhalo\n")
    msg = parse_email(raw, {})
    assert isinstance(msg, InboundMessage)
    assert msg.sent_at.isoformat() == "2024-06-14T03:00:00+00:00"
    assert msg.extra["date_source"] == "received-header"


def test_no_usable_date_at_all_is_malformed() -> None:
    with pytest.raises(MalformedPayload, match="date"):
        parse_email(b"From: a@b.id\nDate: kemarin sore\n\nhalo\n", {})


def test_a_date_far_after_receipt_is_not_trusted() -> None:
    msg = _parse(b"From: a@b.id\nDate: Fri, 14 Jun 2030 10:00:00 +0700\n\nhalo\n")
    assert msg.sent_at.isoformat() == "2024-06-13T08:00:00+00:00"
    assert msg.extra["date_source"] == "received_at"


def test_envelope_is_kept_but_reply_to_is_not_identity() -> None:
    msg = _parse(b"From: Budi <budi@x.id>\nReply-To: other@y.id\nDate: Fri, 14 Jun 2024 10:00:00 +0700"
                 b"\n\nhalo\n", mail_from="<Bounce@X.id>")
    assert msg.sender.email == "budi@x.id"
    assert msg.extra["reply_to"] == "other@y.id"
    assert msg.extra["envelope_from"] == "Bounce@X.id"
    assert msg.extra["envelope_to"] == ["pengaduan@dinas.example.go.id"]


def test_null_envelope_sender_is_automated() -> None:
    msg = _parse(b"From: robot@x.id\nDate: Fri, 14 Jun 2024 10:00:00 +0700\n\nhalo\n", mail_from="<>")
    assert msg.automation_reason == "null-sender"
    assert msg.automation is Automation.AUTO_REPLY


@pytest.mark.parametrize("raw, reason", [
    (b"", "empty"),
    (b"  \r\n\r\n", "empty"),
    (b"{\"json\": true}", "no header block|From"),
    (b"Subject: hi\nDate: Fri, 14 Jun 2024 10:00:00 +0700\n\nno sender\n", "no From"),
    (b"From: Budi Santoso\nDate: Fri, 14 Jun 2024 10:00:00 +0700\n\nno address\n", "no email address"),
])
def test_input_that_is_not_usable_mail_is_malformed(raw: bytes, reason: str) -> None:
    # A null reverse-path: no envelope sender to fall back on (test_envelope_sender.py has those).
    with pytest.raises(MalformedPayload, match=reason):
        parse_email(raw, {**META, "mail_from": "<>"})
    if raw.startswith(b"{"):  # not mail at all: an envelope sender does not make it one
        with pytest.raises(MalformedPayload, match=reason):
            parse_email(raw, META)


def test_non_bytes_input_is_malformed() -> None:
    with pytest.raises(MalformedPayload):
        parse_email("From: a@b.id\n\nx", META)  # type: ignore[arg-type]


# --- decoding helpers -----------------------------------------------------------------------------

def test_charset_fallbacks() -> None:
    assert decode_text("é".encode(), "us-ascii") == ("é", None)
    assert decode_text(b"\x93x\x94", "iso-8859-1") == ("\u201cx\u201d", None)
    assert decode_text(b"\xe9", None) == ("é", None)
    assert decode_text("ü".encode(), "x-unknown") == ("ü", "unknown-charset:x-unknown")
    assert decode_text(b"\xff", "x-unknown")[0] == "ÿ"
    assert decode_text(b"abc", "base64")[1] == "unknown-charset:base64"  # not a text codec
    assert decode_text(b"\xff\xfe", "utf-8") == ("\ufffd\ufffd", "invalid-utf-8")


def test_broken_base64_decodes_what_it_can() -> None:
    assert decode_base64(b"aGFsbw==") == (b"halo", False)
    assert decode_base64(b"aGFs!!bw") == (b"halo", True)
    assert decode_base64(b"aGFsbw=aGFsbw")[0] == b"halohalo"
    assert decode_base64(b"aGFsb")[0].startswith(b"hal")


def test_encoded_words_in_any_charset() -> None:
    assert decode_words("=?iso-8859-1?q?caf=E9?= =?utf-8?b?4oCT?= x") == "café– x"
    assert decode_words("=?x-unknown?Q?abc?=") == "abc"
    assert decode_words("=?utf-8?B?%%%?=") == ""


def test_html_to_text_keeps_breaks_and_marks_blockquotes() -> None:
    text = html_to_text("<div>a<br>b</div><p>c &lt;d&gt;</p><blockquote>old<br>older</blockquote>"
                        "<style>x{}</style><script>y()</script>")
    assert text == "a\nb\n\nc <d>\n\n> old\n> older"


# --- reply splitting ------------------------------------------------------------------------------

SPLITS = [
    pytest.param("Halo\n\nOn Mon, Jun 3, 2024 at 10:15 AM Dinas <p@d.id> wrote:\n> old\n> older",
                 ("Halo", "", "On Mon, Jun 3, 2024 at 10:15 AM Dinas <p@d.id> wrote:\n> old\n> older"),
                 id="gmail-en"),
    pytest.param("Halo\n\nPada Sen, 3 Jun 2024 pukul 10.15 Dinas <p@d.id> menulis:\n\n> lama",
                 ("Halo", "", "Pada Sen, 3 Jun 2024 pukul 10.15 Dinas <p@d.id> menulis:\n\n> lama"),
                 id="gmail-id"),
    pytest.param("Halo\n\nPada Sen, 3 Jun 2024 pukul 10.15 Dinas Pelayanan <\np@d.id> menulis:\n> lama",
                 ("Halo", "", "Pada Sen, 3 Jun 2024 pukul 10.15 Dinas Pelayanan <\np@d.id> menulis:\n> lama"),
                 id="gmail-id-wrapped-inside-address"),
    pytest.param("Halo\n\nPada Sen, 3 Jun 2024 pukul 10.15 Dinas <p@d.id>\nmenulis:\n> lama",
                 ("Halo", "", "Pada Sen, 3 Jun 2024 pukul 10.15 Dinas <p@d.id>\nmenulis:\n> lama"),
                 id="gmail-id-menulis-on-next-line"),
    pytest.param("Isi\n\n-----Original Message-----\nFrom: A\nSent: B\nTo: C\nSubject: D\n\nold",
                 ("Isi", "", "-----Original Message-----\nFrom: A\nSent: B\nTo: C\nSubject: D\n\nold"),
                 id="outlook-original-message"),
    pytest.param("Isi\n\n________________________________\nDari: A <a@b.id>\nDikirim: Senin\nKepada: C\n"
                 "Perihal: D\n\nlama",
                 ("Isi", "", "________________________________\nDari: A <a@b.id>\nDikirim: Senin\n"
                  "Kepada: C\nPerihal: D\n\nlama"), id="outlook-id-block"),
    pytest.param("Isi\n\nFrom: A\nSent: B\nTo: C\nSubject: D\n\nold",
                 ("Isi", "", "From: A\nSent: B\nTo: C\nSubject: D\n\nold"), id="outlook-block-no-rule"),
    pytest.param("Isi\n\nOn Friday, June 7, 2024, 10:15:22 AM GMT+7, Dinas <p@d.id> wrote:\n\n\nold",
                 ("Isi", "", "On Friday, June 7, 2024, 10:15:22 AM GMT+7, Dinas <p@d.id> wrote:\n\n\nold"),
                 id="yahoo-en"),
    pytest.param("Isi\n\n2014-06-03 10:15 GMT+07:00 Budi <b@x.id>:\n> old",
                 ("Isi", "", "2014-06-03 10:15 GMT+07:00 Budi <b@x.id>:\n> old"), id="old-gmail"),
    pytest.param("Isi\n-- \nBudi\n0812-3456-7890", ("Isi", "-- \nBudi\n0812-3456-7890", ""),
                 id="rfc3676-signature"),
    pytest.param("Isi\n--\nBudi", ("Isi", "--\nBudi", ""), id="dashdash-signature"),
    pytest.param("Isi\n\nDikirim dari iPhone saya", ("Isi", "Dikirim dari iPhone saya", ""), id="iphone-id"),
    pytest.param("Isi\n\nSent from my iPhone", ("Isi", "Sent from my iPhone", ""), id="iphone-en"),
    pytest.param("Isi\n\nGet Outlook for Android", ("Isi", "Get Outlook for Android", ""), id="outlook-android"),
    pytest.param("Isi\n\nDikirim dari Yahoo Mail di Android", ("Isi", "Dikirim dari Yahoo Mail di Android", ""),
                 id="yahoo-android"),
    pytest.param("> a\n> b\n\nJawaban saya", ("Jawaban saya", "", "> a\n> b"), id="bottom-post"),
    pytest.param("Suhu > 40 derajat di ruang tunggu", ("Suhu > 40 derajat di ruang tunggu", "", ""),
                 id="a-greater-than-sign-in-a-sentence"),
    pytest.param("> 3 hari antre\nmohon dibantu", ("> 3 hari antre\nmohon dibantu", "", ""),
                 id="one-line-starting-with-greater-than"),
    pytest.param("Pada hari Senin saya datang.\nPetugas menulis:\nbesok saja",
                 ("Pada hari Senin saya datang.\nPetugas menulis:\nbesok saja", "", ""),
                 id="pada-sentence-is-not-an-attribution"),
    pytest.param("", ("", "", ""), id="empty"),
]


@pytest.mark.parametrize("text, expected", SPLITS)
def test_split_reply(text: str, expected: tuple[str, str, str]) -> None:
    assert split_reply(text) == expected


@pytest.mark.parametrize("marker", [
    "---------- Forwarded message ---------", "---------- Pesan yang diteruskan ---------",
    "----- Pesan yang Diteruskan -----", "----- Forwarded Message -----", "Begin forwarded message:",
])
def test_a_forward_is_kept_as_new_text(marker: str) -> None:
    text = f"Mohon dicek.\n\n{marker}\nFrom: X <x@y.id>\nSubject: S\n\nIsi asli.\n\nOn Mon, Jun 3, " \
           "2024 at 10:00 AM A <a@b.id> wrote:\n> lama\n> sekali"
    parts = parse_reply(text)
    assert parts.forwarded
    assert parts.quoted == ""
    assert parts.new_text.startswith("Mohon dicek.") and parts.new_text.endswith("> sekali")


def test_a_forward_inside_quoted_history_is_not_a_forward() -> None:
    parts = parse_reply("Baru\n\nOn Mon, Jun 3, 2024 at 10:00 AM A <a@b.id> wrote:\n"
                        "---------- Forwarded message ---------\nold")
    assert not parts.forwarded and parts.new_text == "Baru"


def test_outlook_forward_reads_as_forward_with_the_subject_hint() -> None:
    text = "FYI\n\nFrom: A\nSent: B\nTo: C\nSubject: D\n\nold"
    assert parse_reply(text).quoted.startswith("From: A")
    hinted = parse_reply(text, forward_hint=True)
    assert hinted.forwarded and hinted.quoted == "" and hinted.new_text == text


# --- fuzzing ------------------------------------------------------------------------------------

def _outcome(raw: bytes) -> None:
    try:
        result = parse_email(raw, META)
    except MalformedPayload:
        return
    assert isinstance(result, InboundMessage)
    json.dumps(result.extra)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise_anything_but_malformed(raw: bytes) -> None:
    _outcome(raw)


_SEEDS = [(FIXTURES / name).read_bytes() for name in sorted(EXPECTED)]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_SEEDS), st.lists(st.tuples(st.integers(0, 10**6), st.binary(max_size=8),
                                                   st.integers(0, 40)), max_size=6))
def test_mutated_fixtures_never_raise_anything_but_malformed(
        seed: bytes, edits: list[tuple[int, bytes, int]]) -> None:
    data = bytearray(seed)
    for pos, insert, cut in edits:
        at = pos % (len(data) + 1)
        data[at:at + cut] = insert
    _outcome(bytes(data))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab <>-_:@\n>\t&;#x0123=?Pada On wrote menulis From: Sent:"
                                              "<br><p></blockquote><blockquote><![CDATA[")), max_size=400))
def test_text_helpers_never_raise(text: str) -> None:
    new, signature, quoted = split_reply(text)
    assert isinstance(new + signature + quoted, str)
    assert isinstance(html_to_text(text), str)
    assert isinstance(decode_words(text), str)


def test_nul_bytes_never_reach_the_message() -> None:
    msg = _parse(b"From: Bu\x00di <budi@x.id>\nIn-Reply-To: <a\x00b@x>\nDate: Fri, 14 Jun 2024 10:00:00 +0700"
                 b"\nSubject: a\x00b\n\nha\x00lo\n")
    assert "\x00" not in json.dumps(msg.extra) + msg.body + (msg.subject or "") + (msg.sender.name or "")
    assert msg.thread.in_reply_to == "<a\ufffdb@x>"


def test_outlook_html_reply_block_is_quoted_history() -> None:
    html = ("<div>Mohon ditindaklanjuti.</div><hr style=\"display:inline-block\"><div id=\"divRplyFwdMsg\">"
            "<b>Dari:</b> Dinas &lt;p@d.id&gt;<br><b>Dikirim:</b> Senin, 03 Juni 2024 10.15<br>"
            "<b>Kepada:</b> Andi<br><b>Perihal:</b> Re: x</div><div>isi lama</div>")
    new, signature, quoted = split_reply(html_to_text(html))
    assert (new, signature) == ("Mohon ditindaklanjuti.", "")
    assert quoted.startswith("____") and quoted.endswith("isi lama")
