"""Properties of the mail parser, checked with hypothesis over generated input: the mailbox in
angle brackets always decides the sender; text in a charset decodes back to itself with no
defect (and never raises for any bytes and any label); a DSN's kind follows its actions (only
``failed`` is a bounce) and its recipient is the Original-Recipient of the chosen block; the
reply splitter only ever moves the citizen's lines, never invents any; and the corpus samples,
mutated, only ever parse or quarantine with a reason."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.email import parse_email
from channels.email.charset import decode_text, decode_words
from channels.email.reply import parse_reply
from channels.email.sender import pick_sender
from ticketing.domain.errors import MalformedPayload
from ticketing.domain.message import Automation, InboundMessage

CORPUS = Path(__file__).parent / "corpus"
SEEDS = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))]
META = {"received_at": "2030-01-01T00:00:00Z"}
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
_address = st.builds(lambda a, b, c: f"{a}@{b}.{c}", _label, _label,
                     st.sampled_from(["id", "com", "co.id", "example"]))


@FAST
@given(_address, _address, st.sampled_from(["{n} <{a}>", '"{n}" <{a}>', '"Budi ({n})" <{a}>']))
def test_the_angle_address_decides_and_a_different_address_in_the_name_is_flagged(
        address: str, in_name: str, shape: str) -> None:
    choice = pick_sender([shape.format(n=in_name, a=address)], [])
    assert choice is not None and choice.address == address
    assert ("display-name-address" in choice.warnings) is (in_name != address)


_CHARSET_TEXTS = st.sampled_from([
    ("gb2312", "路灯坏了"), ("gbk", "镕基路"), ("gb18030", "镕基路𠀀"), ("shift_jis", "街灯が壊れた"),
    ("cp932", "①番"), ("euc-jp", "街灯"), ("iso-2022-jp", "街灯が壊れた"), ("euc-kr", "가로등"),
    ("cp949", "똠방"), ("big5", "路燈壞了"), ("iso-8859-1", "café"), ("windows-1252", "“kutip”"),
    ("koi8-r", "фонарь"), ("windows-1251", "фонарь"), ("iso-8859-2", "Łódź"), ("utf-8", "jalan rusak ✓"),
    ("tis-620", "ไฟถนน"), ("iso-8859-9", "Işık")])


@FAST
@given(_CHARSET_TEXTS, st.text(alphabet="abc xyz.,\n", max_size=30))
def test_text_in_its_declared_charset_decodes_to_itself_without_a_defect(
        pair: tuple[str, str], padding: str) -> None:
    charset, text = pair
    whole = padding + text + padding
    assert decode_text(whole.encode(charset), charset) == (whole, None)


@FAST
@given(st.binary(max_size=300), st.sampled_from(["gb2312", "shift_jis", "iso-2022-jp", "utf-8",
                                                 "us-ascii", "x-unknown", "utf-7", "utf-16",
                                                 "base64", "idna", "", "ks_c_5601-1987"]))
def test_decoding_never_raises_and_never_leaves_surrogates(data: bytes, charset: str) -> None:
    text, note = decode_text(data, charset)
    text.encode("utf-8")  # no lone surrogate
    assert note is None or isinstance(note, str)
    decode_words(f"=?{charset or 'x'}?B?{data.hex()}?= =?{charset or 'x'}?Q?{data.hex()}?=")


_ACTIONS = st.lists(st.sampled_from(["failed", "delayed", "delivered", "relayed", "expanded"]),
                    min_size=1, max_size=4)


@FAST
@given(_ACTIONS)
def test_a_dsn_is_a_bounce_only_when_a_recipient_failed(actions: list[str]) -> None:
    blocks = "".join(
        f"Original-Recipient: rfc822;orig{n}@example.org\r\nFinal-Recipient: rfc822;final{n}@mx.example.org\r\n"
        f"Action: {action}\r\nStatus: {'5.1.1' if action == 'failed' else '4.4.1' if action == 'delayed' else '2.0.0'}\r\n\r\n"
        for n, action in enumerate(actions))
    raw = ("From: Mail Delivery Subsystem <mailer-daemon@mx.example.net>\r\nSubject: DSN\r\n"
           "Date: Mon, 03 Jun 2024 10:20:00 +0700\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/report; report-type=delivery-status; boundary=\"d\"\r\n\r\n"
           "--d\r\nContent-Type: text/plain\r\n\r\nreport\r\n--d\r\nContent-Type: message/delivery-status\r\n\r\n"
           f"Reporting-MTA: dns; mx.example.net\r\n\r\n{blocks}--d--\r\n").encode()
    msg = parse_email(raw, META)
    assert isinstance(msg, InboundMessage) and msg.report is not None
    first = next(a for a in ("failed", "delayed", "delivered", "relayed", "expanded") if a in actions)
    kind = {"failed": Automation.BOUNCE, "delayed": Automation.DELAY}.get(first, Automation.RECEIPT)
    assert msg.automation is kind and msg.report.action == first
    assert msg.report.recipient == f"orig{actions.index(first)}@example.org"


_LINE = st.sampled_from([
    "Jalan rusak di RT 05.", "> kutipan lama", ">> lebih lama", "", "-- ", "Dikirim dari iPhone saya",
    "Pada Sen, 3 Jun 2024 pukul 10.15 Dinas <p@d.id> menulis:", "On Mon, Jun 3, 2024 at 10:15 AM A <a@b.c> wrote:",
    "-----Original Message-----", "From: A <a@b.c>", "Sent: Monday, June 3, 2024 10:15", "To: B",
    "Subject: C", "________________________________", "Am 03.06.2024 um 10:15 schrieb A <a@b.c>:",
    "пн, 3 июн. 2024 г. в 10:15, A <a@b.c>:", "_______________________________________________",
    "warga mailing list", "https://lists.example.org/mailman/listinfo/warga", "Terima kasih."])


@FAST
@given(st.lists(_LINE, max_size=25))
def test_the_reply_splitter_only_moves_lines(lines: list[str]) -> None:
    parts = parse_reply("\n".join(lines))
    given_lines = {line.rstrip() for line in lines}
    for piece in (parts.new_text, parts.quoted, parts.signature, parts.footer):
        for line in piece.split("\n"):
            assert line.rstrip() in given_lines or line == ""
    kept = sum(1 for p in (parts.new_text, parts.quoted, parts.signature, parts.footer)
               for line in p.split("\n") if line.strip())
    assert kept == sum(1 for line in lines if line.strip())


@FAST
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 10**6), st.binary(max_size=6),
                                                  st.integers(0, 30)), max_size=5))
def test_mutated_corpus_mail_parses_or_quarantines_with_a_reason(
        seed: bytes, edits: list[tuple[int, bytes, int]]) -> None:
    data = bytearray(seed)
    for pos, insert, cut in edits:
        at = pos % (len(data) + 1)
        data[at:at + cut] = insert
    try:
        msg = parse_email(bytes(data), META)
    except MalformedPayload as exc:
        assert str(exc)
        return
    assert isinstance(msg, InboundMessage)
    json.dumps(msg.extra)
    (msg.body + (msg.subject or "") + (msg.sender.name or "")).encode("utf-8")
