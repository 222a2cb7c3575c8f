"""Topic classification with the shipped config/topics.toml."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from ticketing.domain.topics import TopicClassifier, TopicMatch

CONFIG = Path(__file__).resolve().parents[2] / "config" / "topics.toml"


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    with CONFIG.open("rb") as fh:
        return tomllib.load(fh)


@pytest.fixture(scope="module")
def clf(config: dict[str, Any]) -> TopicClassifier:
    return TopicClassifier.from_config(config)


def test_topics_listed(clf: TopicClassifier) -> None:
    assert set(clf.topics) == {"insentif", "otp", "nik", "akun", "pelatihan", "rekening", "gelombang",
                               "lainnya"}


@pytest.mark.parametrize(("text", "topic"), [
    ("Insentif saya belum cair padahal pelatihan sudah selesai sejak 10 hari yang lalu", "insentif"),
    ("dana insentif tahap 2 sebesar Rp600.000 belum masuk ke rekening BNI saya", "insentif"),
    ("sudah 3 hari menunggu pencairan insentif tapi saldo LinkAja masih kosong", "insentif"),
    ("saya sudah selesai pelatihan tapi dana belum cair sama sekali", "insentif"),
    ("kode OTP tidak masuk ke HP saya, sudah coba kirim ulang", "otp"),
    ("sms kode verifikasi tidak diterima, padahal sinyal bagus", "otp"),
    ("gagal verifikasi KTP, foto sudah jelas tapi selalu ditolak", "nik"),
    ("data NIK saya tidak cocok dengan dukcapil", "nik"),
    ("muncul pesan NIK sudah terdaftar, padahal saya belum pernah daftar", "nik"),
    ("saya tidak bisa login ke akun, selalu muncul password salah", "akun"),
    ("akun saya terblokir setelah salah memasukkan kata sandi", "akun"),
    ("tidak bisa masuk ke dashboard, halaman hanya loading terus", "akun"),
    ("sertifikat pelatihan Excel belum muncul padahal sudah lulus", "pelatihan"),
    ("kode redeem pelatihan Barista dinyatakan tidak valid oleh lembaga", "pelatihan"),
    ("voucher pelatihan sudah terpakai tapi kelas Menjahit tidak bisa diakses", "pelatihan"),
    ("akun GoPay saya belum terhubung, selalu gagal saat verifikasi", "rekening"),
    ("ingin ganti tujuan pencairan dari DANA ke rekening bank", "rekening"),
    ("saya salah input nomor OVO, bagaimana cara menggantinya?", "rekening"),
    ("mau ganti nomor rekening", "rekening"),
    ("status saya di gelombang 42 masih menunggu, kapan pengumuman?", "gelombang"),
    ("saya tidak lolos seleksi gelombang 7 padahal memenuhi syarat", "gelombang"),
    ("hasil seleksi kapan keluar", "gelombang"),
])
def test_topic_phrasings(clf: TopicClassifier, text: str, topic: str) -> None:
    match = clf.classify(text)
    assert match.topic == topic, match
    assert match.evidence  # the audit trail names what matched
    assert 0.0 < match.score <= 1.0


@pytest.mark.parametrize(("text", "topic"), [
    ("insentip sy blm cair", "insentif"),
    ("intensif blm masuk2", "insentif"),
    ("kapan pendaftaarn gelombang dibuka", "gelombang"),
    ("lupa pasword dan emial reset gak dtg", "akun"),
    ("sertifkat pelatian blm muncul", "pelatihan"),
    ("kode verifikasinya ga dikirim", "otp"),
    ("akun ShopePay blm terhubnug", "rekening"),
    ("NIK sy gk cocok dgn dukcapl", "nik"),
])
def test_typos_and_slang(clf: TopicClassifier, text: str, topic: str) -> None:
    assert clf.classify(text).topic == topic


def test_a_typo_of_a_common_word_is_not_pulled_to_a_topic_word(clf: TopicClassifier) -> None:
    # "seleai" is one edit from "selesai" (common) and two from "seleksi" (gelombang)
    assert clf.classify("pelatihan sudah seleai tapi sertifikat belum ada").topic == "pelatihan"


@pytest.mark.parametrize("text", [
    "saya tidak bisa login. NIK saya 3224 2819 0887 6385",
    "tidak bisa login, No KTP saya: 3224281908876385",
    "Penelepon: saya tidak bisa login\nNIK: 32.24.28.190887.6385",
    "lupa password. nik sy 3224281908876385. email saya budi@gmail.com",
])
def test_nik_given_as_evidence_is_not_a_nik_complaint(clf: TopicClassifier, text: str) -> None:
    assert clf.classify(text).topic == "akun"


@pytest.mark.parametrize("text", [
    "NIK saya 3224 2819 0887 6385 tidak valid katanya",
    "NIK 3224281908876385 dinyatakan sudah terdaftar padahal belum pernah daftar",
])
def test_identifier_as_the_subject_keeps_its_label(clf: TopicClassifier, text: str) -> None:
    assert clf.classify(text).topic == "nik"


def test_nik_complaint_with_evidence_stays_nik(clf: TopicClassifier) -> None:
    text = "NIK saya dinyatakan tidak valid saat pendaftaran padahal KTP asli. NIK saya 3224281908876385"
    assert clf.classify(text).topic == "nik"


@pytest.mark.parametrize("text", [
    "", "🙏🙏", "Gimana min? masih belum juga.", "Apakah sudah ada perkembangan?",
    "Mohon dicek lagi ya.", "Saya lampirkan tangkapan layar.", "Sudah 17 hari belum ada kabar.",
    "terima kasih min", "NIK saya 3224 2819 0887 6385", "WA saya 0812-3456-7890",
    "masih belum masuk juga min",
])
def test_follow_ups_fall_back_with_a_low_score(clf: TopicClassifier, text: str) -> None:
    match = clf.classify(text)
    assert match.topic == "lainnya"
    assert match.score < 0.5


def test_edge_inputs_do_not_crash(clf: TopicClassifier) -> None:
    assert clf.classify("ＯＴＰ 不 工作 لا يعمل ничего").topic == "otp"
    big = "insentif belum cair " + "x " * 500_000
    assert clf.classify(big).topic == "insentif"
    assert isinstance(clf.classify("😀" * 100_000), TopicMatch)


def test_classify_is_fast(clf: TopicClassifier) -> None:
    text = ("Selamat siang admin, Sekali lagi saya sampaikan, sudah 39 hari menunggu pencairan "
            "insentif tapi saldo rekening BNI masih kosong. Mohon info lebih lanjut. No KTP saya "
            "613836 5012855280. Terima kasih banyak min 🙏 ditunggu kabarnya secepatnya ya kak. "
            "Pelatihan Menjahit sudah selesai sejak bulan lalu.")
    clf.classify(text)  # warm the typo cache
    runs = 200
    per_call = 1.0
    for _ in range(5):  # best of five: the machine is shared, the bound is about the code
        start = time.perf_counter()
        for _ in range(runs):
            clf.classify(text)
        per_call = min(per_call, (time.perf_counter() - start) / runs)
    assert per_call < 2e-3  # about 0.5 ms on an idle core; shared CI machines run 2-3x slower


def _broken(config: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in config.items()}
    data.update(changes)
    return data


@pytest.mark.parametrize("mutate", [
    lambda c: _broken(c, fallback={}),
    lambda c: _broken(c, topics={}),
    lambda c: _broken(c, topics={"otp": {"keywords": {"otp": 4}}}),  # no label
    lambda c: _broken(c, topics={"otp": {"label": "OTP"}}),  # no terms
    lambda c: _broken(c, topics={"otp": {"label": "OTP", "keywords": {"otp": -1}}}),
    lambda c: _broken(c, topics={"otp": {"label": "OTP", "keywords": {"otp": "high"}}}),
    lambda c: _broken(c, topics={"otp": {"label": "OTP", "keywords": {"!!": 1}}}),
    lambda c: _broken(c, topics={"lainnya": {"label": "x", "keywords": {"x": 1}}}),
    lambda c: _broken(c, classifier={"min_score": 0}),
    lambda c: _broken(c, slang={"x": 1}),
    lambda c: _broken(c, evidence={"labels": "nik"}),
])
def test_invalid_config_is_a_clear_value_error(config: dict[str, Any], mutate: Any) -> None:
    with pytest.raises(ValueError, match="invalid topics config"):
        TopicClassifier.from_config(mutate(config))


# --- rules added for the hard stream (bench/hard_stream.py) ----------------------------------------------
@pytest.mark.parametrize(("text", "topic"), [
    ("did not pass the selection again why?", "gelombang"),
    ("the incentive hasn't been disbursed yet pls check", "insentif"),
    ("OTP not received, sudah resend berkali2", "otp"),
    ("change bank account please, rekening lama sudah tutup", "rekening"),
    ("certificate belum terbit padahal course udah selesai", "pelatihan"),
    ("insentif ku durung cair min, wis 3 minggu", "insentif"),
    ("kode otp ora mlebu min", "otp"),
    ("akun sy keblokir stlh salah pw 3x", "akun"),
])
def test_english_and_regional_phrasings(clf: TopicClassifier, text: str, topic: str) -> None:
    assert clf.classify(text).topic == topic


@pytest.mark.parametrize(("text", "topic"), [
    ("the incetnive hasn't been disbursed", "insentif"),  # typo of the slang spelling "incentive"
    ("SERTFI KU DURUNG METU", "pelatihan"),  # typo of "sertif"
    ("certifcate blom terbit", "pelatihan"),
    ("kapan sih inssentifnya ditransfer", "insentif"),  # typo plus clitic
])
def test_typos_of_slang_spellings_and_clitics(clf: TopicClassifier, text: str, topic: str) -> None:
    assert clf.classify(text).topic == topic


def test_a_label_is_taken_only_by_an_identifier_of_its_kind(clf: TopicClassifier) -> None:
    # the phone number at the end does not carry the word NIK away with it
    assert clf.classify("muncul tulisan NIK tidak valid 62 818 85444231").topic == "nik"


@pytest.mark.parametrize("text", [
    "gmn kak?? NIK saya 3224281908876385 no hp 0812 3456 7890",
    "gimana kelanjutannya NIK sy : 3224.2819.0887.6385 hp aku (+62) 811 5487 0562",
    "udah 3 hari nih data: NIK 3224 2819 0887 6385 hpku 62 851 84738738",
    "masih belum ada kabar, ktp saya 3224281908876385 ya min",
])
def test_an_identifier_followed_by_another_or_a_closing_ends_its_clause(
        clf: TopicClassifier, text: str) -> None:
    assert clf.classify(text).topic == clf.fallback


def test_an_identifier_in_mid_clause_still_keeps_its_label(clf: TopicClassifier) -> None:
    assert clf.classify("NIK saya 3224281908876385 tidak valid katanya").topic == "nik"


def test_account_number_given_as_data_takes_its_label(clf: TopicClassifier) -> None:
    text = "saldo DANA masih 0 insentifnya kemana ya thx rekening BRI sy 3422052403821746"
    assert clf.classify(text).topic == "insentif"
    # ... but an account that is the object of the complaint keeps it
    assert clf.classify("mau ganti no rekening ke 1234567890").topic == "rekening"
