"""Identifiers a citizen writes in a message as their own ("NIK saya …", "WA saya …", a phone in
their signature): a claim, never proof, and the rules that tell it from someone else's number.

A wrong link merges two citizens and shows one citizen's data to another, so every rule here
leans to precision: an identifier that is not clearly the writer's (someone else's number, a bank
account, an unlabelled number outside a signature) is dropped.  Pure: no files, clock, env or
database.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Final

from ticketing.domain.identity import (Identifier, IdentityKind, normalize_email, normalize_nik,
                                       normalize_phone)
from ticketing.domain.text import SLANG, Role, signature_start, strip_quoted, transcript_turns


# --- evidence in free text -------------------------------------------------------------------------
# Vocabulary for the claim rules (tokens are lower-cased and slang-expanded: "sy"->"saya", "no"->"nomor").
_NIK_WORDS: Final = frozenset("nik ktp ektp kependudukan".split())
_PHONE_WORDS: Final = frozenset(
    "hp handphone hape ponsel telp telpon telepon tlp tlpn telefon wa whatsapp whatsap watsap wasap "
    "mobile phone cell seluler selular sms".split())
_CONTACT_WORDS: Final = frozenset("hubungi dihubungi menghubungi kontak contact hub".split())
_EMAIL_WORDS: Final = frozenset("email mail surel gmail yahoo outlook".split())
_GENERIC_WORDS: Final = frozenset({"nomor"})
# Numbers under these words are accounts, cards or other documents, never a phone or a NIK (a KK
# number even has the NIK's structure); e-wallet numbers may belong to a relative, so they are out too.
_BLOCK_WORDS: Final = frozenset(
    "rekening rek norek bank kartu card atm debit kredit va virtual transfer tf transaksi resi tiket "
    "ticket order pesanan referensi ref invoice tagihan kk npwp bpjs sim paspor passport polis "
    "pelanggan meteran pln voucher kode pin otp token fax faks peserta ovo gopay linkaja shopeepay "
    "dana wallet ewallet dompet bri bni bca mandiri bsi btn cimb rp rupiah sebesar saldo kantor cs "
    "center callcenter hotline layanan official resmi admin".split())
# "telepon ke 021...", "email dari noreply@...": a number or address the writer contacted or heard
# from, not their own (unless they say "saya").
_DIRECTION_WORDS: Final = frozenset("ke kepada dari oleh".split())
# Active contact verbs mean "contact me" only with a first person ("hubungi saya di ...").
_ACTIVE_CONTACT: Final = frozenset("hubungi menghubungi hub".split())
# Role mailboxes are shared by everyone (a system sender, a help desk), never a citizen's own.
_ROLE_MAILBOXES: Final = frozenset(
    "noreply no-reply no_reply donotreply do-not-reply admin administrator cs info support help "
    "helpdesk halo layanan pengaduan humas official callcenter contact kontak mailer-daemon "
    "postmaster webmaster".split())
# Words that always mean a person other than the writer.
_OTHER_WORDS: Final = frozenset(
    "suami istri isteri anak adik adek ortu ayah bokap nyokap mertua ipar sepupu keponakan ponakan "
    "cucu nenek kakek paman bibi tante teman temen kawan tetangga pacar tunangan saudara sodara "
    "keluarga rekan atasan bos majikan beliau dia mereka mama mamah mami papa papah papi abah umi "
    "emak kerabat almarhum almarhumah".split())
# Forms of address: the writer calls the agent "Bapak/Ibu/Kak"; they mean a third person only when
# possessed ("ibu saya", "bapaknya") or after "punya/milik/atas nama".
_ADDRESS_WORDS: Final = frozenset("ibu bapak kakak mas mbak abang bunda bu pak bpk kak bang".split())
_KIN_FORMS: Final = frozenset("ibu bapak kakak abang bunda".split())
_FIRST_PERSON: Final = frozenset({"saya", "ku", "pribadi", "sendiri"})
_POSSESSORS: Final = frozenset({"saya", "nya"})
_OWNER_WORDS: Final = frozenset({"punya", "milik", "atas", "nama"})
# "NIK saya dipakai orang lain": someone else *used* the writer's identifier; that is the complaint
# (a NIK/account problem), not a second person whose numbers the message gives.
_USED_BY: Final = frozenset(
    "dipakai dipake digunakan terpakai didaftarkan didaftarin diambil dibajak oleh sama".split())
_KEYWORD_WORDS: Final = _NIK_WORDS | _PHONE_WORDS | _CONTACT_WORDS | _EMAIL_WORDS | _GENERIC_WORDS
_MAX_KEYWORD_DISTANCE: Final = 6
_WINDOW_CHARS: Final = 160
_MAX_CANDIDATES: Final = 200

_TOKEN_RE: Final = re.compile(r"[^\W_]+", re.UNICODE)
_EMAIL_IN_TEXT_RE: Final = re.compile(r"(?<![\w.+-])[\w.+%-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_NUMBER_RE: Final = re.compile(
    r"(?<![\w/@:+.-])(?:\(\s*\+?\s*\d{1,4}\s*\)[ .\-]?|\+\s?)?\d(?:[ .\-\u00a0]{0,2}\d){7,24}(?![\w@])"
)
_BOUNDARY_RE: Final = re.compile(r"[\n!?;,]|\.(?=\s|$)")
_ABBREVIATIONS: Final = frozenset({"no", "nmr", "tlp", "telp", "tel", "hp", "rek", "an", "a.n", "sdr"})
def _tokens(text: str) -> list[str]:
    """Lower-case tokens with slang expanded and the possessive clitics split off (-ku, -nya)."""
    out: list[str] = []
    for raw in _TOKEN_RE.findall(text.casefold()):
        stem, clitic = raw, None
        for suffix, marker in (("nya", "nya"), ("ku", "saya")):
            base = raw[: -len(suffix)]
            if raw.endswith(suffix) and (base in _KEYWORD_WORDS or base in _OTHER_WORDS
                                          or base in _ADDRESS_WORDS or base in _BLOCK_WORDS):
                stem, clitic = base, marker
                break
        out.extend(SLANG.get(stem, stem).split())
        if clitic:
            out.append(clitic)
    return out


def _mentions_other(tokens: list[str]) -> bool:
    """Whether one clause's tokens speak of a person other than the writer."""
    for i, tok in enumerate(tokens):
        before = tokens[i - 1] if i else ""
        if tok in _OTHER_WORDS and not (tok == "keluarga" and before == "kartu"):  # KK is a document
            return True
        if tok == "ibu" and i + 1 < len(tokens) and tokens[i + 1] == "kandung":
            continue  # "nama ibu kandung" is a data field of the writer's own record
        if tok == "orang" and i + 1 < len(tokens) and tokens[i + 1] in {"tua", "lain"}:
            if tokens[i + 1] == "lain" and before in _USED_BY:
                continue
            return True
        if tok in _ADDRESS_WORDS:
            after = tokens[i + 1] if i + 1 < len(tokens) else ""
            # Only the full kin forms take a possessor ("ibu saya"); "kak, saya ..." and
            # "Bapak/Ibu saya mohon ..." are vocatives.
            possessed = after in _POSSESSORS and tok in _KIN_FORMS and before not in _ADDRESS_WORDS
            if possessed or before in _OWNER_WORDS:
                return True
    return False


