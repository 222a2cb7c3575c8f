"""``make run``'s demo desk: the demo accounts (created once, printed with their logins) and, on
an empty database, a few days of citizen traffic dated relative to now on every channel.

The traffic is made here (names, numbers and complaints drawn from a fixed seed), ingested
through the same pipeline as live channels, then the SLA timer and the routing tick run once:
tickets of the last days have breached and escalated, some opened a few business hours ago are
due soon, the newest wait in the queue; the demo agents are online, so auto-assigning teams
give them tickets, and the demo agent has already answered two (the answers are in the dev
mailbox).  A database that already holds tickets is left alone."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from ticketing.app import App, build_app
from ticketing.domain.calendar import BusinessCalendar, add_business_time
from ticketing.domain.errors import TicketingError
from ticketing.domain.raw import RawDelivery, message_key
from ticketing.domain.zones import WIB
from ticketing.entrypoints import jobs
from ticketing.entrypoints.worker import deliver
from ticketing.services import accounts, presence, replies
from ticketing.services.ingest import NORMALIZED_JSON, store_and_process
from ticketing.store import tables
from ticketing.store import webchat as chat_store

DEMO = (
    ("admin@prakerja.example.id", "Admin Demo", "admin", "admin-demo-123", "", "id,en"),
    ("supervisor@prakerja.example.id", "Supervisor Demo", "supervisor", "supervisor-demo-123",
     "", "id,en"),
    ("agent@prakerja.example.id", "Agen Demo", "agent", "agent-demo-123",
     "insentif,otp,nik,akun,pelatihan,rekening,gelombang", "id"),
    ("agent2@prakerja.example.id", "Agen Dua", "agent", "agent2-demo-123",
     "insentif,otp,nik,akun,pelatihan,rekening,gelombang,lainnya", "id,en"),
)
AGENTS = ("agent@prakerja.example.id", "agent2@prakerja.example.id",
          "supervisor@prakerja.example.id")
CHANNELS = ("email", "webchat", "telegram", "phone", "instagram", "api")
NAMES = ("Siti Rahmawati", "Budi Santoso", "Dewi Lestari", "Agus Pratama", "Rina Marlina",
         "Joko Susilo", "Putu Ayu", "Made Wirawan", "Nur Aini", "Hendra Gunawan",
         "Yuliana Sari", "Rudi Hartono", "Fitri Handayani", "Andi Saputra", "Lina Kusuma")
# (topic hint, complaint) — the first sentence is what the ticket is about.
COMPLAINTS = (
    "Insentif bulan kedua belum masuk ke rekening saya padahal pelatihan sudah selesai.",
    "Kode OTP tidak pernah terkirim ke nomor HP saya, sudah coba berkali-kali.",
    "NIK saya dinyatakan tidak valid saat pendaftaran padahal KTP asli.",
    "Saya tidak bisa masuk ke akun, halaman dashboard hanya loading terus.",
    "Voucher pelatihan sudah terpakai tapi kelas tidak bisa diakses.",
    "Saya salah memasukkan nomor rekening bank, bagaimana cara menggantinya?",
    "Status saya di gelombang terakhir masih menunggu, kapan pengumumannya?",
    "Sertifikat pelatihan belum muncul di dashboard padahal sudah lulus ujian.",
    "Dana insentif survei belum cair sudah dua minggu.",
    "Email verifikasi tidak pernah datang ke kotak masuk saya.",
    "Akun e-wallet saya sudah ganti, apakah insentif bisa dikirim ke akun baru?",
    "Lupa kata sandi dan tautan reset tidak berfungsi.",
)
GREETINGS = ("Selamat pagi admin,", "Halo kak,", "Permisi,", "Selamat siang,", "")
FOLLOW_UPS = ("Mohon dibantu segera.", "Terima kasih.", "Saya tunggu kabarnya.",
              "Tolong dicek ya.")
AGENT_GREETING = "Agen: Selamat datang di layanan Prakerja, ada yang bisa dibantu?"
DAYS = 4
TICKETS = 46


def _phone(rng: random.Random) -> str:
    return f"08{rng.randint(11, 59)}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"


def _nik(rng: random.Random) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(16))


def _sender(channel: str, name: str, rng: random.Random, n: int) -> dict[str, Any]:
    handle = name.lower().replace(" ", ".")
    if channel == "email":
        return {"email": f"{handle}{n}@mail.example.id", "name": name}
    if channel == "webchat":
        return {"name": name, "email": f"{handle}.chat{n}@mail.example.id"}
    if channel == "telegram":
        return {"telegram_id": str(5_000_000_000 + n), "name": name.split()[0]}
    if channel == "phone":
        return {"phone": _phone(rng), "name": name}
    if channel == "instagram":
        return {"instagram_id": str(17_000_000_000_000_000 + n),
                "instagram_username": f"{handle.replace('.', '_')}{n}"}
    return {"name": name, "email": f"{handle}.api{n}@mail.example.id"}


def _body(channel: str, complaint: str, rng: random.Random) -> str:
    nik = f" NIK saya {_nik(rng)}." if rng.random() < 0.4 else ""
    tail = rng.choice(FOLLOW_UPS)
    if channel == "phone":
        return (f"{AGENT_GREETING}\nPenelepon: Halo, selamat siang. {complaint}\n"
                f"Agen: Baik, boleh disebutkan NIK Bapak/Ibu?\nPenelepon:{nik or ' Sebentar.'}\n"
                "Agen: Baik, akan kami teruskan ke tim terkait.")
    return " ".join(p for p in (rng.choice(GREETINGS), complaint, tail, nik.strip()) if p)


def _open_start(calendar: BusinessCalendar, now: dt.datetime, due_in: dt.timedelta,
                hours: float) -> dt.datetime:
    """A start whose ``hours`` of business time end about ``due_in`` from now (due soon)."""
    target, amount = now + due_in, dt.timedelta(hours=hours)
    lo, hi = now - dt.timedelta(days=10), now
    for _ in range(40):
        mid = lo + (hi - lo) / 2
        if add_business_time(calendar, mid, amount) <= target:
            lo = mid
        else:
            hi = mid
    return lo


def traffic(now: dt.datetime, calendar: BusinessCalendar, *, seed: int = 15
            ) -> Iterator[dict[str, Any]]:
    """Normalized messages for the last ``DAYS`` days, oldest first: spread over each day's
    service hours, a few opened so their first response is due within the hour, a few from
    the last minutes, and follow-ups from some citizens."""
    rng = random.Random(seed)
    local_now = now.astimezone(WIB)
    starts: list[dt.datetime] = []
    for _ in range(TICKETS - 8):
        day = (local_now - dt.timedelta(days=rng.randint(0, DAYS - 1))).date()
        at = dt.datetime.combine(day, dt.time(rng.randint(7, 20), rng.randint(0, 59)), WIB)
        starts.append(min(at, now - dt.timedelta(minutes=rng.randint(30, 300))))
    for minutes in (20, 35, 50, 90):  # due soon: first response (4 business hours) ends then
        starts.append(_open_start(calendar, now, dt.timedelta(minutes=minutes), 4))
    starts += [now - dt.timedelta(minutes=m) for m in (3, 8, 15, 25)]
    out = []
    for n, start in enumerate(sorted(starts)):
        channel = CHANNELS[n % len(CHANNELS)]
        name = NAMES[n % len(NAMES)]
        complaint = COMPLAINTS[rng.randrange(len(COMPLAINTS))]
        sender = _sender(channel, name, rng, n)
        item: dict[str, Any] = {"channel": channel, "external_id": f"demo-{channel}-{n}",
                                "sent_at": start.isoformat(), "sender": sender,
                                "body": _body(channel, complaint, rng)}
        if channel == "email":
            item["subject"] = complaint.split(",")[0].rstrip(".?")[:60]
        if channel == "instagram":
            item["instagram_kind"] = "dm"
        out.append(item)
        if rng.random() < 0.25 and channel not in ("phone", "instagram"):
            later = min(start + dt.timedelta(minutes=rng.randint(20, 600)),
                        now - dt.timedelta(minutes=1))
            out.append({**item, "external_id": f"demo-{channel}-{n}-2",
                        "sent_at": later.isoformat(),
                        "body": "Halo, masih belum ada kabar soal keluhan saya kemarin."})
    yield from sorted(out, key=lambda m: str(m["sent_at"]))


def _accounts(app: App) -> None:
    with app.engine.begin() as conn:
        for email, name, role, password, skills, langs in DEMO:
            exists = conn.execute(sa.select(accounts.users.c.id)
                                  .where(accounts.users.c.email == email)).first()
            if not exists:
                accounts.create_user(conn, email=email, name=name, role=role, password=password,
                                     skills=[s for s in skills.split(",") if s],
                                     languages=langs.split(","), clock=app.clock)


def _user_id(app: App, email: str) -> int:
    return int(app.read(lambda c: c.execute(sa.select(tables.users.c.id)
                                            .where(tables.users.c.email == email)).scalar_one()))


def seed(app: App) -> int:
    """The demo desk's traffic on an empty database; the number of messages ingested."""
    if app.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(tables.tickets))
                .scalar_one()):
        return 0
    now = app.clock.now()
    setup = app.sla_setup
    policy, calendar = setup.policy_for(channel="email", topic=None, priority="normal",
                                        team=None)
    del policy
    items = list(traffic(now, calendar))
    raws = [RawDelivery(channel="api", key=message_key(i["channel"], i["external_id"]),
                        payload=json.dumps(i).encode(), content_type=NORMALIZED_JSON)
            for i in items]
    for start in range(0, len(raws), 100):
        store_and_process(app.uow, raws[start:start + 100], policy=app.ingest_policy,
                          clock=app.clock)
    jobs.escalating_sla_tick(app)
    with app.engine.begin() as conn:
        for email in AGENTS:
            presence.set_status(conn, _user_id(app, email), "online", config=app.routing,
                                now=now)
    _first_answers(app)
    _ratings(app)
    return len(items)


