"""A seeded, labelled complaint stream of the cases issue 16 is about, written fresh.

Same format and label semantics as ``tests/data/dev.jsonl`` (``gold_customer``, ``gold_ticket`` =
customer|topic), plus a ``category`` per message for ``bench/eval_categories.py``:

* ``plain`` — a first complaint in plain words;
* ``context`` — the problem named together with the context it happened in, in another topic's
  words ("pas daftar gelombang 12 NIK saya ditolak", "setelah ganti rekening, OTP tidak masuk"),
  before or after the problem;
* ``restated`` — the same citizen's next message on the same problem, other words;
* ``repeat`` — a message that says it repeats or follows up ("saya ulangi", "menyambung",
  "same as my email") and names the problem only by its context, or loosely;
* ``vague`` — "gimana min?" with no topic words;
* ``second_problem`` — the same citizen's different problem (must be a ticket of its own), at
  times naming the first problem as its context;
* ``copycat`` — another citizen writing the same words (must never be merged);
* ``english`` / ``regional`` — first complaints in English, or in Javanese, Sundanese, Betawi
  and heavy abbreviations (with context half of the time).

Every citizen writes from one identity (an e-mail address or a phone number, on one or two
channels), so the customer labels are plain and the ticket labels are the point.

    .venv/bin/python bench/problem_stream.py OUT.jsonl OUT.labels.jsonl [--citizens 500] [--seed 16]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from typing import Any

from ticketing.domain.zones import WIB

START = dt.datetime(2026, 6, 1, 7, 0, 0, tzinfo=WIB)
BANKS = ("BRI", "BNI", "Mandiri", "BCA", "BSI", "Bank Jago")
WALLETS = ("GoPay", "OVO", "DANA", "LinkAja", "ShopeePay")
COURSES = ("Barista Dasar", "Desain Grafis", "Bahasa Inggris Kerja", "Tata Rias", "Excel Kantor")
NAMES = ("Sri", "Budi", "Asih", "Cecep", "Tono", "Ijah", "Made", "Yusuf", "Nur", "Teddy", "Lilis",
         "Ujang", "Ratna", "Gilang", "Entin", "Darto", "Mimin", "Fajar", "Oneng", "Sarip")
SURNAMES = ("Widodo", "Saputra", "Lestari", "Hidayat", "Rohmah", "Kurnia", "Siregar", "Nainggolan",
            "Wibisono", "Setiadi", "Pratiwi", "Suganda")

# What went wrong, per topic: (Indonesian, English, regional/abbreviated) phrasings.
PROBLEM: dict[str, dict[str, tuple[str, ...]]] = {
    "insentif": {
        "id": ("insentif saya belum cair juga", "dana insentif tahap {k} tidak kunjung masuk",
               "pencairan insentif saya tertunda terus", "insentif tahap {k} gagal dicairkan",
               "uang insentif belum ditransfer padahal statusnya sudah diproses"),
        "en": ("my incentive has still not been disbursed", "incentive stage {k} never arrived",
               "the incentive payment failed"),
        "reg": ("duit insentif aye kagak cair cair", "insentif kulo durung cair",
                "insentif abdi teu acan cair", "insentif thp {k} blm cair2 min"),
    },
    "otp": {
        "id": ("kode OTP tidak pernah masuk ke HP saya", "SMS kode verifikasi tidak sampai",
               "OTP selalu kadaluarsa sebelum sempat dimasukkan",
               "kode verifikasi tidak muncul walau sudah kirim ulang"),
        "en": ("I never receive the OTP code", "the verification SMS does not arrive",
               "OTP code expired before I could type it"),
        "reg": ("kode otp ora mlebu", "otp teu asup ka hp abdi", "kode otp kagak nyampe"),
    },
    "nik": {
        "id": ("NIK saya ditolak sistem", "NIK saya terdaftar atas nama orang lain",
               "data KTP saya tidak ditemukan di dukcapil", "verifikasi e-KTP gagal terus",
               "foto KTP saya ditolak terus"),
        "en": ("my NIK is rejected", "my NIK is already registered to someone else",
               "my ID card (KTP) data is not found"),
        "reg": ("NIK kulo ditolak terus", "ktp abdi teu kapanggih di dukcapil",
                "nik gw ditolak mulu"),
    },
    "akun": {
        "id": ("tidak bisa login, katanya password salah", "akun saya terkunci",
               "link reset kata sandi tidak pernah datang", "akun saya tiba-tiba dinonaktifkan"),
        "en": ("I cannot log in, it says wrong password", "my account is locked",
               "the password reset link never arrives"),
        "reg": ("ora iso login, password salah terus", "akun gw kekunci",
                "teu tiasa login ka akun"),
    },
    "pelatihan": {
        "id": ("kode voucher saya ditolak lembaga", "sertifikat pelatihan {c} belum terbit",
               "kode redeem sudah terpakai padahal belum pernah saya pakai",
               "kelas {c} tidak bisa diakses"),
        "en": ("my training voucher code is rejected", "the certificate for {c} is not issued",
               "the redeem code is already used"),
        "reg": ("voucher kulo ditolak lembaga", "sertif {c} durung metu",
                "kode redeem gw udah kepake"),
    },
    "rekening": {
        "id": ("rekening {b} saya ditolak saat validasi", "akun {w} saya gagal dihubungkan",
               "nama di rekening tidak cocok, mau diganti",
               "nomor {w} salah input, bagaimana cara mengganti"),
        "en": ("my {b} bank account is rejected", "I cannot link my {w} wallet",
               "wrong bank account number, need to change it"),
        "reg": ("rek {b} kulo ditolak", "{w} gw gagal disambungin",
                "norek abdi salah, hoyong diganti"),
    },
    "gelombang": {
        "id": ("saya tidak lolos seleksi gelombang {n}", "pengumuman gelombang {n} belum keluar",
               "status pendaftaran saya di gelombang {n} masih menunggu terus",
               "kuota gelombang {n} penuh terus, tidak bisa daftar"),
        "en": ("I was not selected in wave {n}", "the wave {n} announcement is not out",
               "my registration in batch {n} is still pending"),
        "reg": ("ora lolos seleksi gelombang {n}", "teu lolos gelombang {n}",
                "gw kagak lolos gel {n}"),
    },
}
# Where it happened, per topic (a clause before or after the problem).
CONTEXT: dict[str, dict[str, tuple[str, ...]]] = {
    "insentif": {"id": ("waktu mau cek pencairan insentif", "pas nunggu insentif tahap {k}"),
                 "en": ("while checking my incentive payment",),
                 "reg": ("pas ngecek duit insentif",)},
    "otp": {"id": ("saat verifikasi nomor HP", "setelah minta kode OTP"),
            "en": ("when I verified my phone number",), "reg": ("pas minta kode otp",)},
    "akun": {"id": ("waktu login ke dashboard", "pas buka akun di website"),
             "en": ("after I logged in to the dashboard",), "reg": ("bar login dashboard",)},
    "nik": {"id": ("setelah verifikasi KTP berhasil", "waktu upload foto KTP"),
            "en": ("after my KTP was verified",), "reg": ("pas upload ktp",)},
    "pelatihan": {"id": ("setelah selesai pelatihan {c}", "habis beli kelas {c}"),
                  "en": ("after finishing the {c} course",), "reg": ("bar rampung kelas {c}",)},
    "rekening": {"id": ("setelah ganti rekening ke {b}", "pas menghubungkan {w}"),
                 "en": ("after changing my bank account to {b}",), "reg": ("pas nyambungin {w}",)},
    "gelombang": {"id": ("waktu daftar gelombang {n}", "pas ikut seleksi gelombang {n}",
                         "saat pendaftaran gelombang {n} kemarin"),
                  "en": ("when I registered for wave {n}",), "reg": ("pas daftar gel {n}",)},
}
# A restatement names the problem only loosely, by the context it happened in.
LOOSE = {"id": ("yang soal {ctx} itu, sampai sekarang belum beres",
                "masalah {ctx} kemarin masih sama"),
         "en": ("the issue {ctx} is still not solved",),
         "reg": ("sing {ctx} iku durung beres",)}
MARKERS = {"id": ("Saya ulangi lagi ya min,", "Menyambung pesan saya sebelumnya,",
                  "Belum ada jawaban untuk keluhan saya,", "Sekali lagi saya sampaikan,",
                  "Ini laporan yang sama dengan chat saya kemarin,"),
           "en": ("Same as my email earlier:", "Following up on my previous message,",
                  "Still no answer to my complaint:"),
           "reg": ("wis lapor kemarin durung dibales,", "abdi tos lapor, teu acan dibales,",
                   "udah lapor kemaren belom dibales,")}
VAGUE = ("gimana min, ada kabar?", "udah seminggu loh", "halo? masih nunggu nih",
         "any update please?", "piye min?", "kumaha ieu teh?")
GREET = ("", "Halo min, ", "Selamat pagi, ", "Permisi kak, ", "Assalamualaikum, ", "Hi, ")
CLOSE = ("", " Mohon bantuannya.", " Makasih.", " Tolong dicek ya.", " Please help.")


class Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.rows: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.seq = 0

    def fill(self, text: str) -> str:
        r = self.rng
        return text.format(n=r.randint(20, 80), k=r.randint(1, 4), b=r.choice(BANKS),
                           w=r.choice(WALLETS), c=r.choice(COURSES), ctx="{ctx}")

    def problem(self, topic: str, lang: str) -> str:
        return self.fill(self.rng.choice(PROBLEM[topic][lang]))

    def context(self, topic: str, lang: str) -> str:
        return self.fill(self.rng.choice(CONTEXT[topic][lang]))

    def with_context(self, topic: str, ctx_topic: str, lang: str) -> str:
        ctx, prob = self.context(ctx_topic, lang), self.problem(topic, lang)
        if self.rng.random() < 0.6:
            sep = self.rng.choice((", ", " ", ": "))
            return f"{ctx[0].upper()}{ctx[1:]}{sep}{prob}"
        return f"{prob[0].upper()}{prob[1:]} {ctx}"

    def emit(self, who: dict[str, Any], at: dt.datetime, body: str, topic: str, cat: str) -> None:
        r = self.rng
        self.seq += 1
        if body[-1] not in ".?!:," and r.random() < 0.7:  # some citizens never punctuate
            body += "."
        text = f"{r.choice(GREET)}{body}{r.choice(CLOSE)}".strip()
        channel = r.choice(who["channels"])
        row: dict[str, Any] = {"channel": channel, "sent_at": at.isoformat()}
        if channel == "email":
            row |= {"external_id": f"<p16.{self.seq}@mail.example.id>",
                    "sender": {"email": who["email"], "name": who["name"]},
                    "subject": "Keluhan" if r.random() < 0.5 else "Mohon bantuan", "body": text}
        elif channel == "phone":
            row |= {"external_id": f"p16-call-{self.seq}", "sender": {"phone": who["phone"]},
                    "body": f"Agen: Layanan Prakerja, ada yang bisa dibantu?\nPenelepon: {text}\n"
                            "Agen: Baik, kami catat dan teruskan."}
        else:
            key = "email" if "email" in who["ids"] else "phone"
            row |= {"external_id": f"p16-wc-{self.seq}", "body": text,
                    "sender": {"name": who["name"], key: who[key]}}
        label = {"external_id": row["external_id"], "channel": channel,
                 "gold_customer": who["gold"], "gold_ticket": f"{who['gold']}|{topic}",
                 "category": cat}
        self.rows.append((row, label))


def citizen(g: Gen, i: int) -> dict[str, Any]:
    r = g.rng
    name = f"{r.choice(NAMES)} {r.choice(SURNAMES)}"
    phone = f"08{r.choice((12, 13, 21, 52, 57, 77, 95))}{r.randint(10_000_000, 99_999_999)}"
    email = f"{name.lower().replace(' ', '.')}.{i}@contoh.id"
    if r.random() < 0.5:
        return {"name": name, "email": email, "ids": ("email",), "gold": f"email:{email}",
                "channels": r.choice((("email",), ("email", "webchat"), ("webchat",)))}
    return {"name": name, "phone": phone, "ids": ("phone",), "gold": f"phone:62{phone[1:]}",
            "channels": r.choice((("phone",), ("phone", "webchat"), ("webchat",)))}


def scenario(g: Gen, who: dict[str, Any], start: dt.datetime) -> None:
    r = g.rng
    topics = list(PROBLEM)
    topic = r.choice(topics)
    ctx_topic = r.choice([t for t in topics if t != topic])
    lang = r.choices(("id", "en", "reg"), weights=(6, 2, 2))[0]
    first_cat = {"id": "plain", "en": "english", "reg": "regional"}[lang]
    at = start
    step = lambda: dt.timedelta(minutes=r.randint(20, 60 * 30))  # noqa: E731
    kind = r.choices(("context", "repeat", "two", "plain"), weights=(4, 3, 2, 1))[0]
    if kind in ("context", "repeat"):
        body = g.with_context(topic, ctx_topic, lang)
        g.emit(who, at, body, topic, "context" if lang == "id" else first_cat)
        if r.random() < 0.7:
            at += step()
            g.emit(who, at, g.problem(topic, r.choice(("id", lang))), topic, "restated")
        at += step()
        if kind == "repeat":
            loose = r.choice(LOOSE[lang]).replace("{ctx}", g.context(ctx_topic, lang))
            g.emit(who, at, f"{r.choice(MARKERS[lang])} {loose}", topic, "repeat")
        else:
            g.emit(who, at, r.choice(VAGUE), topic, "vague")
    elif kind == "two":
        g.emit(who, at, g.problem(topic, lang), topic, first_cat)
        at += step()
        second = ctx_topic
        body = (g.with_context(second, topic, lang) if r.random() < 0.5
                else g.problem(second, lang))
        g.emit(who, at, body, second, "second_problem")
        if r.random() < 0.5:
            at += step()
            g.emit(who, at, f"{r.choice(MARKERS[lang])} {g.problem(second, lang)}", second,
                   "repeat")
    else:
        g.emit(who, at, g.problem(topic, lang), topic, first_cat)
        at += step()
        g.emit(who, at, f"{r.choice(MARKERS[lang])} {g.problem(topic, lang)}", topic, "repeat")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("labels")
    ap.add_argument("--citizens", type=int, default=500)
    ap.add_argument("--seed", type=int, default=16)
    args = ap.parse_args()
    g = Gen(args.seed)
    people = [citizen(g, i) for i in range(args.citizens)]
    span = 30 * 24 * 3600
    for who in people:
        scenario(g, who, START + dt.timedelta(seconds=g.rng.randint(0, span)))
    # Copycats: other citizens post a complaint word for word.
    originals = [(row, lab) for row, lab in g.rows if lab["category"] in ("context", "plain")]
    for row, lab in g.rng.sample(originals, min(len(originals), args.citizens // 10)):
        who = citizen(g, len(people))
        people.append(who)
        at = dt.datetime.fromisoformat(row["sent_at"]) + dt.timedelta(minutes=g.rng.randint(1, 90))
        text = row["body"].split("Penelepon: ")[-1].split("\n")[0]
        g.emit(who, at, text, lab["gold_ticket"].split("|")[1], "copycat")
    g.rows.sort(key=lambda rl: rl[0]["sent_at"])
    with open(args.out, "w", encoding="utf-8") as out, \
            open(args.labels, "w", encoding="utf-8") as labels:
        for row, lab in g.rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            labels.write(json.dumps(lab, ensure_ascii=False) + "\n")
    tickets = {lab["gold_ticket"] for _, lab in g.rows}
    print(f"{len(g.rows)} messages, {len(people)} citizens, {len(tickets)} gold tickets")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