def _text_mentions_other(text: str) -> bool:
    return any(_mentions_other(_tokens(clause)) for clause in _BOUNDARY_RE.split(text))


def _owned_by_other(after: list[str]) -> bool:
    """ "0812... punya Budi" / "milik ibu": the number is attributed to someone named after it."""
    for i, tok in enumerate(after[:-1]):
        if tok in {"punya", "milik"} and after[i + 1] not in _FIRST_PERSON:
            return True
    return False


def _window(text: str, end: int) -> str:
    """Text of the clause that ends at ``end`` (a sentence, line or comma-separated part).

    Only the last ``_WINDOW_CHARS`` characters are looked at: a label further away is not a label,
    and it keeps a 1 MB body linear.
    """
    begin = max(0, end - _WINDOW_CHARS)
    start = begin
    for match in _BOUNDARY_RE.finditer(text, begin, end):
        if match.group() == ".":
            word = re.search(r"(\S+)$", text[max(begin, match.start() - 10):match.start()])
            if word and word.group(1).lower() in _ABBREVIATIONS:
                continue  # "No. HP saya" is one clause
        start = match.end()
    return text[start:end]


def _classify_number(raw: str, *, split: bool = True) -> list[tuple[IdentityKind, str]]:
    """What a digit run is: a NIK, a phone, two numbers run together ("<nik> <hp>"), or nothing."""
    nik = normalize_nik(raw)
    if nik is not None:
        return [(IdentityKind.NIK, nik)]
    phone = normalize_phone(raw)
    if phone is not None:
        return [(IdentityKind.PHONE, phone)]
    groups = raw.split()
    if split and len(groups) <= 12:  # one split only: linear, never exponential
        for k in range(1, len(groups)):
            left = _classify_number(" ".join(groups[:k]), split=False)
            right = _classify_number(" ".join(groups[k:]), split=False)
            if left and right:
                return left + right
    return []