def _ratings(app: App) -> None:
    """A few web chats rated at their end, so the report's ratings section shows something."""
    t = tables.tickets
    now = app.clock.now()
    with app.engine.begin() as conn:
        ids = conn.execute(sa.select(t.c.id).where(t.c.channel == "webchat")
                           .order_by(t.c.id).limit(5)).scalars().all()
        for n, (tid, value) in enumerate(zip(ids, (5, 4, 2, 5, 4))):
            chat_store.rate(conn, tid, value, now - dt.timedelta(hours=3 + 7 * n))


def _first_answers(app: App) -> None:
    """The demo agent claims two tickets and answers one, so the conversation, the delivery
    state and the dev mailbox have something to show."""
    agent = _user_id(app, AGENTS[0])
    who = app.read(accounts.principal_by_email, AGENTS[0])
    assert who is not None
    claimed = [c for c in (jobs.claim_next(app, agent), jobs.claim_next(app, agent)) if c]
    for claim in claimed[:1]:
        with app.engine.begin() as conn:
            try:
                replies.reply_to_ticket(
                    conn, claim.id, "Terima kasih, laporan Anda sedang kami periksa. Kami kabari "
                    "paling lambat besok.", by=who, now=app.clock.now(),
                    from_address=app.settings.support_address, capabilities=app.capabilities)
            except TicketingError:  # a channel that cannot answer: the demo goes on
                pass
    deliver(app)
    jobs.routing_tick(app)


def main() -> None:
    app = build_app()
    _accounts(app)
    seeded = seed(app)
    with app.engine.begin() as conn:
        token = accounts.create_token(conn, email=DEMO[0][0], clock=app.clock)
    if seeded:
        print(f"Demo desk: {seeded} citizen messages of the last {DAYS} days ingested.")
    print("Demo logins (email / password):")
    for email, _, role, password, *_ in DEMO:
        print(f"  {role:<10} {email} / {password}")
    print(f"Admin API token for this run: {token}")
    if app.dev_mailbox is not None:
        print("Outgoing mail goes to the dev mailbox (no SMTP relay set): "
              f"http://{app.settings.http_host}:{app.settings.http_port}/dev/mailbox")
    app.close()


if __name__ == "__main__":
    main()
