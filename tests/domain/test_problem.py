"""Topics from what went wrong, not from the context it happened in (issue 16), in standard,
regional and abbreviated Indonesian and in English; candidate topics; follow-up markers."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from ticketing.domain.problem import ProblemVocab
from ticketing.domain.topics import TopicClassifier

CONFIG = Path(__file__).resolve().parents[2] / "config" / "topics.toml"


@pytest.fixture(scope="module")
def clf() -> TopicClassifier:
    with CONFIG.open("rb") as fh:
        return TopicClassifier.from_config(tomllib.load(fh))


@pytest.fixture(scope="module")
def bare() -> TopicClassifier:
    """The same vocabulary without the [problem] table: every word counts the same."""
    with CONFIG.open("rb") as fh:
        data = tomllib.load(fh)
    data.pop("problem")
    return TopicClassifier.from_config(data)


# (text, the problem's topic, the context's topic)
CONTEXT_CASES = [
    ("pas daftar gelombang 12 kemarin, NIK saya ditolak terus", "nik", "gelombang"),
    ("Gelombang 33: nik sy dinyatakan tdk ditemukan di dukcapil", "nik", "gelombang"),
    ("during registration for wave 12 my NIK was rejected", "nik", "gelombang"),
    ("sejak ganti nomor HP saya tidak bisa login sama sekali", "akun", "otp"),
    ("waktu pencairan insentif tahap 2, rekening BRI saya ditolak karena nama beda", "rekening",
     "insentif"),
    ("nomor rekening saya salah input waktu daftar gelombang 20", "rekening", "gelombang"),
    ("setelah insentif cair saya mau beli pelatihan lagi tapi voucher ditolak", "pelatihan",
     "insentif"),
    ("when I joined wave 40 the login page keeps saying password wrong", "akun", "gelombang"),
]


@pytest.mark.parametrize(("text", "problem", "context"), CONTEXT_CASES)
def test_the_problem_wins_over_its_context(clf: TopicClassifier, text: str, problem: str,
                                           context: str) -> None:
    match = clf.classify(text)
    assert match.topic == problem, match
    assert match.candidates[0][0] == problem
    # The context topic is still recorded, with a lower score.
    scores = dict(match.candidates)
    assert context in scores and scores[context] < scores[problem], match


def test_without_roles_the_context_would_win(bare: TopicClassifier) -> None:
    # The cases above are not easy: counting every word the same files some under the context.
    wrong = [t for t, problem, _ in CONTEXT_CASES if bare.classify(t).topic != problem]
    assert len(wrong) >= 3, wrong


@pytest.mark.parametrize(("text", "topic"), [
    # English
    ("I didn't receive the OTP code when I tried to log in", "otp"),
    ("my incentive has not been disbursed even though I finished the training", "insentif"),
    ("certificate not issued after I passed the post test", "pelatihan"),
    ("I can't link my GoPay account, it keeps failing", "rekening"),
    ("I was not selected in batch 30 although I meet the requirements", "gelombang"),
    ("cannot log in, my account is locked", "akun"),
    # Javanese, Sundanese, Betawi, abbreviations
    ("NIK kulo mboten ditemukan pas daftar", "nik"),
    ("kode otp teu asup ka hp abdi", "otp"),
    ("duit insentif aye kagak cair cair nih", "insentif"),
    ("akun gw kekunci gara2 salah pw", "akun"),
    ("ktp sy ditolak trs pdhl udh foto ulang", "nik"),
    ("sertif pelatihan durung metu, wis lulus kok", "pelatihan"),
    ("otp ora mlebu2 pdhl sinyal apik", "otp"),
    ("rek BRI kulo ditolak pas pencairan", "rekening"),
])
def test_english_and_regional_phrasings(clf: TopicClassifier, text: str, topic: str) -> None:
    assert clf.classify(text).topic == topic


def test_a_single_topic_has_one_candidate(clf: TopicClassifier) -> None:
    match = clf.classify("kode OTP tidak masuk ke HP saya")
    assert match.candidates == (("otp", match.score),)
    assert clf.classify("gimana min, masih belum ada kabar?").candidates == ()


@pytest.mark.parametrize(("text", "marker"), [
    ("Saya ulangi lagi ya min, kode otp tidak masuk", "saya ulangi"),
    ("Menyambung pesan saya kemarin, NIK ditolak", "menyambung"),
    ("Belum ada jawaban untuk keluhan saya", "belum ada jawaban"),
    ("Same as my email yesterday: the OTP never arrives", "same as"),
    ("wis lapor kemarin tapi durung dibales", "sudah lapor"),
    ("Ini keluhan yang sama dengan yang saya sampaikan lewat telepon", "keluhan yang sama"),
])
def test_follow_up_markers(clf: TopicClassifier, text: str, marker: str) -> None:
    # The marker as matched, in normalised words ("wis" is "sudah").
    assert clf.classify(text).follow_up == marker


def test_no_follow_up_marker_in_a_first_complaint(clf: TopicClassifier) -> None:
    assert clf.classify("kode OTP tidak masuk ke HP saya").follow_up == ""


def test_problem_config_is_checked() -> None:
    with pytest.raises(ValueError, match="problem.predicates"):
        ProblemVocab.from_config({"predicates": "gagal"})
    with pytest.raises(ValueError, match="problem.context_factor"):
        ProblemVocab.from_config({"context_factor": 0})
    assert ProblemVocab.from_config(None).factors(["otp"], [0], [(0, 1)]) == [1.0]
