"""Citizen text extraction and the normalisation used for matching.

Owns three pure transformations of a message body:

* ``transcript_turns`` / ``citizen_text``: which words the citizen actually wrote or said.  Agent
  turns of a call transcript and the quoted history of an email reply are not the citizen's new
  words: classifying them would re-open old topics and mining them for identifiers would pick up
  numbers that belong to someone else (the agent, a previous correspondent).
* ``normalize_for_matching``: lower-case, punctuation-free, slang-expanded text for keyword matching.

Nothing here touches files, the clock, the environment or the database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Role(StrEnum):
    AGENT = "agent"
    CALLER = "caller"


@dataclass(frozen=True, slots=True, kw_only=True)
class Turn:
    role: Role
    text: str


# Speaker labels seen in our call-centre exports (Indonesian and English).  Labels are matched at the
# start of a line, after an optional timestamp, so a citizen writing "CS: tidak membalas" in the
# middle of a chat message is not mistaken for a transcript.
_AGENT_LABELS: Final = ("agen", "agent", "petugas", "cs", "operator", "admin", "officer")
_CALLER_LABELS: Final = ("penelepon", "penelpon", "pelapor", "caller", "customer", "pelanggan",
                         "nasabah", "peserta", "warga")
_TIMESTAMP = r"(?:[\[(]?\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?[\])]?\s*(?:-->\s*\S+\s*)?)?"
_TURN_RE: Final = re.compile(
    rf"^\s*{_TIMESTAMP}(?P<label>{'|'.join(_AGENT_LABELS + _CALLER_LABELS)})\s*(?:\d\s*)?:\s?(?P<rest>.*)$",
    re.IGNORECASE,
)
_BARE_TIMESTAMP_RE: Final = re.compile(rf"^\s*{_TIMESTAMP}$")


def transcript_turns(body: str) -> list[Turn] | None:
    """Split a plain-text call transcript into turns, or None when the body is not a transcript.

    A body is a transcript when it has a caller turn and at least two lines carry a speaker label, or
    its first non-empty line does.  Unlabelled lines continue the previous turn (wrapped speech).
    """
    lines = body.splitlines()
    labelled = 0
    first_is_labelled: bool | None = None
    has_caller = False
    for line in lines:
        if not line.strip():
            continue
        match = _TURN_RE.match(line)
        if first_is_labelled is None:
            first_is_labelled = match is not None
        if match:
            labelled += 1
            has_caller = has_caller or match["label"].lower() in _CALLER_LABELS
        if labelled >= 2 and has_caller:
            break
    # A citizen who opens with "Admin: tolong ..." is not a transcript of agent speech: a transcript
    # needs a caller turn.
    if not has_caller or (labelled < 2 and not first_is_labelled):
        return None
    parts: list[tuple[Role, list[str]]] = []  # pieces joined once at the end: linear on 1 MB
    for line in lines:
        match = _TURN_RE.match(line)
        if match:
            role = Role.AGENT if match["label"].lower() in _AGENT_LABELS else Role.CALLER
            parts.append((role, [match["rest"].strip()]))
        elif line.strip() and not _BARE_TIMESTAMP_RE.match(line) and parts:
            parts[-1][1].append(line.strip())
    return [Turn(role=role, text=" ".join(p for p in pieces if p)) for role, pieces in parts]


# Quoted-history markers.  Each pattern marks the first line of the quoted block; everything from
# there on is history.  Gmail (id): "Pada <tanggal> <nama> <email> menulis:" where the web client
# may wrap "menulis:" onto the next line, so the check looks ahead one or two lines.
_QUOTE_HEADER_RES: Final = (
    re.compile(r"^\s*-{2,}\s*(original message|pesan asli|forwarded message|pesan terusan)\s*-{2,}",
               re.IGNORECASE),
    re.compile(r"^\s*_{8,}\s*$"),  # Outlook's rule above its "Dari:/From:" block
)
_ATTRIBUTION_START_RE: Final = re.compile(r"^\s*(pada|on|le|am)\b", re.IGNORECASE)
_ATTRIBUTION_END_RE: Final = re.compile(r"(menulis|wrote|a écrit|schrieb)\s*:\s*$", re.IGNORECASE)
_OUTLOOK_FROM_RE: Final = re.compile(r"^\s*\*?(dari|from)\s*:\*?\s*\S", re.IGNORECASE)
_OUTLOOK_NEXT_RE: Final = re.compile(
    r"^\s*\*?(dikirim|sent|tanggal|date|kepada|to|cc|subjek|subject|perihal|hal)\s*:",
    re.IGNORECASE,
)


def _quote_start(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if any(rx.match(line) for rx in _QUOTE_HEADER_RES):
            return i
        if _ATTRIBUTION_START_RE.match(line):
            # The attribution sits on at most three wrapped lines and ends with "menulis:".
            if any(_ATTRIBUTION_END_RE.search(nxt) for nxt in lines[i:i + 3]):
                return i
        elif _ATTRIBUTION_END_RE.search(line) and ("@" in line or re.search(r"\d", line)):
            # An attribution without a recognisable opening word ("Budi <b@x.id> menulis:").
            return i
        if _OUTLOOK_FROM_RE.match(line):
            following = lines[i + 1:i + 5]
            if sum(1 for nxt in following if _OUTLOOK_NEXT_RE.match(nxt)) >= 2:
                return i
    return None


def strip_quoted(body: str) -> str:
    """The body without quoted email history; signatures are kept (they carry phone evidence)."""
    lines = body.splitlines()
    cut = _quote_start(lines)
    if cut is not None:
        lines = lines[:cut]
    kept = [line for line in lines if not line.lstrip().startswith(">")]
    return "\n".join(kept).strip()


def citizen_text(body: str) -> str:
    """Only the citizen's own words: caller turns of a transcript, or the un-quoted part of a mail."""
    turns = transcript_turns(body)
    if turns is not None:
        return "\n".join(t.text for t in turns if t.role is Role.CALLER and t.text)
    return strip_quoted(body)


