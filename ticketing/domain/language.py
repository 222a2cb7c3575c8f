"""The language a citizen writes in, for routing to agents who read it.

Two languages are routed: Bahasa Indonesia (``id``) and English (``en``).  Regional languages
(Javanese, Sundanese, Minang, Betawi slang ...) are recognized only to be routed as Indonesian:
agents of this desk answer them in Indonesian.  The guess scores function words and affixes —
short, informal, typo-ridden complaints have few content words but always some of these — and
falls back to Indonesian when the text says too little (a greeting, a number).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

INDONESIAN = "id"
ENGLISH = "en"
ROUTED = (INDONESIAN, ENGLISH)

_WORD = re.compile(r"[a-z]+")

_EN = frozenset("""
the a an is are was were be been am do does did not no yes i my me you your we our they their it
its this that these those what when where why how which who can could would should will have has
had please help hello hi thanks thank received receive still yet already since from with for to
of in on at by about after before again but and or if so because account money payment training
certificate code sent send email phone number login password reset verify verification bank
transfer registered register applied apply wave waiting wait days week weeks month dear sir madam
regards kindly issue problem cannot can't didn't don't haven't isn't wasn't won't there here
""".split())

_ID = frozenset("""
yang dan di ke dari ini itu saya aku kami kita anda kamu dia mereka tidak tak nggak enggak gak ga
belum sudah udah telah sedang masih akan bisa dapat harus mau ingin tolong mohon minta bantu
bantuannya kenapa mengapa bagaimana gimana kapan dimana apa apakah berapa siapa karena kalau jika
untuk dengan pada oleh atau tetapi tapi juga lagi sama sampai hingga setelah sebelum sejak sekarang
kemarin hari minggu bulan terima kasih makasih selamat pagi siang sore malam kak min admin pak bu
mas mbak ya yah dong deh sih kok nih tuh aja saja hanya sangat sekali banget sudahkah masuk keluar
nomor akun uang dana insentif pelatihan sertifikat kode sandi kata daftar gelombang rekening
""".split())

# Regional words that are not also Indonesian: a text full of them is regional, routed as ``id``.
_REGIONAL = {
    "jv": frozenset("""
        kulo kula aku ora mboten durung dereng wis sampun piye pripun opo napa niki iki kuwi
        nggih inggih matur nuwun sanget kok wes lho njenengan panjenengan sampeyan kowe awakmu
        dhateng teko tekan karo kalih tulung nyuwun ngapunten bade arep pengen mergo amargi
        """.split()),
    "su": frozenset("""
        abdi urang teu henteu acan atos parantos naon kumaha iraha dimana hatur nuhun pisan
        atuh mah teh wae oge nya punten mangga sareng kanggo tos bade hoyong ieu eta kunaon
        """.split()),
}

_ID_PREFIXES = ("meng", "meny", "mem", "men", "me", "ber", "ter", "di", "per", "ke", "se", "pe")
_ID_SUFFIXES = ("kan", "nya", "lah", "kah", "an", "i")
_EN_SUFFIXES = ("ing", "ed", "tion", "ly", "ment", "ness", "'s")


@dataclass(frozen=True, slots=True, kw_only=True)
class LanguageGuess:
    code: str  # what routing uses: "id" or "en"
    regional: str | None  # "jv", "su" when the text is in a regional language routed as "id"
    confidence: float  # 0..1, the winner's share of the evidence


def _affix_score(word: str) -> tuple[float, float]:
    """Weak evidence from the shape of a word that is in neither list."""
    ident = eng = 0.0
    if len(word) >= 6:
        if word.startswith(_ID_PREFIXES) and word.endswith(_ID_SUFFIXES):
            ident += 0.5
        elif word.endswith(("kan", "nya")):
            ident += 0.5
        if word.endswith(_EN_SUFFIXES[:4]) and not word.endswith(("kan", "an")):
            eng += 0.3
    return ident, eng


def detect_language(text: str) -> LanguageGuess:
    """``id`` unless the text is clearly English; regional languages are reported and routed
    as ``id``."""
    words = _WORD.findall(text.lower())
    ident = eng = 0.0
    regional = {name: 0 for name in _REGIONAL}
    for word in words:
        in_id, in_en = word in _ID, word in _EN
        if in_id:
            ident += 1.0
        if in_en:
            eng += 1.0
        for name, vocabulary in _REGIONAL.items():
            if word in vocabulary and not in_en:
                regional[name] += 1
        if not in_id and not in_en:
            a, b = _affix_score(word)
            ident, eng = ident + a, eng + b
    best_regional = max(regional, key=lambda k: regional[k])
    regional_hits = regional[best_regional]
    local = ident + regional_hits
    total = local + eng
    if total == 0:
        return LanguageGuess(code=INDONESIAN, regional=None, confidence=0.0)
    if eng > local * 1.5 and eng >= 2:
        return LanguageGuess(code=ENGLISH, regional=None, confidence=round(eng / total, 2))
    tag = best_regional if regional_hits >= 2 and regional_hits >= ident * 0.5 else None
    return LanguageGuess(code=INDONESIAN, regional=tag, confidence=round(local / total, 2))
