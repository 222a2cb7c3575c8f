"""The phone channel's pure parser: every format, replayed from recorded fixture files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from channels.phone import parse_transcript, read_transcript
from channels.phone.roles import RoleHints, channel_roles_from
from ticketing.domain.errors import MalformedPayload
from ticketing.domain.claimed import claimed_identifiers
from ticketing.domain.identity import IdentityKind
from ticketing.domain.message import Channel
from ticketing.domain.text import Role

FIXTURES = Path(__file__).parent / "fixtures"
TEXT = "6281234567001_20260302T091530.txt"
AGENT, CALLER = Role.AGENT, Role.CALLER


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def roles(name: str) -> list[Role]:
    return [t.role for t in read_transcript(fixture(name)).turns]


# --- formats -----------------------------------------------------------------------------------

def test_plain_text_turns_times_and_wrapped_lines() -> None:
    t = read_transcript(fixture(TEXT))
    assert t.format == "text"
    assert roles(TEXT) == [AGENT, CALLER] * 5
    second = t.turns[1]
    assert (second.start_ms, second.end_ms) == (7_000, 19_000)  # ends where the next starts
    assert second.text.endswith("OTP tidak masuk ke HP saya, sudah tiga kali saya minta "
                                "kirim ulang.")
    assert t.turns[-1].end_ms is None


@pytest.mark.parametrize(("line", "role", "text"), [
    ("Agen: Selamat pagi", AGENT, "Selamat pagi"),
    ("Penelepon: OTP tidak masuk", CALLER, "OTP tidak masuk"),
    ("Agent: Good morning", AGENT, "Good morning"),
    ("Caller: my OTP never arrives", CALLER, "my OTP never arrives"),
    ("(01:02:03) Petugas 2: ya", AGENT, "ya"),
    ("00:04 Pelapor: halo", CALLER, "halo"),
])
def test_plain_text_labels(line: str, role: Role, text: str) -> None:
    other = "Pelapor: baik" if role is AGENT else "Petugas: baik"
    turns = read_transcript(f"{line}\n{other}\n".encode()).turns
    assert (turns[0].role, turns[0].text) == (role, text)


def test_webvtt_voice_spans_hours_short_stamps_and_entities() -> None:
    t = read_transcript(fixture("insentif_call.vtt"))
    assert t.format == "webvtt"
    assert [x.role for x in t.turns] == [AGENT, CALLER, AGENT, CALLER, AGENT, CALLER, AGENT]
    assert (t.turns[1].start_ms, t.turns[1].end_ms) == (6_200, 12_840)  # "00:06.200" form
    assert "belum cair & sudah lewat 20 hari, saldo e-wallet" in t.turns[1].text
    assert (t.turns[4].start_ms, t.turns[4].end_ms) == (3_598_500, 3_602_250)  # past one hour
    assert t.turns[5].text == "Jadi kapan cairnya, Pak?"  # <i> removed
    assert t.turns[6].text == "Paling lambat tujuh hari kerja, Bu."  # second voice in a cue


def test_srt_speakers_in_text_and_comma_milliseconds() -> None:
    t = read_transcript(fixture("otp_call.srt"))
    assert t.format == "srt"
    assert [x.role for x in t.turns] == [AGENT, CALLER, AGENT, CALLER, AGENT]
    assert (t.turns[0].start_ms, t.turns[0].end_ms) == (800, 4_200)
    assert (t.turns[3].start_ms, t.turns[3].end_ms) == (15_100, 20_640)
    assert t.turns[1].text == ("Sore Mbak. Saya tidak bisa login, OTP-nya tidak pernah sampai "
                               "ke nomor saya.")


def test_aws_transcribe_punctuation_joins_the_word_before_and_first_speaker_is_agent() -> None:
    t = read_transcript(fixture("aws_transcribe_insentif.json"))
    assert t.format == "aws-transcribe"
    assert t.meta.call_id == "prakerja-call-20260302-0042" and t.meta.language == "id-ID"
    assert [x.role for x in t.turns] == [AGENT, CALLER] * 3 + [AGENT]
    assert t.turns[0].text == "Selamat pagi, layanan pengaduan Prakerja, ada yang bisa dibantu?"
    assert t.turns[3].text == "3511 2304 0991 0005."
    assert (t.turns[0].start_ms, t.turns[0].end_ms) == (540, 6_260)  # "0.54" s → 540 ms


def aws(items: list[dict[str, Any]], **results: Any) -> bytes:
    return json.dumps({"jobName": "job-1", "results": {"items": items, **results}}).encode()


def word(content: str, start: str, end: str, speaker: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "pronunciation", "start_time": start, "end_time": end,
                            "alternatives": [{"confidence": "0.98", "content": content}]}
    if speaker:
        item["speaker_label"] = speaker
    return item


PUNCT = {"type": "punctuation", "alternatives": [{"confidence": "0.0", "content": "."}]}


def test_aws_caller_heard_first_is_the_caller_and_agent_speaker_overrides() -> None:
    raw = aws([word("Halo", "0.5", "0.9", "spk_1"), word("OTP", "1.0", "1.2", "spk_1"),
               word("saya", "1.2", "1.4", "spk_1"), word("tidak", "1.4", "1.6", "spk_1"),
               word("masuk", "1.6", "1.9", "spk_1"), PUNCT,
               *[word(w, f"{2 + i / 10:.2f}", f"{2.05 + i / 10:.2f}", "spk_0") for i, w in
                 enumerate("Selamat pagi layanan pengaduan Prakerja ada yang bisa dibantu".split())],
               PUNCT])
    first = read_transcript(raw)
    assert [(x.role, x.text) for x in first.turns] == [
        (CALLER, "Halo OTP saya tidak masuk."),
        (AGENT, "Selamat pagi layanan pengaduan Prakerja ada yang bisa dibantu.")]
    assert first.roles is not None and first.roles.inferred
    assert (first.turns[1].start_ms, first.turns[1].end_ms) == (2_000, 2_850)
    told = read_transcript(raw, hints="spk_1")
    assert [x.role for x in told.turns] == [AGENT, CALLER]
    assert told.roles is not None and told.roles.method == "agent_speaker"


def test_aws_channel_labels_take_the_configured_channel_roles() -> None:
    raw = aws([word("Halo", "0.5", "0.9"), word("pagi", "1.0", "1.3")],
              channel_labels={"channels": [
                  {"channel_label": "ch_0", "items": [{"start_time": "0.5"}]},
                  {"channel_label": "ch_1", "items": [{"start_time": "1.0"}]}]})
    hints = RoleHints.build(channel_roles=channel_roles_from("ch_0=caller,ch_1=agent"))
    told = read_transcript(raw, hints)
    assert [x.role for x in told.turns] == [CALLER, AGENT]
    assert told.roles is not None and told.roles.method == "channel_roles"
    with pytest.raises(MalformedPayload, match="cannot tell the agent from the caller"):
        read_transcript(raw)  # "Halo" / "pagi": nothing to go on, and never by order


def test_contact_lens_participants_and_offsets() -> None:
    t = read_transcript(fixture("contact_lens_otp.json"))
    assert t.format == "contact-lens"
    assert t.meta.call_id == "7f3c2a10-5b1e-4c7d-9a51-2d8e6f0b4c91"
    assert [x.role for x in t.turns] == [AGENT, CALLER, AGENT, CALLER, AGENT, CALLER, AGENT]
    assert (t.turns[1].start_ms, t.turns[1].end_ms) == (4_310, 10_020)
    # two CUSTOMER segments in a row are one turn, from the first start to the last end
    assert (t.turns[3].start_ms, t.turns[3].end_ms) == (14_200, 22_400)


def test_detection_is_by_content_not_extension(tmp_path: Path) -> None:
    assert read_transcript(fixture("otp_call.srt")).format == "srt"
    for name, fmt in ((TEXT, "text"), ("insentif_call.vtt", "webvtt"), ("otp_call.srt", "srt"),
                      ("contact_lens_otp.json", "contact-lens")):
        meta = {"filename": "rekaman.dat", "caller": "081234567002",
                "started_at": "2026-03-02T09:00:00+07:00"}
        assert parse_transcript(fixture(name), meta).extra["transcript_format"] == fmt


# --- the normalized message ----------------------------------------------------------------------

def test_filename_gives_caller_and_start_in_wib_and_hash_is_the_call_id() -> None:
    msg = parse_transcript(fixture(TEXT), {"filename": TEXT})
    assert msg.channel is Channel.PHONE
    assert msg.sender.phone == "6281234567001"
    assert msg.sent_at == dt.datetime(2026, 3, 2, 2, 15, 30, tzinfo=dt.UTC)
    assert msg.external_id.startswith("sha256:") and len(msg.external_id) == 71
    assert msg.extra["sent_at_source"] == "filename"
    assert msg.body.splitlines()[:2] == [
        "Agen: Selamat pagi, layanan pengaduan Kartu Prakerja, dengan Rina, ada yang bisa dibantu?",
        "Penelepon: Pagi Bu. Saya mau daftar akun tapi kode OTP tidak masuk ke HP saya, sudah "
        "tiga kali saya minta kirim ulang."]
    assert msg.extra["call"]["ended_at"] == "2026-03-02T02:16:28+00:00"


def test_explicit_metadata_wins_and_vendor_ids_are_the_call_id() -> None:
    meta = {"filename": TEXT, "caller": "0857-5012-3006", "started_at": "2026-03-03T10:00:00",
            "received_at": "2026-03-04T00:00:00+00:00"}
    msg = parse_transcript(fixture("contact_lens_otp.json"), meta)
    assert msg.external_id == "7f3c2a10-5b1e-4c7d-9a51-2d8e6f0b4c91"
    assert msg.sender.phone == "0857-5012-3006"
    assert msg.sent_at == dt.datetime(2026, 3, 3, 3, 0, tzinfo=dt.UTC)  # no offset: WIB
    assert msg.extra["call"]["language"] == "id-ID"
    received = parse_transcript(fixture("aws_transcribe_insentif.json"),
                                {"caller": "081234567002", "received_at": meta["received_at"]})
    assert received.external_id == "prakerja-call-20260302-0042"
    assert received.extra["sent_at_source"] == "received_at"


def test_same_bytes_same_call_id() -> None:
    meta = {"caller": "081234567002", "received_at": "2026-03-04T00:00:00+00:00"}
    one = parse_transcript(fixture("otp_call.srt"), meta)
    assert parse_transcript(fixture("otp_call.srt"), meta).external_id == one.external_id
    assert parse_transcript(fixture("otp_call.srt") + b"\n", meta).external_id != one.external_id


NIKS = {TEXT: "3273121206900001", "insentif_call.vtt": "3201054107950002",
        "otp_call.srt": "3174052103880004", "aws_transcribe_insentif.json": "3511230409910005",
        "contact_lens_otp.json": "6171014512850006"}
AGENT_NIK = "3578151502880003"


@pytest.mark.parametrize("name", sorted(NIKS))
def test_body_keeps_the_callers_nik_and_not_the_agents(name: str) -> None:
    msg = parse_transcript(fixture(name), {"caller": "081234567002",
                                           "received_at": "2026-03-04T00:00:00+00:00"})
    niks = {i.value for i in claimed_identifiers(msg.body) if i.kind is IdentityKind.NIK}
    assert niks == {NIKS[name]}
    if name in (TEXT, "aws_transcribe_insentif.json", "contact_lens_otp.json"):
        assert "Agen: " in msg.body and "3578 1515 0288 0003" in msg.body  # said, not claimed


# --- bad input -----------------------------------------------------------------------------------

META = {"caller": "081234567002", "received_at": "2026-03-04T00:00:00+00:00"}


@pytest.mark.parametrize(("raw", "reason"), [
    (b"", "empty file"),
    (b"  \n\n", "empty file"),
    (b"Petugas: halo\nPelapor: \xff\xfe sembunyi\n", "not UTF-8"),
    (b'{"jobName": "x", "results": {"items": [', "invalid or truncated JSON"),
    (b"WEBVTT\n\nNOTE nothing was said\n", "no cues"),
    (b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhalo\n", "has no speaker"),
    (b"1\n00:00:01,000 --> 00:00:0x,000\nPelapor: halo\n", "bad timing line"),
    (b"Halo min, OTP saya tidak masuk.\n", "unknown transcript format"),
    (b'{"foo": 1}', "neither an AWS"),
    (b'{"results": {"items": [{"type": "pronunciation", "start_time": "abc", "end_time": "1",'
     b' "alternatives": [{"content": "x"}], "speaker_label": "spk_0"}]}}', "not a number"),
    (b'{"results": {"items": [{"type": "pronunciation", "start_time": "0.1", "end_time": "1",'
     b' "alternatives": [{"content": "x"}]}]}}', "no speaker label"),
    (b'{"Channel": "VOICE", "Transcript": [{"ParticipantId": "AGENT", "Content": "x",'
     b' "BeginOffsetMillis": "0", "EndOffsetMillis": 5}]}', "BeginOffsetMillis"),
    (b'{"Channel": "VOICE", "Transcript": []}', "no turns"),
    (b"Petugas: halo\nPetugas: ada yang bisa dibantu?\n", "no caller"),
])
def test_bad_input_is_a_clear_malformed_payload(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedPayload, match=reason):
        parse_transcript(raw, META)


def test_utf16_with_bom_and_utf8_bom_are_read() -> None:
    text = "Petugas: Ada yang bisa dibantu?\nPelapor: NIK saya 3174 0521 0388 0004\n"
    for raw in (text.encode("utf-16"), text.encode("utf-8-sig")):
        assert parse_transcript(raw, META).body.splitlines()[1] == \
            "Penelepon: NIK saya 3174 0521 0388 0004"


def test_no_caller_number_or_start_is_refused_with_the_way_out() -> None:
    with pytest.raises(MalformedPayload, match="no caller number"):
        parse_transcript(fixture("otp_call.srt"), {"received_at": META["received_at"]})
    with pytest.raises(MalformedPayload, match="no call start"):
        parse_transcript(fixture("otp_call.srt"), {"caller": "081234567002"})


def test_garbage_never_crashes() -> None:
    for raw in (b"\x00" * 50, b"{" * 5000, b"[" * 100000, b"WEBVTT\n\n-->\n", b"[]",
                b"1\n-->\n", "Pelapor: é".encode("latin-1")):
        with pytest.raises(MalformedPayload):
            parse_transcript(raw, META)
