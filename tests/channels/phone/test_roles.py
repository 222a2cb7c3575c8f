"""Speaker roles (explicit data first, then content; never by order), Call Analytics, named
voices in WebVTT/SRT, the time-stamp forms producers write, and the call's subject."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from channels.phone import parse_transcript, read_transcript
from channels.phone.roles import RoleHints, channel_roles_from, name_key
from ticketing.app import App
from ticketing.domain.errors import MalformedPayload
from ticketing.domain.text import Role
from ticketing.services import views
from ticketing.services.accounts import Principal, create_user
from ticketing.services.accounts import Role as StaffRole
from ticketing.store import tables
from tests.channels.phone.test_ingest import RECEIVED

SUPERVISOR = Principal(user_id=0, email="spv@example.id", name="Spv", role=StaffRole.SUPERVISOR)

AGENT, CALLER = Role.AGENT, Role.CALLER
META = {"caller": "081234567002", "received_at": "2026-03-04T00:00:00+00:00"}

TEAMS = """WEBVTT

0:0:0.0 --> 0:0:3.520
<v Budi Santoso>Halo? Halo, ini pengaduan Prakerja?</v>

0:0:3.520 --> 0:0:9.10
<v Rina Wulandari (Prakerja)>Selamat pagi, dengan Rina, ada yang bisa dibantu?</v>

