"""Reproducible generator of realistic normalized inbound messages (the CONTRACT.md format).

About N/3.5 synthetic citizens each write 1-6 messages over 1-3 channels (email with subject and
a phone in the signature, phone-call transcripts with "Agen:/Penelepon:" lines, Telegram,
Instagram DMs, web chat) in informal Indonesian about the 7 complaint topics.  Phones appear in
many formats, some messages carry a structurally valid NIK, some e-mail and web-chat follow-ups
carry ``in_reply_to``; ``sent_at`` increases (ISO 8601, +07:00).  The same (n, seed) always
gives the same bytes; different seeds give disjoint external ids, so two streams can be ingested
into one database without colliding.

    python bench/generate.py N [--seed 1] > file.jsonl

or, as a module, ``generate(n, seed) -> Iterator[dict]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

try:
    from ticketing.domain.zones import WIB
except ImportError:  # a tree under test (BENCH_SRC) from before domain.zones: the same zone
    from zoneinfo import ZoneInfo
    WIB = ZoneInfo("Asia/Jakarta")  # type: ignore[misc]

START = dt.datetime(2026, 3, 2, 7, 0, 0, tzinfo=WIB)
CHANNELS = ("email", "phone", "telegram", "instagram", "webchat")
CHANNEL_WEIGHTS = (23, 21, 16, 12, 28)  # roughly the development stream's mix

FIRST_M = ("Agus", "Budi", "Joko", "Andi", "Fajar", "Teguh", "Hendra", "Yusuf", "Rizky", "Dedi",
           "Made", "Ketut", "Komang", "Bayu", "Eko", "Arif", "Rudi", "Dimas", "Wahyu", "Ilham")
FIRST_F = ("Dewi", "Sri", "Ayu", "Fitri", "Lestari", "Yanti", "Siti", "Rina", "Nur", "Putri",
           "Wulan", "Indah", "Ratna", "Mega", "Desi", "Intan", "Nadia", "Ani", "Maya", "Tari")
LAST = ("Wijaya", "Hidayat", "Utami", "Suryadi", "Nasution", "Simanjuntak", "Santoso", "Harahap",
        "Setiawan", "Nugroho", "Saputra", "Kurniawan", "Firmansyah", "Putra", "Rahayu", "Sari",
        "Pratama", "Siregar", "Lubis", "Gunawan", "Hasibuan", "Wibowo", "Susanto", "Halim")
MAIL_DOMAINS = ("gmail.com", "gmail.com", "gmail.com", "yahoo.co.id", "yahoo.com", "ymail.com",
                "outlook.com", "hotmail.com")
OPERATORS = ("811", "812", "813", "821", "822", "823", "852", "853", "851", "855", "856", "857",
             "858", "817", "818", "819", "859", "877", "878", "838", "831", "832", "895", "896",
             "897", "898", "899", "881", "882", "887", "888", "889")
PROVINCES = (11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53, 61, 62,
             63, 64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 94)
BANKS = ("BRI", "BNI", "BCA", "Mandiri", "BSI", "BTN", "SeaBank")
WALLETS = ("OVO", "GoPay", "DANA", "LinkAja", "ShopeePay")
COURSES = ("Public Speaking", "Barista", "Kuliner Rumahan", "Digital Marketing", "Excel Dasar",
           "Desain Grafis", "Menjahit", "Bahasa Inggris")

TOPICS: dict[str, tuple[str, ...]] = {
    "insentif": (
        "insentif saya belum cair padahal pelatihan sudah selesai sejak {days} hari yang lalu",
        "sudah {days} hari menunggu pencairan insentif tapi saldo {wallet} masih kosong",
        "insentif tahap {stage} belum masuk, padahal survei sudah diisi",
        "kapan insentif dicairkan? sudah lewat {days} hari",
    ),
    "otp": (
        "kode OTP tidak masuk ke HP saya, sudah coba kirim ulang berkali-kali",
        "sms kode verifikasi tidak diterima, padahal sinyal bagus",
        "mau ganti nomor HP karena nomor lama sudah hilang, OTP ke nomor lama terus",
        "kode OTP selalu expired sebelum sempat dimasukkan",
    ),
    "nik": (
        "NIK saya dinyatakan tidak valid saat pendaftaran padahal KTP asli",
        "verifikasi KTP gagal terus, foto selfie sudah jelas",
        "NIK saya sudah terdaftar katanya, padahal saya belum pernah daftar",
        "data NIK tidak sesuai dengan Dukcapil, tolong dicek",
    ),
    "akun": (
        "lupa password dan email reset tidak pernah datang",
        "tidak bisa masuk ke dashboard, halaman hanya loading terus",
        "akun saya terblokir setelah salah password tiga kali",
        "tidak bisa login, selalu muncul error",
    ),
    "pelatihan": (
        "sertifikat pelatihan {course} belum muncul padahal sudah lulus",
        "voucher pelatihan sudah terpakai tapi kelas {course} tidak bisa diakses",
        "sudah redeem voucher tapi kelas {course} tidak muncul di dashboard",
        "nilai posttest kelas {course} tidak tersimpan",
    ),
    "rekening": (
        "saya salah input nomor rekening {bank}, bagaimana cara menggantinya?",
        "akun {wallet} saya belum terhubung, selalu gagal saat verifikasi",
        "mau ganti rekening dari {bank} ke {wallet}, bisa?",
        "nomor {wallet} tidak bisa ditautkan ke akun Prakerja",
    ),
    "gelombang": (
        "status saya di gelombang {wave} masih menunggu, kapan pengumuman?",
        "kapan pendaftaran gelombang {wave} dibuka? saya belum lolos terus",
        "saya tidak lolos seleksi gelombang {wave} padahal memenuhi syarat",
        "sudah daftar gelombang {wave} tapi tidak ada kabar",
    ),
}
SUBJECT_PREFIX = ("Keluhan ", "", "Mohon bantuan: ", "Tolong ", "")
GREETINGS = ("Selamat pagi admin, ", "Selamat siang, ", "Selamat sore, ", "Halo min, ",
             "Permisi kak, ", "Min tolong, ", "Kak mau tanya, ", "Assalamualaikum, ", "",
             "Yth. Tim Prakerja, ")
FOLLOWUP_LEADS = ("Belum ada jawaban untuk keluhan saya, ", "Saya ulangi lagi ya min, ",
                  "Ini keluhan yang sama dengan yang saya sampaikan lewat telepon. ",
                  "Sudah lapor di Instagram tapi belum ada respon, ", "Menindaklanjuti, ")
CLOSINGS = ("Terima kasih.", "Mohon solusinya.", "Tolong segera diproses ya.",
            "Mohon info lebih lanjut.", "Saya tunggu kabarnya.", "Terimakasih banyak min 🙏", "")
SHORT_FOLLOWUPS = ("Sudah {days} hari belum ada kabar.", "Saya lampirkan tangkapan layar.",
                   "Halo? masih ada orang?", "Gimana min, sudah dicek?", "Masih sama kak.")
SLANG = (("tidak", ("tdk", "gak", "nggak", "ga")), ("sudah", ("udah", "sdh")),
         ("padahal", ("pdhl",)), ("yang", ("yg",)), ("saya", ("sy", "aku")),
         ("bagaimana", ("gmn", "gimana")), ("terima kasih", ("makasih", "trims")))
TYPOS = (("pendaftaran", "pendaftaarn"), ("email", "emial"), ("verifikasi", "verfikasi"))
PHONE_LABELS = ("nomor saya", "No HP saya", "WA saya", "hp sy", "bisa hubungi saya di")


@dataclass(slots=True)
class Citizen:
    idx: int
    name: str
    female: bool
    email: str
    phone: str  # national significant number, e.g. "8123456789"
    nik: str
    channels: list[str]
    topics: list[str]
    remaining: int
    telegram_id: str
    instagram_id: str
    instagram_username: str
    sent: int = 0
    last_ext: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)


def valid_nik(rng: random.Random, female: bool) -> str:
    """PP KK CC DDMMYY SSSS with a real province, non-zero regency/district, a real birth date
    (day + 40 for women) and a non-zero serial."""
    prov = rng.choice(PROVINCES)
    regency = rng.randint(1, 79)
    district = rng.randint(1, 40)
    birth = dt.date(1965, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 40))
    day = birth.day + (40 if female else 0)
    serial = rng.randint(1, 9999)
    return (f"{prov:02d}{regency:02d}{district:02d}{day:02d}{birth.month:02d}"
            f"{birth.year % 100:02d}{serial:04d}")


def format_nik(rng: random.Random, nik: str) -> str:
    style = rng.randrange(6)
    if style == 0:
        return nik
    if style == 1:
        return " ".join(nik[i:i + 4] for i in range(0, 16, 4))
    if style == 2:
        return f"{nik[:2]}.{nik[2:4]}.{nik[4:6]}.{nik[6:12]}.{nik[12:]}"
    if style == 3:
        return f"{nik[:6]} {nik[6:]}"
    if style == 4:
        return "-".join(nik[i:i + 4] for i in range(0, 16, 4))
    return " ".join(nik[i:i + 4] for i in range(0, 16, 4))


def format_phone(rng: random.Random, nsn: str) -> str:
    """One of the ways citizens write an Indonesian mobile number."""
    style = rng.randrange(9)
    local = "0" + nsn
    if style == 0:
        return local
    if style == 1:
        return "+62" + nsn
    if style == 2:
        return "62" + nsn
    if style == 3:
        return f"+62 {nsn[:3]} {nsn[3:7]} {nsn[7:]}"
    if style == 4:
        return f"{local[:4]}-{local[4:8]}-{local[8:]}"
    if style == 5:
        return f"{local[:4]} {local[4:8]} {local[8:]}"
    if style == 6:
        return f"(+62) {nsn}"
    if style == 7:
        return f"+62-{nsn[:3]}-{nsn[3:7]}-{nsn[7:]}"
    return f"0062{nsn}"


def informal(rng: random.Random, text: str) -> str:
    for word, variants in SLANG:
        if word in text and rng.random() < 0.35:
            text = text.replace(word, rng.choice(variants), 1)
    for word, typo in TYPOS:
        if word in text and rng.random() < 0.08:
            text = text.replace(word, typo, 1)
    if rng.random() < 0.15:
        text = text.lower()
    return text


class _Stream:
    def __init__(self, n: int, seed: int) -> None:
        self.n = n
        self.seed = seed
        self.rng = random.Random(seed)
        self.counters = dict.fromkeys(CHANNELS, 0)
        self.citizens = 0

    # ------------------------------------------------------------------ citizens
    def new_citizen(self) -> Citizen:
        rng, seed = self.rng, self.seed
        idx = self.citizens
        self.citizens += 1
        female = rng.random() < 0.5
        first = rng.choice(FIRST_F if female else FIRST_M)
        last = rng.choice(LAST)
        # A permutation of the index (7919 is prime to 10): distinct phones within a stream.
        operator = OPERATORS[(idx + seed) % len(OPERATORS)]
        phone = operator + f"{(idx * 7919 + seed * 104729) % 10**8:08d}"
        sep = rng.choice((".", "_", ""))
        email = (f"{first.lower()}{sep}{last.lower()}{seed}x{idx}@{rng.choice(MAIL_DOMAINS)}")
        k = rng.choice((1, 1, 1, 2, 2, 3))
        channels = rng.sample(CHANNELS, k) if k > 1 else \
            rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS, k=1)
        topics = rng.sample(list(TOPICS), 1 if rng.random() < 0.75 else 2)
        params = {"days": rng.randint(2, 60), "wallet": rng.choice(WALLETS),
                  "bank": rng.choice(BANKS), "course": rng.choice(COURSES),
                  "wave": rng.randint(1, 60), "stage": rng.randint(1, 4)}
        return Citizen(idx=idx, name=f"{first} {last}", female=female, email=email, phone=phone,
                       nik=valid_nik(rng, female), channels=channels, topics=topics,
                       remaining=rng.randint(1, 6),
                       telegram_id=str(1_000_000_000 + (idx * 104723 + seed * 7) % 8_999_999_999),
                       instagram_id=str(10**16 + (idx * 1_000_003 + seed * 13) % (9 * 10**16)),
                       instagram_username=f"{first.lower()}.{seed}{idx}", params=params)

    # ------------------------------------------------------------------ messages
    def external_id(self, channel: str) -> str:
        self.counters[channel] += 1
        k = self.counters[channel]
        s = self.seed
        if channel == "email":
            return f"<{k}.{s}{self.rng.randrange(10**6):06d}@mail.example.id>"
        return {"phone": f"call-{s}-{k}", "telegram": f"tg-{s}-{k}", "instagram": f"ig-{s}-{k}",
                "webchat": f"wc-{s}-{k}"}[channel]

    def complaint(self, c: Citizen) -> str:
        topic = c.topics[c.sent % len(c.topics)] if c.sent < 2 else self.rng.choice(c.topics)
        return self.rng.choice(TOPICS[topic]).format(**c.params)

    def message(self, c: Citizen, when: dt.datetime) -> dict[str, Any]:
        rng = self.rng
        channel = rng.choice(c.channels)
        ext = self.external_id(channel)
        complaint = self.complaint(c)
        followup = c.sent > 0
        lead = rng.choice(FOLLOWUP_LEADS) if followup and rng.random() < 0.5 else ""
        greeting = rng.choice(GREETINGS)
        closing = rng.choice(CLOSINGS)
        out: dict[str, Any] = {"channel": channel, "external_id": ext,
                               "sent_at": when.isoformat()}
        previous = c.last_ext.get(channel)
        first_name = c.name.split()[0]

        if channel == "email":
            out["sender"] = {"email": c.email, "name": c.name}
            text = informal(rng, f"{greeting}{lead}{complaint}.")
            if rng.random() < 0.25:
                text += f" NIK saya {format_nik(rng, c.nik)}."
            body = f"{text} {closing}".rstrip()
            if rng.random() < 0.6:
                body += f"\n\n--\n{c.name}\n{format_phone(rng, c.phone)}"
            subject = (rng.choice(SUBJECT_PREFIX) + complaint)[:60]
            if previous and rng.random() < 0.6:
                out["in_reply_to"] = previous
                subject = "Re: " + subject
                if rng.random() < 0.5:
                    body += "\n\n> " + complaint
            out["subject"] = subject
            out["body"] = body
        elif channel == "phone":
            out["sender"] = {"phone": format_phone(rng, c.phone), "name": c.name}
            lines = ["Agen: Selamat datang di layanan Prakerja, ada yang bisa dibantu?",
                     f"Penelepon: {informal(rng, lead + complaint)}."]
            if rng.random() < 0.7:
                lines += ["Agen: Baik, boleh disebutkan NIK Bapak/Ibu?",
                          f"Penelepon: NIK saya {format_nik(rng, c.nik)}."]
            lines.append("Agen: Baik, akan kami teruskan ke tim terkait.")
            out["body"] = "\n".join(lines)
        elif channel == "telegram":
            sender = {"telegram_id": c.telegram_id, "name": first_name}
            if rng.random() < 0.5:
                sender["phone"] = "+62" + c.phone
            out["sender"] = sender
            body = informal(rng, f"{greeting}{lead}{complaint}.") + f" {closing}"
            r = rng.random()
            if r < 0.35:
                body += f" {rng.choice(PHONE_LABELS)} {format_phone(rng, c.phone)}."
            elif r < 0.5:
                body += f" email saya {c.email}."
            out["body"] = body.strip()
        elif channel == "instagram":
            out["sender"] = {"instagram_id": c.instagram_id,
                             "instagram_username": c.instagram_username}
            body = informal(rng, f"{greeting}{lead}{complaint}.") + f" {closing}"
            if rng.random() < 0.6:
                body += f" {rng.choice(PHONE_LABELS)} {format_phone(rng, c.phone)}."
            out["body"] = body.strip()
            out["instagram_kind"] = "dm"
        else:  # webchat
            out["sender"] = ({"name": c.name, "email": c.email} if c.idx % 2 else
                             {"name": c.name, "phone": format_phone(rng, c.phone)})
            if previous and rng.random() < 0.4:
                out["in_reply_to"] = previous
                out["body"] = rng.choice(SHORT_FOLLOWUPS).format(**c.params)
            else:
                body = informal(rng, f"{greeting}{lead}{complaint}.") + f" {closing}"
                if rng.random() < 0.1:
                    body += f" NIK: {format_nik(rng, c.nik)}"
                out["body"] = body.strip()
        if rng.random() < 0.03 and channel in ("email", "telegram", "webchat"):
            out["attachments"] = [{"filename": "screenshot.jpg", "content_type": "image/jpeg",
                                   "size": rng.randint(20_000, 900_000)}]
        c.last_ext[channel] = ext
        c.sent += 1
        c.remaining -= 1
        return out


MEAN_GAP_S = 20.5  # mean seconds between two messages of the stream


def generate(n: int, seed: int = 1, start: dt.datetime | None = None
             ) -> Iterator[dict[str, Any]]:
    """``n`` normalized messages, ``sent_at`` increasing from ``start`` (default 2026-03-02
    07:00 +07:00), one every ~20 s on average; the same (n, seed, start) gives the same
    messages.  Memory stays bounded: only citizens still writing are kept."""
    s = _Stream(n, seed)
    rng = s.rng
    active: list[Citizen] = []
    when = (start or START).astimezone(WIB)
    # Keep about this many citizens "in conversation" so their messages interleave.
    pool = max(4, min(400, n // 50))
    for _ in range(n):
        # A citizen who is done is replaced by a new one: the total is ~n/3.5 (the mean of 1..6).
        if len(active) < pool:
            active.append(s.new_citizen())
        i = rng.randrange(len(active))
        c = active[i]
        when += dt.timedelta(seconds=rng.expovariate(1 / 20), microseconds=rng.randrange(10**6))
        yield s.message(c, when)
        if c.remaining <= 0:
            active[i] = active[-1]
            active.pop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("n", type=int, help="number of messages")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", type=dt.datetime.fromisoformat, default=None,
                   help="sent_at of the stream's start, ISO 8601 with offset "
                        "(default 2026-03-02T07:00:00+07:00)")
    args = p.parse_args(argv)
    out = sys.stdout
    write = out.write
    for msg in generate(args.n, args.seed, args.start):
        write(json.dumps(msg, ensure_ascii=False) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
