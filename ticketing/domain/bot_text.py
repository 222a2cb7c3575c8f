"""What a chat bot says to a citizen, in Bahasa Indonesia (default) or English: the greeting
(how to complain, the desk's hours and first-response target, the file size limit), help, the
list of open tickets, and the steps of linking a chat to a ticket by a one-time code.

Pure: the caller gives the calendar's wording, the target and the limit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ticketing.domain.language import ENGLISH

_STATUS: Final = {
    "id": {"new": "baru diterima", "open": "sedang diproses",
           "pending_customer": "menunggu jawaban Anda"},
    "en": {"new": "received", "open": "in progress", "pending_customer": "waiting for your reply"},
}


def _en(language: str) -> bool:
    return language == ENGLISH


def greeting(language: str, *, hours: str, first_response: str, max_mb: int) -> str:
    if _en(language):
        return (f"Hello! This is the official complaints desk. Write your complaint here in one "
                f"message: what happened, since when, and your ticket or ID number if you "
                f"have one. You may attach photos, documents, voice notes or videos (at most "
                f"{max_mb} MB per file; larger files are not kept).\n\n"
                f"Desk hours: {hours}.\n"
                f"We answer for the first time within {first_response}.\n\n"
                f"/status: your open tickets · /bantuan: help")
    return (f"Halo! Ini layanan pengaduan resmi. Tulis keluhan Anda di sini dalam satu pesan: "
            f"apa masalahnya, sejak kapan, dan nomor tiket atau NIK bila ada. Anda bisa "
            f"melampirkan foto, dokumen, pesan suara atau video (maksimal {max_mb} MB per "
            f"berkas; berkas yang lebih besar tidak disimpan).\n\n"
            f"Jam layanan: {hours}.\n"
            f"Tanggapan pertama kami paling lambat {first_response}.\n\n"
            f"/status: tiket Anda yang masih terbuka · /bantuan: bantuan")


def help_text(language: str, *, max_mb: int) -> str:
    if _en(language):
        return ("How to use this desk:\n"
                "• Write your complaint as a normal message; we reply here.\n"
                "• Reply to one of our messages to add to that ticket.\n"
                f"• Attach photos or documents as proof (at most {max_mb} MB per file).\n"
                "• /status lists your open tickets.\n"
                "• Got a ticket link by e-mail? Open it: we send a 6-digit code to that "
                "e-mail; type it here to link this chat to your ticket.")
    return ("Cara menggunakan layanan ini:\n"
            "• Tulis keluhan Anda seperti pesan biasa; kami membalas di sini.\n"
            "• Balas (reply) salah satu pesan kami untuk menambah ke tiket itu.\n"
            f"• Lampirkan foto atau dokumen sebagai bukti (maksimal {max_mb} MB per berkas).\n"
            "• /status menampilkan tiket Anda yang masih terbuka.\n"
            "• Mendapat tautan tiket lewat e-mail? Buka tautannya: kami mengirim kode 6 angka "
            "ke e-mail itu; ketik kodenya di sini untuk menghubungkan chat ini ke tiket Anda.")


def status_list(language: str, tickets: Sequence[tuple[str, str | None, str]]) -> str:
    """``tickets``: (number, topic, status); no personal data."""
    if not tickets:
        return ("You have no open tickets." if _en(language)
                else "Tidak ada tiket Anda yang masih terbuka.")
    words = _STATUS["en" if _en(language) else "id"]
    head = "Your open tickets:" if _en(language) else "Tiket Anda yang masih terbuka:"
    lines = [f"• {number} · {(topic or '-').replace('_', ' ')} · {words.get(status, status)}"
             for number, topic, status in tickets]
    return "\n".join([head, *lines])


def code_sent(language: str, *, ticket: str, via: str, to: str, minutes: int) -> str:
    if _en(language):
        return (f"To link this chat to ticket {ticket} we sent a 6-digit code by {via} to {to}. "
                f"Type the code here within {minutes} minutes.")
    return (f"Untuk menghubungkan chat ini ke tiket {ticket}, kami mengirim kode 6 angka lewat "
            f"{via} ke {to}. Ketik kode itu di sini dalam {minutes} menit.")


def code_message(language: str, *, ticket: str, code: str, minutes: int) -> tuple[str, str]:
    """The subject and body of the code sent on the citizen's other channel."""
    if _en(language):
        return (f"[#{ticket}] Telegram verification code",
                f"Your code to link Telegram to ticket {ticket}: {code}\n\nIt is valid for "
                f"{minutes} minutes. If you did not ask for it, ignore this message: nothing "
                f"is linked without the code.")
    return (f"[#{ticket}] Kode verifikasi Telegram",
            f"Kode Anda untuk menghubungkan Telegram ke tiket {ticket}: {code}\n\nBerlaku "
            f"{minutes} menit. Jika Anda tidak memintanya, abaikan pesan ini: tidak ada yang "
            f"terhubung tanpa kode ini.")