# Signatures carry the writer's own contact details (phone evidence), so they are kept and located.
_SIGNATURE_DELIM_RE: Final = re.compile(r"^\s*(--+|—+|_{2,}|~~+)\s*$")
_NAME_LINE_RE: Final = re.compile(r"^(?:[A-Z][a-zA-Z'.]*)(?: [A-Z][a-zA-Z'.]*){0,3},?$")
_CONTACT_LINE_RE: Final = re.compile(
    r"^(?:[A-Za-z/. ]{0,20}:?\s*)?(?:\(?\+?[\d][\d ().\-]{7,22}\d|[\w.+%-]+@[\w-]+(?:\.[\w-]+)+)$")
_SENT_FROM_RE: Final = re.compile(r"^(dikirim dari|sent from)\b", re.IGNORECASE)
_CLOSING_RE: Final = re.compile(
    r"^\s*(salam|hormat saya|hormat kami|regards|best regards|wassalam|terima ?kasih|tabik|thanks|"
    r"ttd|salam hangat)\b", re.IGNORECASE)


def signature_start(text: str) -> int:
    """Offset where the signature block starts (``len(text)`` when there is none).

    A block after a "--" line, after a closing ("Salam,", "Hormat saya,"), or a trailing name line
    ("Budi Santoso") followed only by contact lines.
    """
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    tail = range(len(lines) - 1, max(-1, len(lines) - 7), -1)
    for i in range(len(lines) - 1, -1, -1):
        if _SIGNATURE_DELIM_RE.match(lines[i]):
            return offsets[i + 1] if len(lines) - i <= 7 else len(text)
    for i in tail:
        if _CLOSING_RE.match(lines[i]) and len(lines[i].strip()) <= 30:
            return offsets[i + 1]
    seen_contact = False
    for i in tail:
        stripped = lines[i].strip()
        if not stripped or _SENT_FROM_RE.match(stripped):
            continue
        if _CONTACT_LINE_RE.match(stripped):
            seen_contact = True
            continue
        return offsets[i] if seen_contact and _NAME_LINE_RE.match(stripped) else len(text)
    return len(text)


