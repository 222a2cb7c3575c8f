"""Citizen-text extraction (transcripts, quoted mail) and normalisation for matching."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ticketing.domain.text import Role, citizen_text, normalize_for_matching, transcript_turns


def test_transcript_keeps_only_the_caller() -> None:
    body = ("Agen: Selamat datang di layanan Prakerja, ada yang bisa dibantu?\n"
            "Penelepon: saya salah input nomor LinkAja.\n"
            "Agen: Baik, boleh disebutkan NIK Bapak/Ibu?\n"
            "Penelepon: NIK saya 3224 2819 0887 6385.\n"
            "Agen: Baik, akan kami teruskan ke tim terkait.")
    assert citizen_text(body) == "saya salah input nomor LinkAja.\nNIK saya 3224 2819 0887 6385."


def test_transcript_labels_and_timestamps() -> None:
    body = ("[00:00:04] Petugas: Halo, dengan siapa?\n"
            "[00:00:07] Pelapor: OTP tidak masuk\n"
            "sudah coba berkali-kali\n"  # wrapped speech continues the caller's turn
            "Agent: noted\n"
            "Caller: thanks\n"
            "CS: anything else?")
    turns = transcript_turns(body)
    assert turns is not None
    assert [t.role for t in turns] == [Role.AGENT, Role.CALLER, Role.AGENT, Role.CALLER, Role.AGENT]
    assert citizen_text(body) == "OTP tidak masuk sudah coba berkali-kali\nthanks"


def test_plain_message_is_not_a_transcript() -> None:
    body = "Halo min, CS: tidak membalas.\nTolong dicek."
    assert transcript_turns(body) is None
    assert citizen_text(body) == body
    opener = "Admin: tolong, saya tidak bisa login.\nCS: juga tidak membalas."
    assert transcript_turns(opener) is None  # no caller turn: the citizen's own message
    assert citizen_text(opener) == opener


def test_gmail_indonesian_quote_is_cut() -> None:
    body = ("Apakah sudah ada perkembangan?\n\n"
            "Pada 10/03/2026 21.35, Eko Pratama <eko.pratama631@outlook.com> menulis:\n"
            "> akun ShopeePay saya belum terhubung")
    assert citizen_text(body) == "Apakah sudah ada perkembangan?"


def test_gmail_quote_wrapped_over_two_lines_is_cut() -> None:
    body = ("Masih sama min.\n\n"
            "Pada Sen, 10 Mar 2026 pukul 21.35 Eko Pratama <eko.pratama631@outlook.com>\n"
            "menulis:\n\n"
            "> akun ShopeePay saya belum terhubung")
    assert citizen_text(body) == "Masih sama min."


def test_english_outlook_and_original_message_quotes_are_cut() -> None:
    on_wrote = "Still broken.\n\nOn Mon, Mar 10, 2026 at 9:35 PM Eko <e@x.com> wrote:\n> old text"
    assert citizen_text(on_wrote) == "Still broken."
    original = "Mohon dicek.\n-----Original Message-----\nFrom: cs@x.id\nold"
    assert citizen_text(original) == "Mohon dicek."
    outlook = ("Belum bisa login.\n\n________________________________\n"
               "Dari: Tim Prakerja <cs@prakerja.go.id>\nDikirim: Senin, 10 Maret 2026 09.00\n"
               "Kepada: budi@x.id\nPerihal: Re: login\n\nSilakan reset password.")
    assert citizen_text(outlook) == "Belum bisa login."
    outlook_no_rule = ("Belum bisa login.\n\nFrom: Tim <cs@x.id>\nSent: Monday\nTo: budi@x.id\n"
                       "Subject: Re: login\n\nold")
    assert citizen_text(outlook_no_rule) == "Belum bisa login."


def test_interleaved_quote_lines_are_dropped_and_signature_kept() -> None:
    body = "> pertanyaan lama\nJawaban saya: belum cair.\n\n--\nDewi Utami\n0881 5915 952"
    assert citizen_text(body) == "Jawaban saya: belum cair.\n\n--\nDewi Utami\n0881 5915 952"


def test_normalize_for_matching_expands_slang() -> None:
    text = "Sy blm dpt OTP, gk msk2 pdhl udh nunggu! Tp yg lain bs, krn apa?? bgmn dgn akun gw"
    assert normalize_for_matching(text) == (
        "saya belum dapat otp tidak msk padahal sudah nunggu tapi yang lain bisa karena apa "
        "bagaimana dengan akun saya")


def test_normalize_handles_edge_inputs() -> None:
    assert normalize_for_matching("") == ""
    assert normalize_for_matching("🙏🙏😭🔥") == ""
    assert normalize_for_matching("   \n\t ") == ""
    mixed = "ＯＴＰ 不 工作 لا يعمل OTP ничего"
    assert normalize_for_matching(mixed) == "otp 不 工作 لا يعمل otp ничего"
    big = ("Halo min, insentif blm cair 🙏 " * 40_000)[:1_000_000]
    out = normalize_for_matching(big)
    assert out.startswith("halo min insentif belum cair halo")


def test_citizen_text_handles_edge_inputs() -> None:
    assert citizen_text("") == ""
    assert citizen_text("🙏") == "🙏"
    assert len(citizen_text("x\n" * 500_000)) > 0


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500))
def test_never_crash(text: str) -> None:
    normalize_for_matching(text)
    citizen_text(text)
