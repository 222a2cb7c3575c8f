"""Who sounds like the desk and who like the citizen: the content cues that tell an agent's speech
(the desk's greeting, its questions and procedure) from a caller's (the complaint: something that
failed, did not arrive, was refused), in Indonesian (standard and informal) and English.

Used only when nothing explicit says who is who (``roles``): a speaker's order in the call is never
evidence, since on real recordings the caller often speaks first ("Halo? Halo?") or the
recording starts mid-greeting.

Pure: text in, counts out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

# How much of a speaker's speech is read: the opening of a call carries the greeting and the
# complaint, and a bound keeps a one-hour call as cheap as a short one.
_READ_CHARS: Final = 3_000

_HON = r"(?:bapak|ibu|bu|pak|mas|mbak|kak|kakak|sdr|saudara|sir|madam|ma'am)"
_DESK: Final = tuple(re.compile(p) for p in (
    # the desk's greeting with its name, or the offer of help
    r"\b(?:selamat (?:pagi|siang|sore|malam)|terima kasih telah menghubungi|halo)\b[^.?!]{0,80}"
    r"\b(?:layanan|pengaduan|call ?cent(?:er|re)|contact cent(?:er|re)|kontak|prakerja|"
    r"dengan (?!saya\b)[a-z]+)\b",
    r"\bada yang (?:bisa|dapat) (?:saya |kami )?(?:bantu|dibantu)\b",
    r"\b(?:bisa|dapat) (?:saya|kami) bantu\b",
    r"\bdengan (?:" + _HON + r" )?siapa\b",
    r"\b(?:boleh|bisa|mohon) (?:saya |kami )?(?:minta|tahu|dibantu|disebutkan|sebutkan|"
    r"diinformasikan|dikonfirmasi|konfirmasi|dieja)\b",
    r"\bmohon (?:ditunggu|menunggu|maaf atas|kesediaannya|tunggu sebentar)\b",
    r"\bterima kasih (?:sudah|telah) (?:menghubungi|menelepon|menunggu)\b",
    r"\bada lagi yang bisa\b",
    r"\b(?:kami|saya) (?:cek|bantu|teruskan|eskalasi|proses)(?:kan)?\b",
    r"\b(?:nomor|no) tiket\b",
    r"\bthank you for (?:calling|contacting|holding|waiting)\b",
    r"\bhow (?:can|may|could) i (?:help|assist)\b",
    r"\b(?:can|may|could) i (?:have|get|ask for|confirm|verify) (?:your|the)\b",
    r"\bis there anything else\b",
    r"\blet me (?:check|look|pull|see|verify)\b",
    r"\bi(?:'m| am) (?:so |very )?sorry to hear\b",
    r"\b(?:one moment|bear with me|please hold)\b",
    r"\b(?:sorry (?:about|for) (?:that|the (?:wait|delay|inconvenience))|(?:i|we) apologi[sz]e)\b",
    r"\bmohon maaf (?:atas|menunggu|lama)\b",
    r"\bthis call (?:may|will|is) (?:be )?(?:recorded|monitored)\b",
    r"\bmy name is [a-z]+,? (?:and |how|what)\b",
))
_CALLER: Final = tuple(re.compile(p) for p in (
    r"\bsaya (?:mau|ingin|pengen|pingin|mo|hendak) (?:tanya|bertanya|lapor|melapor|komplain|"
    r"mengadu|menanyakan|mengeluh|protes|klaim)\b",
    r"\b(?:tidak|tak|tdk|gak|nggak|ngga|enggak|ga|belum|blm|blom) (?:bisa|masuk|cair|"
    r"diterima|terima|muncul|ada kabar|dapat|sampai|nyampe|berhasil|keluar|aktif|terkirim)\b",
    r"\b(?:gagal|ditolak|error|eror|hangus|terblokir|diblokir|kepotong|terpotong)\b",
    r"\b(?:nik|akun|hp|nomor|saldo|insentif|dana|rekening|kartu|sertifikat|pelatihan) "
    r"(?:saya|sy|aku|ku)\b",
    r"\bsudah (?:\w+ ){0,2}(?:kali|hari|minggu|bulan)\b",
    r"\bkenapa\b|\bkapan (?:cair|masuk|dapat)\b",
    r"\btolong (?:dibantu|bantu|dicek|cek)\b",
    r"\bi (?:can't|cannot|couldn't|can not) (?:log|get|access|find|use|see|pay)\b",
    r"\bmy (?:account|card|order|bill|plan|phone|subscription|otp|money|payment|refund|"
    r"package|password|balance)\b",
    r"\bi (?:want|would like|need|'d like) to (?:cancel|report|complain|know|ask|dispute|"
    r"change|close)\b",
    r"\bi(?:'m| am) calling (?:about|because|to|regarding)\b",
    r"\b(?:hasn't|haven't|didn't|never|still hasn't|not) (?:arrived|received|come|got|"
    r"been paid|worked)\b",
    r"\b(?:i|we)(?:'ve| have) been (?:charged|waiting|trying|on hold)\b",
    r"\bsudah (?:lama )?(?:menunggu|nunggu|antri|antre)\b",
))


def _count(patterns: tuple[re.Pattern[str], ...], text: str) -> int:
    return sum(1 for p in patterns if p.search(text))


def cue_counts(texts: Iterable[str]) -> tuple[int, int]:
    """(desk cues, caller cues) found in one speaker's speech; each cue counts once."""
    parts: list[str] = []
    size = 0
    for text in texts:
        parts.append(text)
        size += len(text) + 1
        if size >= _READ_CHARS:
            break
    spoken = " ".join(parts)[:_READ_CHARS].lower().replace("\u2019", "'")
    return _count(_DESK, spoken), _count(_CALLER, spoken)


def is_complaint(sentence: str) -> bool:
    """A sentence that states something going wrong (a caller cue)."""
    return _count(_CALLER, sentence.lower().replace("\u2019", "'")) > 0


__all__ = ["cue_counts", "is_complaint"]