# Informal Indonesian → standard forms.  Kept in code (not config) because identity parsing needs
# the pronoun/negation expansions too and the domain may not read files; topic-specific slang lives
# in config/topics.toml.
SLANG: Final[dict[str, str]] = {
    # negation
    "gk": "tidak", "ga": "tidak", "gak": "tidak", "nggak": "tidak", "ngga": "tidak", "enggak": "tidak",
    "engga": "tidak", "tdk": "tidak", "tak": "tidak", "g": "tidak", "kagak": "tidak", "ndak": "tidak",
    "gx": "tidak", "tdak": "tidak", "tida": "tidak",
    "blm": "belum", "blum": "belum", "belom": "belum", "blom": "belum", "lom": "belum", "beulm": "belum",
    "sdh": "sudah", "udh": "sudah", "udah": "sudah", "dah": "sudah", "sudh": "sudah", "sdah": "sudah",
    "uda": "sudah",
    # pronouns
    "sy": "saya", "aku": "saya", "aq": "saya", "gw": "saya", "gue": "saya", "gua": "saya",
    "ane": "saya", "sya": "saya",
    # function words
    "yg": "yang", "dgn": "dengan", "dg": "dengan", "krn": "karena", "karna": "karena", "krna": "karena",
    "tp": "tapi", "tpi": "tapi", "pdhl": "padahal", "pdahal": "padahal", "bgmn": "bagaimana",
    "gmn": "bagaimana", "gimana": "bagaimana", "gmana": "bagaimana", "bgm": "bagaimana",
    "utk": "untuk", "untk": "untuk", "buat": "untuk", "jd": "jadi", "jdi": "jadi", "sm": "sama",
    "sama2": "sama", "sj": "saja", "aja": "saja", "aj": "saja", "lg": "lagi", "lgi": "lagi",
    "bs": "bisa", "bsa": "bisa", "bisa2": "bisa", "dr": "dari", "dri": "dari", "kpn": "kapan",
    "knp": "kenapa", "napa": "kenapa", "kenapa2": "kenapa", "hrs": "harus", "msh": "masih",
    "masi": "masih", "mash": "masih", "sdg": "sedang", "lgsg": "langsung", "trs": "terus",
    "trus": "terus", "teurs": "terus", "tlg": "tolong", "tolg": "tolong", "mhn": "mohon",
    "bln": "bulan", "hr": "hari", "mgg": "minggu", "thn": "tahun", "skrg": "sekarang",
    "skrng": "sekarang", "skg": "sekarang", "sampe": "sampai", "ampe": "sampai", "smp": "sampai",
    "tx": "terima kasih", "trims": "terima kasih", "makasih": "terima kasih", "mksh": "terima kasih",
    "trmksh": "terima kasih", "tks": "terima kasih", "thx": "terima kasih",
    "dpt": "dapat", "dapet": "dapat", "ngk": "tidak", "nda": "tidak", "ad": "ada",
    "kalo": "kalau", "klo": "kalau", "kl": "kalau", "klu": "kalau", "dlm": "dalam",
    "org": "orang", "sbg": "sebagai", "ttg": "tentang", "spt": "seperti", "kyk": "seperti",
    "kaya": "seperti", "bkn": "bukan", "gitu": "begitu", "gt": "begitu",
    "nomer": "nomor", "nmr": "nomor", "no": "nomor", "num": "nomor",
    # regional (Javanese, Sundanese, Betawi, Minang) negation, aspect and question words
    "ora": "tidak", "teu": "tidak", "indak": "tidak", "hora": "tidak", "gabisa": "tidak bisa",
    "gbs": "tidak bisa", "gaada": "tidak ada", "gada": "tidak ada",
    "durung": "belum", "urung": "belum", "acan": "belum", "alun": "belum",
    "wis": "sudah", "uwis": "sudah", "wes": "sudah", "udeh": "sudah", "atos": "sudah",
    "piye": "bagaimana", "kumaha": "bagaimana", "gimane": "bagaimana",
    "mlebu": "masuk", "metu": "keluar", "aye": "saya", "kulo": "saya", "abdi": "saya",
    # English pronoun and label words that carry evidence ("my number is 0812...")
    "my": "saya", "number": "nomor", "not": "tidak",
}

_NON_WORD_RE: Final = re.compile(r"[^\w]+", re.UNICODE)
_UNDERSCORE_RE: Final = re.compile(r"_+")


def _fold(text: str) -> str:
    # NFKC folds full-width digits/letters and ligatures; casefold handles non-ASCII case.
    return unicodedata.normalize("NFKC", text).casefold()


def normalize_tokens(text: str) -> list[str]:
    """Tokens of ``normalize_for_matching`` (the classifier uses these directly)."""
    folded = _UNDERSCORE_RE.sub(" ", _fold(text))
    out: list[str] = []
    for raw in _NON_WORD_RE.split(folded):
        if not raw:
            continue
        # "hp-nya", "nomorku", "akunnya" are split by the caller where it matters; reduplication
        # "kali2" / "berkali-kali" is already split by punctuation and the digit suffix dropped here.
        token = raw[:-1] if len(raw) > 2 and raw[-1] == "2" and raw[:-1].isalpha() else raw
        expanded = SLANG.get(token)
        if expanded is None:
            out.append(token)
        else:
            out.extend(expanded.split())
    return out


def normalize_for_matching(text: str) -> str:
    """Lower-case, punctuation/emoji-free, whitespace-collapsed, slang-expanded text.

    Never raises: empty, emoji-only and mixed-script text give a (possibly empty) string.
    """
    return " ".join(normalize_tokens(text))