0:0:9.100 --> 0:0:15.0
<v Budi Santoso>Iya Bu. Insentif saya belum cair padahal sudah tiga minggu.</v>
"""


def roles(raw: bytes | str, hints: RoleHints | None = None) -> list[tuple[Role, str]]:
    data = raw.encode() if isinstance(raw, str) else raw
    return [(t.role, t.text) for t in read_transcript(data, hints).turns]


# --- explicit data first ------------------------------------------------------------------------

def test_teams_named_voices_with_a_staff_name_and_single_digit_stamps() -> None:
    hints = RoleHints.build(agent_names=["Rina Wulandari"])
    t = read_transcript(TEAMS.encode(), hints)
    assert [x.role for x in t.turns] == [CALLER, AGENT, CALLER]
    assert (t.turns[0].start_ms, t.turns[1].end_ms, t.turns[2].end_ms) == (0, 9_100, 15_000)
    assert t.roles is not None and t.roles.method == "agent_names" and not t.roles.inferred
    msg = parse_transcript(TEAMS.encode(), META, hints)
    assert msg.sender.name == "Budi Santoso"
    assert msg.subject == "Insentif saya belum cair padahal sudah tiga minggu."
    assert msg.extra["speaker_roles"]["speakers"][0] == {
        "speaker": "Budi Santoso", "role": "caller", "by": "other_speaker"}


def test_named_voices_without_configuration_are_inferred_from_content_and_say_so() -> None:
    msg = parse_transcript(TEAMS.encode(), META)
    assert msg.body.splitlines()[0].startswith("Penelepon: Halo?")
    assert msg.body.splitlines()[1].startswith("Agen: Selamat pagi, dengan Rina")
    shown = msg.extra["speaker_roles"]
    assert shown["method"] == "content" and shown["inferred"] is True
    rina = shown["speakers"][1]
    assert rina["role"] == "agent" and rina["desk_cues"] >= 2


def test_call_analytics_is_its_own_format_with_stated_roles() -> None:
    doc = {"JobName": "ca-job-7", "JobStatus": "COMPLETED", "LanguageCode": "id-ID",
           "Channel": "VOICE", "Participants": [{"ParticipantRole": "AGENT"},
                                                {"ParticipantRole": "CUSTOMER"}],
           "Transcript": [
               {"ParticipantRole": "CUSTOMER", "Content": "Halo? OTP saya tidak masuk.",
                "BeginOffsetMillis": 120, "EndOffsetMillis": 2400, "Sentiment": "NEGATIVE",
                "LoudnessScores": [70.1], "Id": "a", "Items": []},
               {"ParticipantRole": "AGENT", "Content": "Baik, mohon ditunggu.",
                "BeginOffsetMillis": 2500, "EndOffsetMillis": 4000, "Sentiment": "NEUTRAL"}],
           "ConversationCharacteristics": {"TotalConversationDurationMillis": 4000}}
    t = read_transcript(json.dumps(doc).encode())
    assert t.format == "call-analytics" and t.meta.call_id == "ca-job-7"
    assert [(x.role, x.start_ms) for x in t.turns] == [(CALLER, 120), (AGENT, 2_500)]
    assert t.roles is not None and t.roles.method == "participant_role"
    bad = {**doc, "Transcript": [{"ParticipantRole": "CUSTOMER", "Content": "x",
                                  "BeginOffsetMillis": "0", "EndOffsetMillis": 1}]}
    with pytest.raises(MalformedPayload, match=r"Transcript\[1\].BeginOffsetMillis"):
        read_transcript(json.dumps(bad).encode())
    odd = {**doc, "Transcript": [{"ParticipantRole": "NARRATOR", "Content": "x",
                                  "BeginOffsetMillis": 0, "EndOffsetMillis": 1}]}
    with pytest.raises(MalformedPayload, match="unknown ParticipantRole 'NARRATOR'"):
        read_transcript(json.dumps(odd).encode())


def test_contact_lens_turn_role_wins_and_supervisor_is_the_desk() -> None:
    doc = {"Channel": "VOICE", "CustomerMetadata": {"ContactId": "c-1"},
           "Participants": [{"ParticipantId": "p1", "ParticipantRole": "CUSTOMER"}],
           "Transcript": [
               {"ParticipantId": "p1", "Content": "Dana saya belum cair.",
                "BeginOffsetMillis": 0, "EndOffsetMillis": 900},
               {"ParticipantId": "s9", "ParticipantRole": "SUPERVISOR", "Content": "Kami cek.",
                "BeginOffsetMillis": 1000, "EndOffsetMillis": 1900}]}
    t = read_transcript(json.dumps(doc).encode())
    assert t.format == "contact-lens"
    assert [x.role for x in t.turns] == [CALLER, AGENT]


def test_channel_roles_setting_is_checked() -> None:
    assert channel_roles_from("ch_0=caller, 1=agent") == {"ch_0": CALLER, "ch_1": AGENT}
    assert channel_roles_from("") == {}
    for bad in ("ch_0", "ch_0=boss", "left=agent"):
        with pytest.raises(ValueError, match="expected ch_N=agent|caller"):
            channel_roles_from(bad)


def test_agent_names_match_accents_case_and_suffixes() -> None:
    hints = RoleHints.build(agent_names=["Rina Wulandari", "Agus"])
    assert hints.is_agent_name("rina  WULANDARI (Prakerja)")
    assert hints.is_agent_name("Rina Wulandari S.Kom")
    assert hints.is_agent_name("Agus") and not hints.is_agent_name("Agus Salim")
    assert not hints.is_agent_name("Rina")
    assert name_key("Ádé Pérez | Desk") == "ade perez"


# --- content, never the order --------------------------------------------------------------------

def test_caller_speaking_first_with_diarized_labels_is_the_caller() -> None:
    text = ("Speaker 1: Halo, saya mau tanya, kenapa NIK saya ditolak waktu daftar?\n"
            "Speaker 2: Selamat siang, layanan pengaduan Prakerja. Boleh disebutkan NIK-nya?\n"
            "Speaker 1: 3201 0541 0795 0002.\n")
    assert [r for r, _ in roles(text)] == [CALLER, AGENT, CALLER]


def test_english_call_roles_from_content() -> None:
    text = ("Speaker A: Hi, I'm calling because my card was charged twice.\n"
            "Speaker B: Thank you for calling. I'm sorry to hear that. "
            "Can I have your account number?\n")
    assert [r for r, _ in roles(text)] == [CALLER, AGENT]


def test_no_cue_either_way_is_quarantined_with_the_way_out() -> None:
    with pytest.raises(MalformedPayload, match="TICKETING_PHONE_CHANNEL_ROLES"):
        read_transcript(b"Speaker 1: Halo\nSpeaker 2: Halo juga\n")


def test_one_named_caller_and_a_role_word_agent() -> None:
    vtt = ("WEBVTT\n\n00:01.000 --> 00:02.000\n<v Petugas>Ada yang bisa dibantu?\n\n"
           "00:02.000 --> 00:04.000\n<v Sari>Akun saya terblokir.\n")
    t = read_transcript(vtt.encode())
    assert [x.role for x in t.turns] == [AGENT, CALLER]
    assert t.roles is not None and t.roles.method == "labels"


# --- WebVTT / SRT reading ------------------------------------------------------------------------

def test_zoom_speaker_prefix_in_cue_text() -> None:
    vtt = ("WEBVTT\n\n1\n00:00:01.140 --> 00:00:03.690\nBudi Santoso: Halo, akun saya terblokir.\n\n"
           "2\n00:00:04.000 --> 00:00:08.000\nRina Wulandari: Selamat pagi, ada yang bisa "
           "dibantu?\n\n3\n00:00:08.500 --> 00:00:09.000\nBudi Santoso: Sudah tiga hari.\n")
    hints = RoleHints.build(agent_names=["Rina Wulandari"])
    assert roles(vtt, hints) == [(CALLER, "Halo, akun saya terblokir."),
                                 (AGENT, "Selamat pagi, ada yang bisa dibantu?"),
                                 (CALLER, "Sudah tiga hari.")]


def test_timing_line_without_a_blank_line_before_it_is_a_timing_line() -> None:
    vtt = ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Petugas>Ada yang bisa dibantu?\n"
           "00:00:02.000 --> 00:00:04.000\n<v Pelapor>OTP saya tidak masuk.\n")
    t = read_transcript(vtt.encode())
    assert [(x.role, x.start_ms, x.text) for x in t.turns] == [
        (AGENT, 1_000, "Ada yang bisa dibantu?"), (CALLER, 2_000, "OTP saya tidak masuk.")]
    assert "-->" not in parse_transcript(vtt.encode(), META).body


def test_note_style_region_bom_settings_and_youtube_inline_stamps() -> None:
    vtt = ("\ufeffWEBVTT - rekaman\nKind: captions\nLanguage: id\n\nSTYLE\n::cue { color: red }\n\n"
           "REGION\nid:r1 width:40%\n\nNOTE\nnot speech --> nor this\n\n"
           "cue-1\n00:00:00.500 --> 00:00:02.000 align:start position:0% region:r1\n"
           "<v.loud Petugas>Selamat<00:00:01.000><c> pagi</c></v>\n\n"
           "00:00:02.000 --> 00:00:03.000 line:0\n<v Pelapor><i>Saldo</i> &amp; dana belum "
           "cair</v>\n")
    assert roles(vtt.encode("utf-8")) == [(AGENT, "Selamat pagi"),
                                          (CALLER, "Saldo & dana belum cair")]


def test_bad_cue_is_skipped_and_counted_but_a_file_of_bad_cues_is_refused() -> None:
    srt = ("1\n00:00:01,000 --> 00:00:02,000\nPetugas: Ada yang bisa dibantu?\n\n"
           "2\n00:00:0x,000 --> 00:00:03,000\nPelapor: hilang\n\n"
           "3\n00:00:03,000 --> 00:00:04,000\nPelapor: OTP tidak masuk.\n")
    msg = parse_transcript(srt.encode(), META)
    assert msg.extra["skipped_cues"] == 1 and "hilang" not in msg.body
    with pytest.raises(MalformedPayload, match="bad timing line"):
        parse_transcript(b"1\n00:00:01,000 --> nope\nPelapor: x\n", META)


@pytest.mark.parametrize(("stamp", "ms"), [
    ("0:0:0.0", 0), ("0:0:3.52", 3_520), ("00:01.5", 1_500), ("1:02:03,004", 3_723_004),
    ("0:00:01.2345", 1_234), ("100:00:00.000", 360_000_000)])
def test_time_stamp_forms(stamp: str, ms: int) -> None:
    srt = f"1\n{stamp} --> 999:00:00.000\nPelapor: NIK saya ditolak.\n"
    assert read_transcript(srt.encode()).turns[0].start_ms == ms


def test_meet_style_plain_text_with_bare_stamps_and_names() -> None:
    text = ("Pengaduan - Transkrip\n00:00:00\nBudi Santoso: Halo, dana saya belum cair.\n"
            "Rina Wulandari: Selamat pagi, dengan Rina. Boleh disebutkan NIK Bapak?\n"
            "00:05:00\nBudi Santoso: 3201 0541 0795 0002.\n")
    t = read_transcript(text.encode())
    assert [(x.role, x.start_ms) for x in t.turns] == [(CALLER, 0), (AGENT, None),
                                                        (CALLER, 300_000)]


def test_a_colon_in_speech_is_not_a_speaker() -> None:
    text = "Petugas: Ada yang bisa dibantu?\nPelapor: Begini Bu\nNIK saya: 3201054107950002\n"
    assert roles(text)[1] == (CALLER, "Begini Bu NIK saya: 3201054107950002")


# --- subject --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("caller", "subject"), [
    ("Pagi Bu. Saya mau daftar tapi OTP tidak masuk. Sudah tiga kali.",
     "Saya mau daftar tapi OTP tidak masuk."),
    ("Halo? Halo. Iya Bu. Dana Rp 1.000.000 belum cair!", "Dana Rp 1.000.000 belum cair!"),
    ("Halo.", "Halo."),
])
def test_subject_is_the_first_sentence_of_the_callers_complaint(caller: str, subject: str) -> None:
    text = f"Petugas: Selamat pagi, layanan pengaduan, ada yang bisa dibantu?\nPelapor: {caller}\n"
    assert parse_transcript(text.encode(), META).subject == subject


def test_long_subject_is_cut_at_a_word() -> None:
    text = "Petugas: Ada yang bisa dibantu?\nPelapor: " + "insentif belum cair " * 30 + "\n"
    subject = parse_transcript(text.encode(), META).subject or ""
    assert len(subject) <= 150 and subject.endswith("…") and not subject.endswith(" …")
    assert subject.startswith("insentif belum cair insentif")


# --- through the pipeline: staff names from the database, shown to staff ---------------------------

def test_staff_user_name_makes_the_voice_an_agent_and_the_view_says_how(app: App) -> None:
    with app.engine.begin() as conn:
        create_user(conn, email="rina@prakerja.example.id", name="Rina Wulandari",
                    role="agent", password="rahasia-panjang-1", clock=app.clock)
    from channels.phone.intake import transcript_delivery
    from ticketing.services.ingest import store_and_process
    delivery = transcript_delivery(TEAMS.encode(), filename="teams.vtt", caller="081234567002",
                                   received_at=RECEIVED)
    [outcome] = store_and_process(app.uow, [delivery], policy=app.ingest_policy, clock=app.clock)
    assert outcome.outcome == "created", outcome.error
    with app.engine.connect() as conn:
        ticket = conn.execute(sa.select(tables.tickets.c.subject)
                              .where(tables.tickets.c.id == outcome.ticket_id)).scalar_one()
        shown = views.get_ticket(conn, int(outcome.ticket_id or 0), SUPERVISOR)
    assert ticket == "Insentif saya belum cair padahal sudah tiga minggu."
    report: dict[str, Any] = shown["messages"][0]["speaker_roles"]
    assert report["method"] == "agent_names" and report["inferred"] is False


def test_a_bad_channel_roles_setting_stops_start_up(app: App) -> None:
    from dataclasses import replace

    from ticketing.domain.errors import InvalidInput
    broken = App(settings=replace(app.settings, phone_channel_roles="ch_0=boss"), clock=app.clock)
    with pytest.raises(InvalidInput, match="phone_channel_roles"):
        broken.ingest_policy  # noqa: B018
    broken.close()