_LINK: Final = {
    "unknown": ("Kode tiket itu tidak kami kenali. Periksa tautan di e-mail Anda.",
                "We do not know that ticket code. Please check the link in your e-mail."),
    "no_channel": ("Kami tidak bisa memverifikasi Anda untuk tiket itu: tidak ada alamat lain "
                   "yang kami kenal. Tulis keluhan Anda di sini saja.",
                   "We cannot verify you for that ticket: we know no other address of yours. "
                   "Please write your complaint here."),
    "linked": ("Chat ini sudah terhubung ke tiket itu.", "This chat is already linked to that "
               "ticket."),
    "too_soon": ("Kode sudah kami kirim; tunggu beberapa menit sebelum meminta lagi.",
                 "We already sent a code; wait a few minutes before asking again."),
    "no_challenge": ("Tidak ada kode yang sedang kami tunggu. Buka lagi tautan tiket dari "
                     "e-mail Anda untuk mendapat kode baru.",
                     "We are not waiting for a code. Open the ticket link from your e-mail again "
                     "to get a new code."),
    "used_up": ("Terlalu banyak percobaan. Buka lagi tautan tiket untuk mendapat kode baru.",
                "Too many attempts. Open the ticket link again to get a new code."),
}


def link_text(language: str, key: str) -> str:
    indonesian, english = _LINK[key]
    return english if _en(language) else indonesian


def code_wrong(language: str, left: int) -> str:
    if _en(language):
        return f"That code is not right. {left} attempt(s) left."
    return f"Kode itu salah. Sisa {left} kali percobaan."


def code_right(language: str, ticket: str) -> str:
    if _en(language):
        return (f"Done: this chat is now linked to ticket {ticket}. Our answers can reach you "
                f"here; /status shows your open tickets.")
    return (f"Berhasil: chat ini sekarang terhubung ke tiket {ticket}. Jawaban kami bisa sampai "
            f"ke sini; /status menampilkan tiket Anda yang masih terbuka.")


def size_words(limit: int, language: str = "id") -> str:
    """A byte limit as people say it: "20 MB", "1,5 MB" ("1.5 MB" in English), "500 KB"."""
    mb = 1024 * 1024
    if limit >= mb:
        number = f"{limit / mb:.1f}".removesuffix(".0")
        return (number if _en(language) else number.replace(".", ",")) + " MB"
    return f"{max(1, limit // 1024)} KB"


def file_refused(language: str, *, filename: str, too_large: bool, limit: int,
                 via: str) -> str:
    """A file the citizen sent was not kept: over the size limit, or the channel would not let
    us fetch it.  Says the limit and what to do instead; the message itself did reach us."""
    size = size_words(limit, language)
    if _en(language):
        if too_large:
            return (f"Sorry, we could not keep your file \"{filename}\": it is larger than our "
                    f"limit of {size} per file. Your message itself reached us.\n\nPlease "
                    f"send a smaller version (a photo sent as a photo rather than as a file, a "
                    f"compressed PDF, or a shorter recording) of at most {size}, or split it "
                    f"into several files.")
        return (f"Sorry, we could not download your file \"{filename}\" from {via}. Your "
                f"message itself reached us.\n\nPlease send the file again (at most {size} "
                f"per file).")
    if too_large:
        return (f"Maaf, berkas \"{filename}\" tidak bisa kami simpan: ukurannya lebih dari "
                f"batas maksimal {size} per berkas. Pesan Anda sendiri sudah kami terima.\n\n"
                f"Silakan kirim versi yang lebih kecil (foto dikirim sebagai foto, bukan "
                f"sebagai berkas; PDF yang dikompres; atau rekaman yang lebih pendek), maksimal "
                f"{size}, atau bagi menjadi beberapa berkas.")
    return (f"Maaf, berkas \"{filename}\" tidak bisa kami unduh dari {via}. Pesan Anda "
            f"sendiri sudah kami terima.\n\nSilakan kirim ulang berkas itu (maksimal {size} "
            f"per berkas).")