def _compatible(kind: IdentityKind, word: str) -> bool:
    if kind is IdentityKind.NIK:
        return word in _NIK_WORDS or word in _GENERIC_WORDS
    if kind is IdentityKind.PHONE:
        return word in _PHONE_WORDS or word in _GENERIC_WORDS or word in _CONTACT_WORDS
    return word in _EMAIL_WORDS or word in _CONTACT_WORDS


@dataclass(frozen=True, slots=True, kw_only=True)
class _Segment:
    """A stretch of the writer's own words, with what was just asked of them (transcripts)."""

    text: str
    asked: frozenset[IdentityKind]
    signature_from: int  # offset where the signature block starts (len(text) when none)


def _keyword_verdict(kind: IdentityKind, before: list[str], after: list[str],
                     message_mentions_other: bool) -> bool | None:
    """True/False when a label decides; None when there is no label in reach."""
    span: list[str] = []  # the words between the label and the identifier
    lowest = max(0, len(before) - _MAX_KEYWORD_DISTANCE - 2)
    for idx in range(len(before) - 1, lowest - 1, -1):
        tok = before[idx]
        if tok in _BLOCK_WORDS:
            return False  # "no rekening saya 1234...": the nearest label is an account
        if _compatible(kind, tok):
            if _mentions_other(span) or _mentions_other(after[:6]) or _owned_by_other(after[:6]):
                return False  # "HP suami saya 0812", "0812 (punya ibu saya)"
            if any(t in _FIRST_PERSON for t in span):
                return True  # "NIK saya ...", "hubungi saya di ..."
            # A possessor before the label, as English puts it ("my NIK is ...", "my number"),
            # unless it is itself possessed ("ibu saya NIK ...").
            if idx and before[idx - 1] == "saya" and (
                    idx < 2 or before[idx - 2] not in _OTHER_WORDS | _ADDRESS_WORDS):
                return True
            # An unpossessed label ("NIK: ...", "hp: ...") is the writer's unless the message talks
            # about someone else, it is a number they contacted ("telepon ke ...", "hubungi ..."),
            # or an owner is named right after the number.
            preceding = before[idx - 1] if idx else ""
            directed = preceding in _DIRECTION_WORDS or any(t in _DIRECTION_WORDS for t in span)
            return not (message_mentions_other or directed or tok in _ACTIVE_CONTACT
                        or "atas" in after[:3])
        if tok not in _KEYWORD_WORDS:  # "nomor WA saya", "email/WA": look past other labels
            span.insert(0, tok)
    return None


def _signature_line_ok(line: str) -> bool:
    """A signature line that is only a label and a contact (not "Fax", not "HP istri")."""
    toks = _tokens(_NUMBER_RE.sub(" ", _EMAIL_IN_TEXT_RE.sub(" ", line)))
    return not any(t in _BLOCK_WORDS for t in toks) and not _text_mentions_other(line)


