"""Identifier normalisation, NIK structure, masking and the own-vs-someone-else claim rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketing.domain.identity import (
    LINKING_KINDS,
    Identifier,
    IdentityKind,
    mask,
    normalize_email,
    normalize_identifier,
    normalize_nik,
    normalize_phone,
    sender_identifiers,
)
from ticketing.domain.claimed import claimed_identifiers
from ticketing.domain.message import Sender

NIK = "3224281908876385"  # Jawa Barat, born 19-08-87
NIK_WOMAN = "3224285908876385"  # same, day 19 + 40


def claims(text: str) -> set[tuple[str, str]]:
    return {(i.kind.value, i.value) for i in claimed_identifiers(text)}


# --- phones ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", [
    "0812-3456-7890", "+62 812 3456 7890", "6281234567890", "(+62) 812 3456 7890",
    "(+62)81234567890", "0062 812 3456 7890", "0062-812-3456-7890", "62-812-3456-7890",
    "0812.3456.7890", "0812 3456 7890", "+62 0812 3456 7890", "+62-812-3456-7890", " 081234567890 ",
])
def test_indonesian_mobile_formats_normalize_to_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+6281234567890"


def test_62_without_plus_is_not_read_as_a_landline() -> None:
    # phonenumbers alone parses "62812345678" as +62 62812345678 (a landline)
    assert normalize_phone("62812345678") == "+62812345678"
    assert normalize_phone("628955882080") == "+628955882080"


def test_short_indonesian_mobiles_and_landlines() -> None:
    assert normalize_phone("0852-6835-160") == "+628526835160"
    assert normalize_phone("021 5000 1234") == "+622150001234"


@pytest.mark.parametrize(("raw", "e164"), [
    ("+1 202 555 0123", "+12025550123"),
    ("+44 7911 123456", "+447911123456"),
    ("+60 12-345 6789", "+60123456789"),
    ("0044 7911 123456", "+447911123456"),
])
def test_foreign_numbers_with_plus_keep_their_country(raw: str, e164: str) -> None:
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize("raw", [
    "", "12345", "0000000000", "abc", "0812-ABCD-7890", "2025550123", "447911123456",
    "081234", "1" * 30, "+62 812", "08123456789012345", "3224281908876385", "call me",
])
def test_garbage_and_bare_foreign_digits_are_not_phones(raw: str) -> None:
    assert normalize_phone(raw) is None


# --- NIK ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", [
    NIK, "3224 2819 0887 6385", "32.24.28.190887.6385", "322428 1908876385", "3224-2819-0887-6385",
])
def test_nik_accepts_separators(raw: str) -> None:
    assert normalize_nik(raw) == NIK


def test_nik_women_add_40_to_the_day() -> None:
    assert normalize_nik(NIK_WOMAN) == NIK_WOMAN
    assert normalize_nik("3224287108876385") == "3224287108876385"  # 31 + 40
    assert normalize_nik("3224287208876385") is None  # day 32
    assert normalize_nik("3224283108876385") is not None  # 31 August
    assert normalize_nik("3224283102876385") is None  # 31 February
    assert normalize_nik("3224287102876385") is None  # 31 February, woman


def test_nik_new_papua_provinces_are_real() -> None:
    for code in ("93", "94", "95", "96"):
        assert normalize_nik(code + NIK[2:]) is not None


@pytest.mark.parametrize("raw", [
    "2024281908876385",  # province 20 does not exist
    "9924281908876385",  # neither does 99
    "3200281908876385",  # regency 00
    "3224001908876385",  # district 00
    "3224280008876385",  # day 00
    "3224281913876385",  # month 13
    "3224281908870000",  # serial 0000
    "322428190887638",  # 15 digits
    "32242819088763851",  # 17 digits
    "4111111111111111",  # a Visa test card number
    "1234567890123456",  # a bank account / card-like number
])
def test_invalid_nik_structure_is_rejected(raw: str) -> None:
    assert normalize_nik(raw) is None


# --- email / others ----------------------------------------------------------------------------------
def test_email_normalisation() -> None:
    assert normalize_email("  Komang_Hidayat769@Yahoo.co.id ") == "komang_hidayat769@yahoo.co.id"
    assert normalize_email("<a.b@gmail.com>") == "a.b@gmail.com"
    assert normalize_email("mailto:x@y.id.") == "x@y.id"
    for bad in ("", "x@", "@y.com", "x@y", "x y@z.com", "x@@y.com", "x@y..com"):
        assert normalize_email(bad) is None


def test_normalize_identifier_dispatches_and_validates() -> None:
    assert normalize_identifier(IdentityKind.PHONE, "0812-3456-7890") == "+6281234567890"
    assert normalize_identifier(IdentityKind.TELEGRAM, " 5340657619 ") == "5340657619"
    assert normalize_identifier(IdentityKind.TELEGRAM, "abc") is None
    assert normalize_identifier(IdentityKind.INSTAGRAM_USERNAME, "@Ayu.620") == "ayu.620"


def test_sender_identifiers_normalise_every_field() -> None:
    sender = Sender(name="Budi", email="Budi@Mail.ID", phone="(+62) 812-3456-7890", telegram_id="42",
                    instagram_id="17211031016982524", instagram_username="Budi.S")
    got = {(i.kind, i.value, i.source) for i in sender_identifiers(sender)}
    assert got == {
        (IdentityKind.EMAIL, "budi@mail.id", "sender"),
        (IdentityKind.PHONE, "+6281234567890", "sender"),
        (IdentityKind.TELEGRAM, "42", "sender"),
        (IdentityKind.INSTAGRAM, "17211031016982524", "sender"),
        (IdentityKind.INSTAGRAM_USERNAME, "budi.s", "sender"),
    }
    assert IdentityKind.INSTAGRAM_USERNAME not in LINKING_KINDS
    assert sender_identifiers(Sender(phone="not a phone")) == []


def test_masks() -> None:
    assert mask(IdentityKind.NIK, NIK) == "3224********6385"
    assert mask(IdentityKind.PHONE, "+6281234567890") == "+62812****7890"
    assert mask(IdentityKind.EMAIL, "komang@yahoo.co.id") == "k***@yahoo.co.id"
    assert "5340657619" not in mask(IdentityKind.TELEGRAM, "5340657619")
    assert mask(IdentityKind.PHONE, "+62") != ""


# --- claims: the writer's own --------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    f"NIK saya {NIK}", "nik sy 3224 2819 0887 6385", "NIK: 32.24.28.190887.6385.",
    "No KTP saya 322428 1908876385", "Mohon dicek, nik-ku 3224281908876385",
    "Penelepon: NIK saya 3224 2819 0887 6385",
])
def test_own_nik_claims(text: str) -> None:
    assert claims(text) == {("nik", NIK)}


@pytest.mark.parametrize("text", [
    "No HP saya 0812-3456-7890", "nomor WA saya 0812 3456 7890", "WA saya 6281234567890.",
    "hp sy: (+62) 81234567890", "bisa hubungi saya di 0812.3456.7890", "hp: 081234567890",
    "No. HP saya: 0062 812 3456 7890", "nomorku 081234567890", "whatsapp aku +62 812-3456-7890",
])
def test_own_phone_claims(text: str) -> None:
    assert claims(text) == {("phone", "+6281234567890")}


@pytest.mark.parametrize("text", [
    "email saya Budi.S@Gmail.com.", "email aku budi.s@gmail.com", "email terdaftar budi.s@gmail.com",
    "akun email budi.s@gmail.com", "e-mail: budi.s@gmail.com",
])
def test_own_email_claims(text: str) -> None:
    assert claims(text) == {("email", "budi.s@gmail.com")}


def test_signature_phone_is_the_writers() -> None:
    body = "Selamat siang, lupa password.\n\n--\nDewi Utami\n0881 5915 952"
    assert claims(body) == {("phone", "+628815915952")}
    closing = "Mohon bantuannya.\n\nSalam,\nBudi Santoso\nHP 0812 3456 7890"
    assert claims(closing) == {("phone", "+6281234567890")}


def test_signature_without_delimiter_is_a_name_then_contact_lines() -> None:
    body = ("Mohon bantuannya.\nBudi Santoso\nHP: 0812 3456 7890\nbudi.s@gmail.com\n\n"
            "Dikirim dari iPhone saya")
    assert claims(body) == {("phone", "+6281234567890"), ("email", "budi.s@gmail.com")}
    assert claims("Mohon dicek.\nIbu Saya\n0812 3456 7890") == set()  # "my mother", not a name
    assert claims("tolong dicek\n0812 3456 7890") == set()  # no name line: not a signature


def test_call_transcript_phone_answering_the_agent() -> None:
    call = "Agen: nomor yang bisa dihubungi?\nPenelepon: 0812 3456 7890"
    assert claims(call) == {("phone", "+6281234567890")}


def test_call_transcript_nik_answering_the_agent() -> None:
    call = ("Agen: Baik, boleh disebutkan NIK Bapak/Ibu?\n"
            "Penelepon: 3224 2819 0887 6385\n"
            "Agen: Baik, akan kami teruskan.")
    assert claims(call) == {("nik", NIK)}


def test_agent_lines_are_never_the_callers_claim() -> None:
    call = ("[00:00:01] Petugas: nomor layanan kami 0812-3456-7890, NIK saya 3224281908876385\n"
            "[00:00:05] Pelapor: saya tidak bisa login\n"
            "Agent: email saya cs@prakerja.go.id\n"
            "CS: hubungi saya di 0811 2222 3333")
    assert claims(call) == set()


def test_quoted_history_is_not_mined() -> None:
    body = ("Masih belum ada kabar.\n\nPada 04/03/2026 19.53, Tim <cs@prakerja.go.id> menulis:\n"
            "> Silakan hubungi kami di 0812-3456-7890. NIK saya 3224281908876385")
    assert claims(body) == set()


def test_duplicates_are_returned_once_and_normalised() -> None:
    got = claimed_identifiers(f"NIK saya {NIK}. Sekali lagi NIK saya 3224 2819 0887 6385. "
                              "WA saya 0812-3456-7890, hp saya +62 812 3456 7890")
    assert [(i.kind, i.value) for i in got] == [(IdentityKind.NIK, NIK),
                                                (IdentityKind.PHONE, "+6281234567890")]
    assert all(isinstance(i, Identifier) and i.source == "text" for i in got)


# --- claims: someone else's, or not an identifier -------------------------------------------------------
@pytest.mark.parametrize("text", [
    "nomor ibu saya 0812-3456-7890",
    "HP suami saya 081234567890",
    f"NIK anak saya {NIK}",
    "no hp adik sy 0812 3456 7890",
    "0812 3456 7890 punya adik saya",
    f"{NIK} (punya kakak saya)",
    f"atas nama bapak saya, NIK {NIK}",
    "WA istri 081234567890",
    "nomor hp ortu saya 081234567890",
    "email teman saya budi@gmail.com",
    "nomor mama aku 081234567890",
    f"ini NIK ibuku {NIK}",
    f"Saya daftarkan ibu saya. NIK: {NIK}",  # unpossessed label in a message about someone else
])
def test_someone_elses_identifiers_are_not_claims(text: str) -> None:
    assert claims(text) == set()


@pytest.mark.parametrize("text", [
    "no rekening saya 1234567890123",
    f"no rekening saya {NIK}",  # even a NIK-shaped account number
    f"No KK saya {NIK}",  # a family-card number has the NIK's structure
    f"nomor kartu prakerja saya {NIK}",
    "nomor VA 8808123456789012",
    "saya transfer Rp 12.500.000 kemarin",
    "nomor DANA saya 081234567890",
    "Pada 04/03/2026 19.53 saya daftar",
])
def test_accounts_cards_and_amounts_are_not_claims(text: str) -> None:
    assert claims(text) == set()


@pytest.mark.parametrize("text", [
    "saya sudah telepon ke 021-5551234 tapi tidak diangkat",  # a number the writer called
    "sudah kirim email ke pengaduan@prakerja.go.id",
    "email dari noreply@prakerja.go.id tidak pernah masuk",
    "email saya admin@prakerja.go.id",  # role mailboxes are shared, never a citizen's own
    "silakan hubungi 0812 3456 7890",  # "contact ..." without "me" may be anyone's number
    "nomor call center 0812 3456 7890 tidak aktif",
])
def test_numbers_and_addresses_the_writer_contacted_are_not_claims(text: str) -> None:
    assert claims(text) == set()


def test_passive_contact_and_otp_destination_are_the_writers() -> None:
    assert claims("bisa dihubungi di 0812 3456 7890") == {("phone", "+6281234567890")}
    assert claims("OTP tidak masuk ke nomor saya 0812 3456 7890") == {("phone", "+6281234567890")}


def test_vocatives_and_documents_do_not_count_as_other_people() -> None:
    for text in (f"Bapak/Ibu saya mohon bantuan. NIK: {NIK}", f"Selamat pagi Bu, NIK: {NIK}",
                 f"data kartu keluarga saya tidak cocok. NIK: {NIK}", f"Permisi kak, nik: {NIK}"):
        assert claims(text) == {("nik", NIK)}, text


def test_bare_numbers() -> None:
    assert claims("tolong dicek 081234567890") == set()  # an unlabelled phone is not evidence
    assert claims("budi@gmail.com") == set()  # neither is an unlabelled address
    assert claims(f"mohon dicek {NIK}") == {("nik", NIK)}  # a structurally valid NIK is
    assert claims("mohon dicek 1234567890123456") == set()
    assert claims(f"adik saya belum dapat, {NIK}") == set()


def test_two_numbers_in_one_message_are_judged_separately() -> None:
    text = f"NIK saya {NIK}, nomor ibu saya 0812-3456-7890, WA saya 0838 9212 9077"
    assert claims(text) == {("nik", NIK), ("phone", "+6283892129077")}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_claims_never_crash_and_are_normalised(text: str) -> None:
    for ident in claimed_identifiers(text):
        assert normalize_identifier(ident.kind, ident.value) == ident.value


def test_claims_on_a_megabyte_body() -> None:
    body = ("Halo min, NIK saya 3224 2819 0887 6385. " + "x" * 1000 + "\n") * 900
    assert claims(body) == {("nik", NIK)}


# --- claims: rules added for the hard stream (bench/hard_stream.py) --------------------------------------
@pytest.mark.parametrize(("text", "want"), [
    (f"my NIK is {NIK}", {("nik", NIK)}),
    ("my number 0812-3456-7890", {("phone", "+6281234567890")}),
    ("my phone +62 812 3456 7890", {("phone", "+6281234567890")}),
])
def test_english_possessor_before_the_label(text: str, want: set[tuple[str, str]]) -> None:
    assert claims(text) == want


def test_a_possessed_possessor_before_the_label_is_someone_else() -> None:
    assert claims(f"ibu saya NIK {NIK}") == set()
    assert claims("suami saya hp 0812 3456 7890") == set()


def test_signature_is_the_writers_even_when_the_body_names_a_relative() -> None:
    body = (f"rekening lama sudah tutup. NIK istri sy {NIK} jg ditolak\n\n--\nFauzan Kusuma\n"
            "0877-4611-891")
    assert claims(body) == {("phone", "+628774611891")}
    labelled = ("sertifikat belum keluar, tolong hubungi hp bapak saya aja +62 816 8749 2853\n\n"
                "Regards,\nAldi Sinaga\nTelp/WA: +62 81893691228")
    assert claims(labelled) == {("phone", "+6281893691228")}


def test_a_signature_that_names_someone_else_is_not_the_writers() -> None:
    body = "Mohon dibantu.\n\nSalam,\nBudi (suami)\nHP istri: 0812 3456 7890"
    assert claims(body) == set()


@pytest.mark.parametrize("text", [
    f"NIK: {NIK} sudah dipakai orang lain",
    "Halo, NIK udh DIPAKAI ORANG LAIN??\nTelp/WA 0812 3456 7890",
    "akun saya digunakan orang lain. hp: 0812-3456-7890",
])
def test_used_by_someone_else_is_the_complaint_not_another_person(text: str) -> None:
    got = claims(text)
    assert got and got <= {("nik", NIK), ("phone", "+6281234567890")}


@pytest.mark.parametrize("text", [
    "ini nomor orang lain 081234567890",
    "hp: 081234567890 punya orang lain",
    f"Saya daftarkan orang lain. NIK: {NIK}",
])
def test_another_persons_number_is_still_not_a_claim(text: str) -> None:
    assert claims(text) == set()
