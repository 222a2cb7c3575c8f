"""Language detection for routing: Indonesian (with regional languages) versus English."""

from __future__ import annotations

import pytest

from ticketing.domain.language import detect_language

INDONESIAN = [
    "OTP tidak masuk, sudah saya coba kirim ulang 3 kali tetap tidak ada",
    "min dana insentif saya belum cair padahal sudah selesai pelatihan sebulan lalu",
    "Selamat siang, saya mau tanya kenapa akun saya terblokir ya kak?",
    "gmn cara ganti nomor hp yg terdaftar di prakerja, nomor lama udah hilang",
    "Mohon bantuannya, sertifikat pelatihan belum muncul di dashboard",
    "kak tolong dicek dong, rekening BRI saya gagal dihubungkan terus",
]
ENGLISH = [
    "Hello, I have not received the OTP code on my phone number, please help",
    "My incentive payment has still not been transferred to my bank account after the training",
    "I cannot login to my account, the password reset email never arrives",
    "Dear sir, I applied for wave 60 but I have not received any announcement yet. Kindly help",
]
JAVANESE = [
    "Nyuwun sewu, kulo durung nampi kode OTP, pripun niki?",
    "aku wis daftar tapi insentif e durung mlebu, piye iki mas",
]
SUNDANESE = [
    "Punten, abdi teu acan nampi kode OTP, kumaha atuh?",
    "hatur nuhun, tapi insentif abdi teu acan asup wae",
]


@pytest.mark.parametrize("text", INDONESIAN)
def test_informal_indonesian_is_id(text: str) -> None:
    guess = detect_language(text)
    assert guess.code == "id" and guess.regional is None


@pytest.mark.parametrize("text", ENGLISH)
def test_english_is_en(text: str) -> None:
    assert detect_language(text).code == "en"


@pytest.mark.parametrize("text", JAVANESE)
def test_javanese_is_routed_as_indonesian(text: str) -> None:
    assert detect_language(text).code == "id"
    assert detect_language(text).regional == "jv"


@pytest.mark.parametrize("text", SUNDANESE)
def test_sundanese_is_routed_as_indonesian(text: str) -> None:
    assert detect_language(text).code == "id"
    assert detect_language(text).regional == "su"


@pytest.mark.parametrize("text", ["", "3224281908876385", "🙏🙏", "OTP", "ok"])
def test_text_that_says_too_little_falls_back_to_indonesian(text: str) -> None:
    assert detect_language(text).code == "id"


def test_english_words_inside_indonesian_do_not_make_it_english() -> None:
    text = "saya sudah login tapi dashboard error terus, password sudah di reset juga"
    assert detect_language(text).code == "id"