def _segments(text: str) -> list[_Segment]:
    turns = transcript_turns(text)
    if turns is None:
        body = strip_quoted(text)
        return [_Segment(text=body, asked=frozenset(), signature_from=signature_start(body))]
    segments: list[_Segment] = []
    asked: frozenset[IdentityKind] = frozenset()
    for turn in turns:
        if turn.role is Role.AGENT:
            # The agent's words are never the caller's claim, but they say what a bare number
            # read out next is ("boleh disebutkan NIK Bapak/Ibu?" -> "3224 2819 ...").
            toks = set(_tokens(turn.text))
            asked = frozenset(k for k, words in ((IdentityKind.NIK, _NIK_WORDS),
                                                  (IdentityKind.PHONE, _PHONE_WORDS | _CONTACT_WORDS
                                                   | _GENERIC_WORDS),
                                                  (IdentityKind.EMAIL, _EMAIL_WORDS))
                              if toks & words)
        else:
            segments.append(_Segment(text=turn.text, asked=asked, signature_from=len(turn.text)))
    return segments


def claimed_identifiers(text: str) -> list[Identifier]:
    """Identifiers the writer gives as their own in a message body (raw body or citizen text).

    Agent turns and quoted history are skipped here, so the raw body may be passed.  A candidate is
    kept when (1) a compatible label is in reach before it ("NIK saya", "No HP", "WA sy", "email:",
    "hubungi saya di") with no other person and no account word in between or right after, or
    (2) it stands on a signature line, or (3) in a call, it answers the agent's request for it.
    A bare 16-digit number that is a valid NIK is kept only if nothing in its sentence says it is an
    account and the message mentions no one else.
    """
    found: list[Identifier] = []
    seen: set[tuple[IdentityKind, str]] = set()
    for seg in _segments(text):
        body = seg.text
        mentions_other = _text_mentions_other(body)
        signature_mentions_other = (mentions_other and seg.signature_from < len(body)
                                    and _text_mentions_other(body[seg.signature_from:]))
        candidates: list[tuple[int, int, list[tuple[IdentityKind, str]]]] = []
        for m in itertools.islice(_EMAIL_IN_TEXT_RE.finditer(body), _MAX_CANDIDATES):
            email = normalize_email(m.group())
            if email is not None and email.partition("@")[0] not in _ROLE_MAILBOXES:
                candidates.append((m.start(), m.end(), [(IdentityKind.EMAIL, email)]))
        for m in itertools.islice(_NUMBER_RE.finditer(body), _MAX_CANDIDATES):
            kinds = _classify_number(m.group())
            if kinds:
                candidates.append((m.start(), m.end(), kinds))
        candidates.sort(key=lambda c: c[0])
        del candidates[_MAX_CANDIDATES:]  # a dump of thousands of numbers is not a claim of each
        prev_end = 0
        for start, end, kinds in candidates:
            clause = _window(body, start)
            clause_start = start - len(clause)
            before = _tokens(body[max(clause_start, prev_end):start])
            after_text = body[end:end + _WINDOW_CHARS]
            cut = _BOUNDARY_RE.search(after_text)
            after = _tokens(after_text[: cut.start() if cut else len(after_text)])
            line_start = body.rfind("\n", max(0, start - _WINDOW_CHARS), start) + 1
            line_end = body.find("\n", end, end + _WINDOW_CHARS)
            line = body[line_start: line_end if line_end >= 0 else end + _WINDOW_CHARS]
            in_signature = start >= seg.signature_from
            for kind, value in kinds:
                # A labelled line of the signature block ("Telp/WA: 0812...") answers only to the
                # block itself, not to a relative named in the body.
                verdict = _keyword_verdict(kind, before, after,
                                           signature_mentions_other if in_signature else mentions_other)
                if verdict is None:
                    if in_signature:
                        # The signature block is the writer's own, whoever the body talks about
                        # ("HP suami saya ..." above "Salam, Budi / 0812..."), unless the block
                        # itself names someone else.
                        verdict = _signature_line_ok(line) and not signature_mentions_other
                    elif kind in seg.asked:
                        verdict = not mentions_other and not any(t in _BLOCK_WORDS for t in before)
                    elif kind is IdentityKind.NIK:
                        clause_toks = _tokens(clause) + after
                        verdict = not mentions_other and not any(t in _BLOCK_WORDS for t in clause_toks)
                    else:
                        verdict = False
                if verdict and (kind, value) not in seen:
                    seen.add((kind, value))
                    found.append(Identifier(kind=kind, value=value, source="text"))
            prev_end = end
    return found
