"""Near-duplicate text between different citizens (a mass incident such as "OTP tidak masuk")
and weak identity signals (similar names).

MinHash over word shingles gives a few band keys per complaint; complaints sharing a band key are
candidates, compared exactly with rapidfuzz.  Band keys are stored indexed, so finding the
candidates of a new ticket is a lookup, never a scan.  None of this ever links two customers or
merges tickets: it only relates them, for a human to see.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Final

from rapidfuzz import fuzz

from ticketing.domain.text import normalize_for_matching

BANDS: Final = 4
ROWS: Final = 1
_PRIME: Final = (1 << 61) - 1
# Fixed (a, b) pairs of the universal hash family: signatures stay comparable across processes.
_PERMS: Final = [(((i + 1) * 0x9E3779B97F4A7C15) % _PRIME | 1, (i * 0xBF58476D1CE4E5B9) % _PRIME)
                 for i in range(BANDS * ROWS)]
_DIGITS: Final = re.compile(r"\d")
# Greetings, pronouns and particles say nothing about the complaint.
_STOP: Final = frozenset("""
selamat pagi siang sore malam halo hai hallo admin min kak kakak pak bu bapak ibu mas mbak gan
saya aku kami kita anda dia ya yah ini itu yang dan atau di ke dari untuk dengan pada sudah
sejak masih juga lagi nya tolong mohon bantu dibantu bantuannya terima kasih makasih thanks
please info infonya segera diproses apa bagaimana gimana kenapa kapan sih dong deh nih tuh
kok kah lah pun jadi karena tapi padahal agar supaya bisa the to my is and of
""".split())
_TITLES: Final = frozenset({"bapak", "bpk", "pak", "ibu", "bu", "kak", "sdr", "sdri", "mas",
                            "mbak", "bang", "dr", "ir", "hj", "h"})


def _h64(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "big")


def complaint_tokens(text: str) -> list[str]:
    """Words that describe the complaint: normalized, without numbers (identifiers differ
    between citizens and must not make complaints look different or alike)."""
    return [w for w in normalize_for_matching(text).split()
            if not _DIGITS.search(w) and w not in _STOP]


def fingerprint(text: str) -> str:
    """The complaint words of a text, as stored on a ticket for look-alike scoring."""
    return " ".join(complaint_tokens(text))[:300]


def band_keys(text: str) -> list[int]:
    """``BANDS`` signed 64-bit keys (one MinHash each) over the complaint words; two texts with
    Jaccard similarity s share at least one key with probability 1 - (1 - s)^BANDS (0.94 at
    s = 0.5).  Loose on purpose: candidates are then scored exactly."""
    words = complaint_tokens(text)[:200]
    shingles = set(words)
    if not shingles:
        return []
    hashed = [_h64(s) for s in shingles]
    mins = [min((a * x + b) % _PRIME for x in hashed) for a, b in _PERMS]
    keys = []
    for band in range(BANDS):
        part = "|".join(str(v) for v in mins[band * ROWS:(band + 1) * ROWS])
        keys.append(int.from_bytes(hashlib.blake2b(f"{band}:{part}".encode(), digest_size=8)
                                   .digest(), "big", signed=True))
    return keys


def cluster_key(cluster: str) -> int:
    """The signed 64-bit band key of a channel's cluster (``InboundMessage.cluster``): stored
    beside the MinHash keys, so the same indexed look-up finds the cluster's earlier tickets."""
    return int.from_bytes(hashlib.blake2b(f"cluster:{cluster}".encode(), digest_size=8)
                          .digest(), "big", signed=True)


def text_similarity(a: str, b: str) -> float:
    """0..1, order-insensitive, on the complaint words only."""
    return float(fuzz.token_set_ratio(" ".join(complaint_tokens(a)),
                                      " ".join(complaint_tokens(b)))) / 100.0


def name_key(name: str | None) -> str | None:
    """A name folded for lookup: no accents, no titles, words sorted ("Ibu Siti  Aminah" and
    "aminah siti" meet).  Only a weak signal: many citizens share a name."""
    if not name:
        return None
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = sorted(w for w in re.findall(r"[a-z]+", folded) if w not in _TITLES and len(w) > 1)
    return " ".join(words)[:120] or None


def name_similarity(a: str, b: str) -> float:
    return float(fuzz.token_sort_ratio(a, b)) / 100.0
