"""A seeded, labelled "hard" complaint stream, written independently of the dev stream's templates.

Same format as ``tests/data/dev.jsonl`` / ``dev.labels.jsonl`` and the same label semantics
(``/work/shared/data/complaints/README.md``):

* ``gold_customer``: the connected component of identifiers that the messages *evidence* — the
  sender fields, plus identifiers the writer gives as their own in the text (first-person labels,
  signature lines, a NIK read out on a call when the agent asked for it).  Numbers of other people
  (relatives, the help desk, bank accounts, e-wallets) never link.  Keyed by the component's
  strongest identifier (nik > phone > email > tg > ig).
* ``gold_ticket``: ``gold_customer|topic``.

What makes it hard: new informal phrasings for all 7 topics (slang, typos, regional words, English,
all-caps, no punctuation), vague follow-ups only when the citizen's previous message was the same
complaint from the same sender (so a perfect engine can know where they belong), quoted Gmail
(ID/EN) and Outlook replies, signatures, call transcripts in several label styles with timestamps,
NIK and phone numbers in many formats, relatives' numbers that belong to *other citizens of the
stream*, bank accounts with a NIK's structure, a shared help-desk number, copy-pasted identical
complaints by different citizens, two complaints of one citizen on one day, Instagram accounts that
never identify themselves, reply threads, and citizens whose NIK, phone and e-mail channels are only
joined by a later message.

    .venv/bin/python bench/hard_stream.py OUT.jsonl OUT.labels.jsonl [--citizens 900] [--seed 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from dataclasses import dataclass, field
from typing import Any

import phonenumbers

from ticketing.domain.zones import WIB

START = dt.datetime(2026, 4, 6, 7, 0, 0, tzinfo=WIB)
TOPICS = ("insentif", "otp", "nik", "akun", "pelatihan", "rekening", "gelombang")

FIRST_M = ("Slamet", "Bambang", "Asep", "Ujang", "Wayan", "Putu", "Gede", "Rahmat", "Irfan",
           "Taufik", "Yoga", "Galih", "Reza", "Ferry", "Hadi", "Sutrisno", "Darmawan", "Lukman",
           "Ridwan", "Fauzan", "Aldi", "Bagas", "Dani", "Iwan")
FIRST_F = ("Siska", "Eka", "Novi", "Rini", "Yuni", "Dian", "Wati", "Kartika", "Anisa", "Fitriani",
           "Sulastri", "Nengsih", "Euis", "Ning", "Tuti", "Hana", "Citra", "Laras", "Melati",
           "Rosmala", "Vina", "Zahra", "Ambar", "Sekar")
LAST = ("Purba", "Sinaga", "Tampubolon", "Pardede", "Kusuma", "Wahyudi", "Hartono", "Suharto",
        "Maulana", "Ramadhan", "Syahputra", "Anggraini", "Permana", "Sumarno", "Daulay",
        "Panjaitan", "Situmorang", "Mahendra", "Sihombing", "Rangkuti", "Tanjung", "Fadillah")
MAIL_DOMAINS = ("gmail.com", "gmail.com", "gmail.com", "yahoo.co.id", "yahoo.com", "outlook.co.id",
                "hotmail.com", "rocketmail.com", "icloud.com")
OPERATORS = ("811", "812", "813", "821", "822", "823", "851", "852", "853", "855", "856", "857",
             "858", "814", "815", "816", "817", "818", "819", "859", "877", "878", "831", "832",
             "833", "838", "895", "896", "897", "898", "899", "881", "882", "883", "887", "888")
PROVINCES = (11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53, 61, 62,
             63, 64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 94)
BANKS = ("BRI", "BNI", "BCA", "Mandiri", "BSI", "BTN", "SeaBank", "Bank Jago", "CIMB Niaga")
WALLETS = ("OVO", "GoPay", "DANA", "LinkAja", "ShopeePay")
COURSES = ("Barista Pemula", "Akuntansi UMKM", "Editing Video", "Copywriting", "Web Developer",
           "Budidaya Lele", "Tata Rias", "Menjahit Pakaian", "Teknisi AC", "Ms Word Excel")
PLATFORMS = ("Tokopedia", "Bukalapak", "Pintaria", "Sekolahmu", "Pijar Mahir", "Skill Academy")

# Each topic: phrasings with {n} {wallet} {wallet2} {bank} {course} {platform}.  Written fresh, in
# the register citizens use on social media: slang, regional words, English, no punctuation.
PHRASES: dict[str, tuple[str, ...]] = {
    "insentif": (
        "dana insentif {n} bulan ga cair2 min",
        "kapan sih insentifnya ditransfer? udh nunggu lama bgt",
        "INSENTIF SAYA BELUM MASUK KE {wallet} PADAHAL UDAH SELESAI PELATIHAN",
        "insentif tahap {n} ko blm ada ya",
        "uang insentif blm diterima sama sekali smp hari ini",
        "incentive belum cair sampai sekarang padahal sudah kasih rating dan ulasan",
        "the incentive hasn't been disbursed yet pls check",
        "pencairan insentif sy gagal terus statusnya gagal transfer",
        "insentif ku durung cair min wis {n} minggu",
        "kok insentif cuma cair sekali doang tahap 2 sama 3 kemana",
        "sy blm nerima insentif pasca pelatihan",
        "insentip sy blom cair kak",
        "udah ngisi survei tp insentif ga turun2",
        "insentif nya nyangkut kah min? sdh {n} hari",
        "insentif teu acan cair kang",
        "saldo {wallet} masih 0 insentifnya kemana ya",
    ),
    "otp": (
        "otp nya ga masuk2 min udh coba berkali kali",
        "kode OTP gak nyampe ke hp",
        "ga dapet sms otp gimana mau verifikasi",
        "OTP TIDAK TERKIRIM KE NOMOR SAYA",
        "kode verifikasinya ga muncul di sms",
        "otp expired terus sblm sempat diinput",
        "OTP not received sudah resend berkali2",
        "udah klik kirim ulang kode tp tetep gk ada sms masuk",
        "kode otp ora mlebu min",
        "otp dikirim ke nomor lama yg udh hangus gmn dong",
        "kode otp ditolak terus padahal udah sesuai sms",
        "nunggu otp dr kmrn ga dtg2",
        "verifikasi nomor hp gagal krn kode ga masuk",
        "i didnt get the otp code at all",
    ),
    "nik": (
        "nik sy ga terdaftar katanya pdhl ktp asli",
        "NIK SUDAH DIPAKAI ORANG LAIN??",
        "gagal verifikasi ktp terus padahal foto udah jelas",
        "muncul tulisan NIK tidak valid",
        "data ktp ga sesuai dukcapil nama sy beda satu huruf",
        "verifikasi wajah selfie gagal terus",
        "NIK invalid padahal e-ktp baru jadi",
        "katanya nik ku wis kedaftar aku durung pernah daftar",
        "tanggal lahir di data beda sama yg di ktp",
        "ktp sy udh pindah domisili jd gabisa verifikasi",
        "my KTP verification keeps failing",
        "pas upload foto ktp error mulu data diri ditolak",
        "nomor induk kependudukan sy dibilang tdk ditemukan",
        "nik ga cocok sama data dukcapil",
    ),
    "akun": (
        "gabisa login min katanya password salah",
        "akun sy keblokir stlh salah pw 3x",
        "lupa kata sandi link reset ga pernah dateng",
        "LOGIN GAGAL TERUS",
        "can't login to my account keeps loading",
        "akun ke logout sendiri terus",
        "dashboard ga kebuka cuma loading muter2",
        "akunnya di suspend tanpa alasan",
        "mau ganti password tp gagal terus",
        "akun saya kayaknya diretas email diganti orang",
        "gak bisa masuk akun muncul error terus",
        "ga bisa sign in pake email",
        "captcha nya error terus pas mau login",
        "lupa password akun prakerja gmn resetnya",
    ),
    "pelatihan": (
        "sertifikat ga keluar2 padahal udh lulus",
        "voucher pelatihan hangus sblm dipake",
        "kelas {course} ga bisa dibuka stlh redeem",
        "udh beli pelatihan di {platform} tp ga bisa akses video",
        "kode voucher ga valid di {platform}",
        "nilai posttest ga muncul",
        "certificate belum terbit padahal course udah selesai",
        "mau refund pelatihan bisa ga min",
        "jadwal webinar {course} diundur terus",
        "link zoom kelas {course} ga dikirim2",
        "progres kursus ke reset jadi 0",
        "sertif ku durung metu",
        "SERTIFIKAT PELATIHAN {course} TIDAK BISA DIUNDUH",
        "redeem voucher gagal terus di {platform}",
    ),
    "rekening": (
        "mau ganti no rekening krn salah ketik",
        "akun {wallet} gabisa ditautkan",
        "nama di rekening beda sama nama akun",
        "gmn cara ganti e-wallet dr {wallet} ke {wallet2}",
        "rekening {bank} gagal dihubungkan",
        "salah input norek tolong diganti",
        "akun {wallet} ku kena banned mau ganti tujuan pencairan",
        "{wallet} belum terhubung ke akun prakerja",
        "change bank account please rekening lama sudah tutup",
        "nomor rekening ditolak terus",
        "gagal menautkan {wallet} terus min",
        "rek {bank} sy udh ga aktif mau ganti ke {wallet}",
    ),
    "gelombang": (
        "kapan gelombang berikutnya dibuka",
        "gw ga lolos2 udh daftar {n} kali",
        "status masih menunggu terus di gel {n}",
        "pengumuman seleksi kapan keluar",
        "batch {n} udah dibuka belum?",
        "knp sy ga lolos padahal memenuhi syarat",
        "udah join gelombang tp ga ada notif",
        "tes motivasi udah tp hasil seleksi ga muncul",
        "kuota gelombang {n} udah penuh kah",
        "did not pass the selection again why?",
        "mau daftar ulang tp ga bisa gabung gelombang",
        "GELOMBANG {n} KAPAN DIUMUMKAN",
    ),
}
VAGUE = (
    "masih blm ada kabar min", "gmn kak??", "udah 3 hari nih", "halo min?", "kok diem aja",
    "ditunggu ya kak", "min???", "sudah ada update?", "any update min", "gimana kelanjutannya",
    "mohon segera ditindaklanjuti", "piye min", "kumaha ieu teh", "tolong respon", "PLISSS BALES",
    "masih sama min blm berubah", "belum juga nih", "udh seminggu loh", "saya tunggu jawabannya",
    "up", "ok makasih infonya tp masih gitu2 aja", "halooo admin", "kok lama bgt sih",
    "masih belum beres kak", "gmn min ada perkembangan?", "follow up yg kemarin ya",
)
GREET = ("", "", "min ", "kak ", "halo min, ", "permisi kak ", "Assalamualaikum, ", "pagi min ",
         "Selamat siang. ", "hi admin ", "tolong dong min ", "Yth admin prakerja, ", "punten, ",
         "Dear Admin, ", "sore kak ")
CLOSE = ("", "", "", " mohon bantuannya", " makasih", " thx", " 🙏🙏", " tolong ya",
         " ditunggu", " plis bantu", " terima kasih banyak", " mksh min", ".")
REPEAT = ("", "", "sy ulang lg ya, ", "lanjutan yg kemarin, ", "ini soal yg sama, ",
          "udh email jg tp blm dibalas, ", "sblmnya udh telp, ", "td udh dm ig, ", "masih soal ini, ")
VIRAL = (
    "Mohon bantuan admin, insentif saya belum cair sudah 2 bulan #prakerja",
    "min tolong otp ga masuk2 dari kemarin",
    "kenapa sy ga lolos gelombang terus padahal sudah ikut semua tes??",
    "sertifikat belum keluar padahal sudah selesai semua materi",
)
HELPDESK_PHONE = "+6281110001500"
SLANG_SUBS = {"tidak": ("gk", "ga", "tdk", "nggak"), "sudah": ("udh", "sdh", "udah"),
              "saya": ("sy", "aku", "gw"), "yang": ("yg",), "belum": ("blm", "blom"),
              "tolong": ("tlg",), "padahal": ("pdhl",), "bisa": ("bs",)}


def rand_phone(rnd: random.Random) -> str:
    while True:
        op = rnd.choice(OPERATORS)
        rest = "".join(rnd.choice("0123456789") for _ in range(rnd.choice((7, 8, 8, 8))))
        e164 = "+62" + op + rest
        if phonenumbers.is_valid_number(phonenumbers.parse(e164)):
            return e164


def rand_nik(rnd: random.Random, female: bool) -> str:
    day = rnd.randint(1, 28) + (40 if female else 0)
    return (f"{rnd.choice(PROVINCES):02d}{rnd.randint(1, 30):02d}{rnd.randint(1, 25):02d}"
            f"{day:02d}{rnd.randint(1, 12):02d}{rnd.randint(60, 99) if rnd.random() < .8 else rnd.randint(0, 5):02d}"
            f"{rnd.randint(1, 2999):04d}")


def fmt_phone(rnd: random.Random, e164: str) -> str:
    n = e164[3:]  # 8xx...
    a, b, c = n[:3], n[3:7], n[7:]
    return rnd.choice((
        f"0{a}-{b}-{c}", f"0{a} {b} {c}", f"0{n}", f"+62 {a}-{b}-{c}", f"+62 {a} {b} {c}", f"+62{n}",
        f"62{n}", f"0062 {a} {b} {c}", f"(+62) {a} {b} {c}", f"(+62){n}", f"0{a}.{b}.{c}",
        f"+62-{a}-{b}-{c}", f"62 {a} {b}{c}", f"0{a}{b} {c}", f"+62 {n}",
    ))


def fmt_nik(rnd: random.Random, nik: str) -> str:
    return rnd.choice((
        nik, nik, f"{nik[:4]} {nik[4:8]} {nik[8:12]} {nik[12:]}", f"{nik[:2]}.{nik[2:4]}.{nik[4:6]}.{nik[6:12]}.{nik[12:]}",
        f"{nik[:6]} {nik[6:12]} {nik[12:]}", f"{nik[:4]}-{nik[4:8]}-{nik[8:12]}-{nik[12:]}",
        f"{nik[:4]}.{nik[4:8]}.{nik[8:12]}.{nik[12:]}", f"{nik[:6]}-{nik[6:12]}-{nik[12:]}",
    ))


@dataclass
class Citizen:
    idx: int
    first: str
    last: str
    female: bool
    nik: str
    phone: str
    email: str | None
    tg: str | None
    ig: str | None
    ig_user: str | None
    ig_only: bool
    complaints: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass
class Msg:
    cit: Citizen
    topic: str
    at: dt.datetime
    channel: str = ""
    kind: str = "topical"  # topical | vague | viral
    sender_key: str = ""
    record: dict[str, Any] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)  # evidence identifiers (for the gold labels)


class Gen:
    def __init__(self, n_citizens: int, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.n = n_citizens
        self.citizens: list[Citizen] = []
        self.counter = 0

    # --- text noise -------------------------------------------------------------------------------
    def noisy(self, text: str) -> str:
        rnd = self.rnd
        words = text.split(" ")
        out = []
        for w in words:
            low = w.lower()
            if low in SLANG_SUBS and rnd.random() < 0.5:
                w = rnd.choice(SLANG_SUBS[low])
            elif len(w) >= 6 and w.isalpha() and rnd.random() < 0.06:  # one typo
                i = rnd.randrange(1, len(w) - 1)
                op = rnd.choice("sdr")
                w = (w[:i] + w[i + 1] + w[i] + w[i + 2:] if op == "s" else
                     w[:i] + w[i + 1:] if op == "d" else w[:i] + w[i] + w[i:])
            out.append(w)
        text = " ".join(out)
        r = rnd.random()
        if r < 0.08:
            text = text.upper()
        elif r < 0.3:
            text = text.lower()
        if rnd.random() < 0.25:
            text = "".join(ch for ch in text if ch not in ",.?!")
        if rnd.random() < 0.1:
            text += rnd.choice(("!!!", "??", " 😭", " 😡😡", "...", " wkwk"))
        return text

    def fill(self, tpl: str) -> str:
        rnd = self.rnd
        w1, w2 = rnd.sample(WALLETS, 2)
        return tpl.format(n=rnd.randint(2, 70), wallet=w1, wallet2=w2, bank=rnd.choice(BANKS),
                          course=rnd.choice(COURSES), platform=rnd.choice(PLATFORMS))

    def complaint_text(self, topic: str, repeat: bool) -> str:
        rnd = self.rnd
        core = self.noisy(self.fill(rnd.choice(PHRASES[topic])))
        pre = rnd.choice(REPEAT) if repeat else ""
        return f"{rnd.choice(GREET)}{pre}{core}{rnd.choice(CLOSE)}".strip()

    # --- evidence phrasings -------------------------------------------------------------------------
    def own_nik(self, c: Citizen, first_person: bool = False) -> str:
        nik = fmt_nik(self.rnd, c.nik)
        forms = ["NIK saya {v}", "nik sy {v}", "nik ku {v}", "No KTP saya: {v}", "ktp aku {v}",
                 "nomor induk kependudukan saya {v}", "NIK sy : {v}", "my NIK is {v}",
                 "ini nik saya ya {v}", "NIK-ku {v}"]
        if not first_person:
            forms += ["NIK: {v}", "nik {v}", "No. KTP {v}", "data: NIK {v}"]
        return self.rnd.choice(forms).format(v=nik)

    def own_phone(self, c: Citizen, first_person: bool = False) -> str:
        ph = fmt_phone(self.rnd, c.phone)
        forms = ["no hp saya {v}", "WA saya {v}", "nomor wa sy {v}", "hp aku {v}",
                 "bisa hubungi saya di {v}", "nomer hp ane {v}", "my number {v}",
                 "kontak saya {v}", "nomor saya yg aktif {v}", "no. HP/WA saya: {v}", "hpku {v}"]
        if not first_person:
            forms += ["WA: {v}", "hp {v}", "Telp/WA {v}", "no hp: {v}"]
        return self.rnd.choice(forms).format(v=ph)

    def own_email(self, c: Citizen) -> str:
        assert c.email
        return self.rnd.choice(("email saya {v}", "email sy: {v}", "e-mail aku {v}",
                                "email terdaftar {v}", "my email {v}", "surel saya {v}")).format(v=c.email)

    def other_citizen(self, c: Citizen) -> Citizen:
        while True:
            o = self.rnd.choice(self.citizens)
            if o is not c:
                return o

    def trap(self, c: Citizen, topic: str, vague: bool) -> str:
        """A number or address in the text that is NOT the writer's own.  Kept consistent with the
        message's topic (an account number only in a money complaint, a relative's NIK only in a
        NIK complaint, nothing topical in a vague follow-up) so the gold topic stays knowable."""
        rnd = self.rnd
        kind = rnd.random()
        o = self.other_citizen(c)
        if vague and kind >= 0.25:
            kind = rnd.choice((0.1, 0.6, 0.85))
        if 0.25 <= kind < 0.4 and topic != "nik":
            kind = 0.6
        if 0.4 <= kind < 0.55 and topic not in ("rekening", "insentif"):
            kind = 0.6
        if 0.68 <= kind < 0.8 and topic not in ("rekening", "insentif"):
            kind = 0.85
        if kind < 0.25:
            who = rnd.choice(("ibu saya", "suami sy", "istri saya", "adik sy", "kakak saya",
                              "bapak saya", "temen sy", "mama aku", "sodara saya"))
            form = rnd.choice(("nomor {who} {v} juga ga bisa", "tolong hubungi hp {who} aja {v}",
                               "sy pakai hp {who} {v} utk daftar", "({who}: {v})",
                               "WA {who} {v} jg kena masalah sama"))
            return form.format(who=who, v=fmt_phone(rnd, o.phone))
        if kind < 0.4:
            who = rnd.choice(("ibu saya", "suami saya", "adik sy", "anak saya", "istri sy"))
            return rnd.choice(("NIK {who} {v} jg ditolak", "sy daftarin {who}, nik nya {v}",
                               "ktp {who} {v} malah bisa")).format(who=who, v=fmt_nik(rnd, o.nik))
        if kind < 0.55:
            acct = rand_nik(rnd, rnd.random() < 0.5) if rnd.random() < 0.6 else \
                "".join(rnd.choice("0123456789") for _ in range(rnd.choice((10, 13, 15))))
            sp = " ".join(acct[i:i + 4] for i in range(0, len(acct), 4)) if rnd.random() < .4 else acct
            return rnd.choice(("no rek {bank} {v}", "norek saya {v} a.n. saya sendiri",
                               "rekening {bank} sy {v}", "nomor rekening: {v}",
                               "sudah transfer ke {v}")).format(bank=rnd.choice(BANKS), v=sp)
        if kind < 0.68:
            return rnd.choice(("udh chat WA center {v} ga dibales", "sudah telp ke CS {v} juga",
                               "kata CS hubungi {v} tp ga aktif", "udah wa ke {v} ga ada respon")
                              ).format(v=fmt_phone(rnd, HELPDESK_PHONE))
        if kind < 0.8:
            return rnd.choice(("nomor {w} sy {v}", "akun {w} {v}", "{w}: {v}")).format(
                w=rnd.choice(WALLETS), v=fmt_phone(rnd, rand_phone(rnd)))
        if kind < 0.9:
            money = topic in ("rekening", "insentif")
            return rnd.choice(("tgl 12/04/2026 jam 10.30", "dari tanggal 3-4-2026",
                               f"no tiket #{rnd.randint(10**7, 10**9)}",
                               *((f"ID transaksi {rnd.randint(10**15, 10**16 - 1)}", "nominal Rp 600.000")
                                 if money else ()),
                               *((f"no invoice INV/20260405/MPL/{rnd.randint(10**9, 10**10)}",)
                                 if topic == "pelatihan" else ()),
                               *((f"kode terakhir {rnd.randint(100000, 999999)}",) if topic == "otp" else ())))
        if o.email:
            return rnd.choice(("email adik saya {v} jg sama", "pake email temen {v}")).format(v=o.email)
        return "ini pake hp pinjeman"

    # --- citizens and schedule -------------------------------------------------------------------------
    def make_citizens(self) -> None:
        rnd = self.rnd
        used_ig: set[str] = set()
        for i in range(self.n):
            female = rnd.random() < 0.5
            first = rnd.choice(FIRST_F if female else FIRST_M)
            last = rnd.choice(LAST)
            ig_only = rnd.random() < 0.07
            email = None
            if not ig_only and rnd.random() < 0.6:
                sep = rnd.choice((".", "_", "", ""))
                email = f"{first.lower()}{sep}{last.lower()}{rnd.randint(1, 999)}@{rnd.choice(MAIL_DOMAINS)}"
            tg = str(rnd.randint(10**8, 7 * 10**9)) if not ig_only and rnd.random() < 0.35 else None
            ig = ig_user = None
            if ig_only or rnd.random() < 0.3:
                ig = str(rnd.randint(10**16, 9 * 10**16))
                ig_user = f"{first.lower()}{rnd.choice(('.', '_', ''))}{rnd.randint(1, 9999)}"
                while ig_user in used_ig:
                    ig_user += "x"
                used_ig.add(ig_user)
            self.citizens.append(Citizen(
                idx=i, first=first, last=last, female=female, nik=rand_nik(rnd, female),
                phone=rand_phone(rnd), email=email, tg=tg, ig=ig, ig_user=ig_user, ig_only=ig_only))

    def schedule(self) -> list[Msg]:
        rnd = self.rnd
        msgs: list[Msg] = []
        for c in self.citizens:
            k = rnd.choices((1, 2, 3), (55, 33, 12))[0]
            c.complaints = rnd.sample(TOPICS, k)
            t0 = START + dt.timedelta(minutes=rnd.randint(0, 12 * 24 * 60))
            start = t0
            for j, topic in enumerate(c.complaints):
                if j:  # another problem: same day (a third of the time) or some days later
                    start = start + (dt.timedelta(minutes=rnd.randint(20, 600)) if rnd.random() < 0.35
                                     else dt.timedelta(hours=rnd.randint(12, 100)))
                at = start
                for m in range(rnd.choices((1, 2, 3, 4, 5), (28, 32, 22, 12, 6))[0]):
                    if m:
                        at += dt.timedelta(minutes=rnd.choice((rnd.randint(5, 180), rnd.randint(180, 3000))))
                    if at > START + dt.timedelta(days=15):
                        break
                    msgs.append(Msg(cit=c, topic=topic, at=at))
        msgs.sort(key=lambda m: m.at)
        return msgs

    # --- rendering ---------------------------------------------------------------------------------
    def channels_of(self, c: Citizen) -> list[str]:
        if c.ig_only:
            return ["instagram"]
        out = ["phone", "webchat"]
        if c.email:
            out += ["email", "email"]
        if c.tg:
            out += ["telegram", "telegram"]
        if c.ig:
            out.append("instagram")
        return out

    def render_all(self, msgs: list[Msg]) -> None:
        last_by_cit: dict[int, Msg] = {}
        last_by_sender: dict[str, Msg] = {}
        last_of_complaint: dict[tuple[int, str], Msg] = {}
        viral_at = set(self.rnd.sample(range(len(msgs)), len(msgs) // 40))
        for i, m in enumerate(msgs):
            c = m.cit
            rnd = self.rnd
            prev = last_of_complaint.get((c.idx, m.topic))
            chans = self.channels_of(c)
            m.channel = prev.channel if prev and rnd.random() < 0.55 and prev.channel in chans \
                else rnd.choice(chans)
            self.render(m, prev, last_by_cit.get(c.idx), last_by_sender, i in viral_at)
            last_by_cit[c.idx] = m
            last_by_sender[m.sender_key] = m
            last_of_complaint[(c.idx, m.topic)] = m

    def render(self, m: Msg, prev: Msg | None, last_cit: Msg | None,
               last_by_sender: dict[str, Msg], viral: bool) -> None:
        rnd = self.rnd
        c = m.cit
        self.counter += 1
        n = self.counter
        ch = m.channel
        sender: dict[str, Any] = {}
        rec: dict[str, Any] = {"channel": ch, "sent_at": m.at.isoformat()}
        # sender identity
        if ch == "email":
            assert c.email
            sender = {"email": c.email if rnd.random() < 0.9 else c.email.upper(), "name": c.name}
            m.sender_key, rec["external_id"] = f"email:{c.email}", f"<h{n}.{rnd.randint(10**5, 10**6)}@mail.hard.id>"
            m.ids.add(f"email:{c.email}")
        elif ch == "phone":
            sender = {"phone": fmt_phone(rnd, c.phone), "name": c.name}
            m.sender_key, rec["external_id"] = f"phone:{c.phone}", f"hcall-{n}"
            m.ids.add(f"phone:{c.phone}")
        elif ch == "telegram":
            assert c.tg
            sender = {"telegram_id": c.tg, "name": c.first}
            if rnd.random() < 0.2:
                sender["phone"] = fmt_phone(rnd, c.phone)
                m.ids.add(f"phone:{c.phone}")
            m.sender_key, rec["external_id"] = f"tg:{c.tg}", f"htg-{n}"
            m.ids.add(f"tg:{c.tg}")
        elif ch == "instagram":
            assert c.ig
            sender = {"instagram_id": c.ig, "instagram_username": c.ig_user}
            rec["instagram_kind"] = rnd.choice(("dm", "dm", "comment"))
            m.sender_key, rec["external_id"] = f"ig:{c.ig}", f"hig-{n}"
            m.ids.add(f"ig:{c.ig}")
        else:  # webchat: the form asks for a phone or an e-mail
            if c.email and rnd.random() < 0.4:
                sender = {"name": c.first if rnd.random() < .5 else c.name, "email": c.email}
                m.sender_key = f"email:{c.email}"
            else:
                sender = {"name": c.name, "phone": fmt_phone(rnd, c.phone)}
                m.sender_key = f"phone:{c.phone}"
            m.ids.add(m.sender_key)
            rec["external_id"] = f"hwc-{n}"
        rec["sender"] = sender

        # what is said
        same_sender_prev = last_by_sender.get(m.sender_key)
        can_be_vague = (prev is not None and last_cit is prev and same_sender_prev is prev
                        and ch != "phone")
        if viral and prev is None:
            m.kind = "viral"
            text = next(v for v in VIRAL if _topic_of_viral(v) == m.topic) if any(
                _topic_of_viral(v) == m.topic for v in VIRAL) else self.complaint_text(m.topic, False)
        elif can_be_vague and rnd.random() < 0.45:
            m.kind = "vague"
            text = self.noisy(rnd.choice(VAGUE))
        else:
            text = self.complaint_text(m.topic, prev is not None)
        if m.kind == "vague" and prev is not None and ch in ("email", "telegram", "webchat") and rnd.random() < 0.5:
            rec["in_reply_to"] = prev.record["external_id"]
        elif (prev is not None and prev.channel == ch and same_sender_prev is prev
              and ch in ("email", "telegram", "webchat") and rnd.random() < 0.3):
            rec["in_reply_to"] = prev.record["external_id"]

        claims: list[str] = []
        has_trap = m.kind != "viral" and rnd.random() < 0.14 and not c.ig_only
        if not c.ig_only and m.kind != "viral" and ch != "phone":
            if rnd.random() < 0.3:
                claims.append(self.own_nik(c, has_trap))
                m.ids.add(f"nik:{c.nik}")
            if rnd.random() < 0.2:
                claims.append(self.own_phone(c, has_trap))
                m.ids.add(f"phone:{c.phone}")
            if c.email and ch != "email" and rnd.random() < 0.1:
                claims.append(self.own_email(c))
                m.ids.add(f"email:{c.email}")
        extra = [self.trap(c, m.topic, m.kind == "vague")] if has_trap else []

        if ch == "phone":
            rec["body"] = self.transcript(m, text, extra)
        elif ch == "email":
            rec["subject"] = self.subject(m, prev)
            rec["body"] = self.email_body(m, text, claims, extra, prev)
        else:
            parts = [text, *extra, *claims]
            if len(parts) > 1 and rnd.random() < 0.3:
                rnd.shuffle(parts[1:])
            sep = rnd.choice((". ", " ", "\n", ", "))
            rec["body"] = sep.join(parts)
        if rnd.random() < 0.05:
            rec["attachments"] = [{"filename": f"IMG_2026{rnd.randint(1000, 9999)}.jpg",
                                   "content_type": "image/jpeg", "size": rnd.randint(20_000, 900_000)}]
        m.record = rec

    def subject(self, m: Msg, prev: Msg | None) -> str:
        rnd = self.rnd
        if prev is not None and prev.channel == "email" and rnd.random() < 0.6:
            return "Re: " + prev.record.get("subject", "")
        if m.kind == "vague":
            return rnd.choice(("Mohon bantuan", "URGENT!!", "", "Pertanyaan", "tindak lanjut"))
        return rnd.choice(("Mohon bantuan", "Keluhan", "URGENT!!", "", "Pertanyaan",
                           f"keluhan {m.topic}", f"Masalah {m.topic.upper()}", "Help"))

    def email_body(self, m: Msg, text: str, claims: list[str], extra: list[str],
                   prev: Msg | None) -> str:
        rnd = self.rnd
        c = m.cit
        lines = [rnd.choice(("Yth. Admin,", "Halo,", "Dengan hormat,", "", "Selamat pagi,"))]
        lines.append(" ".join([text, *extra, *claims]).strip())
        sig = rnd.random()
        if sig < 0.35:
            lines += ["", rnd.choice(("Salam,", "Hormat saya,", "Terima kasih,", "Regards,")), c.name,
                      rnd.choice(("HP: ", "Telp/WA: ", "Mobile: ", "", "WA ")) + fmt_phone(rnd, c.phone)]
            m.ids.add(f"phone:{c.phone}")
        elif sig < 0.55:
            lines += ["", "--", c.name, fmt_phone(rnd, c.phone)]
            m.ids.add(f"phone:{c.phone}")
        elif sig < 0.7:
            lines += ["", "Salam,", c.first]
        if rnd.random() < 0.15:
            lines += ["", rnd.choice(("Dikirim dari Yahoo Mail di Android", "Sent from my iPhone"))]
        body = "\n".join(lines).strip("\n")
        if prev is not None and prev.channel == "email" and rnd.random() < 0.7:
            body += "\n\n" + self.quote(prev)
        return body

    def quote(self, prev: Msg) -> str:
        rnd = self.rnd
        c = prev.cit
        old = prev.record["body"]
        when = dt.datetime.fromisoformat(prev.record["sent_at"])
        agent_reply = ("Terima kasih telah menghubungi Prakerja. Laporan Anda sedang kami proses.\n"
                       f"Hubungi WA resmi {fmt_phone(rnd, HELPDESK_PHONE)} atau email pengaduan@prakerja.example.id")
        style = rnd.random()
        if style < 0.35:
            head = f"Pada {when:%a}, {when.day} Apr {when.year} pukul {when:%H.%M}, {c.name} <{c.email}>"
            head += rnd.choice((" menulis:", "\nmenulis:"))
            return head + "\n" + "\n".join("> " + ln for ln in old.splitlines())
        if style < 0.6:
            head = f"On {when:%a}, Apr {when.day}, {when.year} at {when:%I:%M %p} {c.name} <{c.email}> wrote:"
            return head + "\n" + "\n".join("> " + ln for ln in old.splitlines())
        if style < 0.8:
            return ("________________________________\n"
                    f"Dari: Layanan Prakerja <pengaduan@prakerja.example.id>\n"
                    f"Dikirim: {when:%d/%m/%Y %H:%M}\nKepada: {c.email}\nSubjek: RE: laporan\n\n"
                    + agent_reply)
        return ("From: Prakerja Support <pengaduan@prakerja.example.id>\n"
                f"Sent: {when:%A, %B %d, %Y %I:%M %p}\nTo: {c.name} <{c.email}>\nSubject: RE: keluhan\n\n"
                + agent_reply + "\n\n" + "\n".join("> " + ln for ln in old.splitlines()))

    def transcript(self, m: Msg, text: str, extra: list[str]) -> str:
        rnd = self.rnd
        c = m.cit
        agent, caller = rnd.choice((("Agen", "Penelepon"), ("Petugas", "Pelapor"), ("Agent", "Caller"),
                                    ("AGEN", "PENELEPON"), ("Operator", "Penelpon")))
        stamp = rnd.random() < 0.5
        sec = 0
        turns: list[str] = []

        def say(who: str, words: str) -> None:
            nonlocal sec
            sec += rnd.randint(2, 14)
            prefix = f"[{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}] " if stamp else ""
            turns.append(f"{prefix}{who}: {words}")

        say(agent, rnd.choice(("Selamat siang, dengan layanan Prakerja, ada yang bisa dibantu?",
                               "Halo, Prakerja di sini, dengan siapa saya bicara?",
                               "Terima kasih sudah menghubungi Prakerja.")))
        say(caller, f"iya mbak saya {c.first}, {text}")
        if extra:
            say(caller, " ".join(extra))
        if rnd.random() < 0.6:
            say(agent, rnd.choice(("Boleh saya minta NIK nya Bapak/Ibu?", "baik, NIK-nya berapa ya?",
                                   "Untuk verifikasi, sebutkan nomor KTP anda")))
            say(caller, rnd.choice(("{v}", "{v} mbak", "NIK saya {v}", "oh iya, {v}")).format(
                v=fmt_nik(rnd, c.nik)))
            m.ids.add(f"nik:{c.nik}")
            if rnd.random() < 0.3:
                say(agent, f"Baik, saya ulangi {fmt_nik(rnd, c.nik)}, benar?")
                say(caller, "betul")
        if rnd.random() < 0.3:
            say(agent, "Nomor HP yang bisa dihubungi?")
            say(caller, rnd.choice(("nomor ini aja mbak", f"{fmt_phone(rnd, c.phone)}",
                                    f"pakai {fmt_phone(rnd, c.phone)} aja")))
        say(agent, rnd.choice(("Baik, akan kami teruskan ke tim terkait.",
                               f"Baik, jika ada kendala hubungi juga WA {fmt_phone(rnd, HELPDESK_PHONE)}.",
                               "Laporan sudah kami catat, mohon ditunggu 3x24 jam.")))
        return "\n".join(turns)


def _topic_of_viral(text: str) -> str:
    return {0: "insentif", 1: "otp", 2: "gelombang", 3: "pelatihan"}[VIRAL.index(text)]


STRENGTH = ("nik", "phone", "email", "tg", "ig")


def labels_for(msgs: list[Msg]) -> list[dict[str, Any]]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for m in msgs:
        ids = sorted(m.ids)
        find(ids[0])
        for other in ids[1:]:
            ra, rb = find(ids[0]), find(other)
            if ra != rb:
                parent[rb] = ra
    members: dict[str, list[str]] = {}
    for x in list(parent):
        members.setdefault(find(x), []).append(x)
    key_of = {root: min(ms, key=lambda s: (STRENGTH.index(s.split(":", 1)[0]), s))
              for root, ms in members.items()}
    out = []
    for m in msgs:
        cust = key_of[find(next(iter(m.ids)))]
        out.append({"external_id": m.record["external_id"], "channel": m.channel,
                    "gold_customer": cust, "gold_ticket": f"{cust}|{m.topic}",
                    "citizen": f"h{m.cit.idx:05d}", "complaint": f"h{m.cit.idx:05d}/{m.topic}",
                    "kind": m.kind})
    return out


def generate(n_citizens: int = 900, seed: int = 7) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    g = Gen(n_citizens, seed)
    g.make_citizens()
    msgs = g.schedule()
    g.render_all(msgs)
    return [m.record for m in msgs], labels_for(msgs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stream")
    ap.add_argument("labels")
    ap.add_argument("--citizens", type=int, default=900)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    records, labels = generate(args.citizens, args.seed)
    with open(args.stream, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(args.labels, "w", encoding="utf-8") as fh:
        for lab in labels:
            fh.write(json.dumps(lab, ensure_ascii=False) + "\n")
    print(f"{len(records)} messages, {len({lab['citizen'] for lab in labels})} citizens, "
          f"{len({lab['gold_customer'] for lab in labels})} gold customers, "
          f"{len({lab['gold_ticket'] for lab in labels})} gold tickets")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
