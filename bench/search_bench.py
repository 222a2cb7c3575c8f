"""Issue 15 figures: search latency (p50/p95) over a seeded desk, on PostgreSQL and SQLite,
against the old way to look for words measured in the same run (``GET /api/v1/tickets?q=``:
``ILIKE '%word%'`` on ticket subjects, newest first, 50 rows).

Seeds ``--tickets`` tickets (one citizen each, a phone identity each, a NIK for a third) with
three messages each (citizen, reply, citizen) of Indonesian complaint text drawn from the
topics' vocabulary, slang and typos, at the revision before 0033 (before the index), then upgrades to head:
the migration's backfill builds the index (timed).  Then runs each query kind ``--repeat``
times through the use case the API runs (``services.search``: read the query, look up, load the
page, mask for an agent), warm, one at a time.

    .venv/bin/python bench/search_bench.py [--tickets 100000] [--kinds postgresql,sqlite]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dedup_scale import database  # noqa: E402

from ticketing.app import App  # noqa: E402
from ticketing.services import search as searching  # noqa: E402
from ticketing.services import views  # noqa: E402
from ticketing.services.accounts import Principal, Role  # noqa: E402
from ticketing.services.clock import FixedClock  # noqa: E402
from ticketing.settings import Settings  # noqa: E402
from ticketing.store import migrate  # noqa: E402
from ticketing.store.db import make_engine  # noqa: E402

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
WORDS = ("insentif cair pencairan dana pelatihan sertifikat voucher kode otp sms login password "
         "akun terblokir rekening bank bri bni ovo gopay gelombang seleksi pengumuman nik ktp "
         "dukcapil verifikasi wajah selfie email reset kelas modul ujian jadwal refund saldo "
         "transfer tahap survei ulasan").split()
FILLER = ("saya sudah belum tidak masih mohon tolong dicek kak min kenapa kapan bagaimana gmn "
          "gk blm udh yg dan di ke dari sejak kemarin minggu lalu hari ini terima kasih sekali "
          "lagi sudah lama menunggu padahal selesai ditransfer masuk muncul bisa").split()
TYPOS = ("insentip", "sertif", "pelatian", "pasword", "glombang", "vocer")
AGENT = Principal(user_id=1, email="agent@example.id", name="Agent", role=Role.AGENT)
QUERIES = {
    "common word": ["insentif", "otp", "pelatihan", "rekening"],
    "two words": ["insentif cair", "kode otp", "reset password", "sertifikat pelatihan"],
    "slang/typo": ["gmn otp", "insentip", "blm cair", "pasword akun"],
    "rare word": ["refund", "dukcapil", "selfie", "modul ujian"],
    "phone written another way": [],  # filled from the seed
    "NIK": [],
    "no match": ["zzqx", "kucing terbang"],
}


def text(rng: random.Random) -> str:
    words = [rng.choice(WORDS) if rng.random() < 0.3 else rng.choice(FILLER)
             for _ in range(rng.randint(8, 40))]
    if rng.random() < 0.05:
        words.insert(rng.randrange(len(words)), rng.choice(TYPOS))
    return " ".join(words).capitalize() + "."


def nik(i: int) -> str:
    return f"3224{28:02d}{1 + i % 28:02d}{1 + i % 12:02d}{80 + i % 20:02d}{1 + i % 9999:04d}"


def seed(engine: sa.Engine, tickets: int, rng: random.Random) -> dict[str, list[str]]:
    """Rows straight into the schema before 0033 (no index yet), in chunks."""
    pg = engine.dialect.name == "postgresql"
    stamp = NOW if pg else NOW.replace(tzinfo=None).isoformat(" ")
    phones, niks = [], []
    chunk = 20_000
    mid = 0
    for start in range(0, tickets, chunk):
        ids = range(start + 1, min(tickets, start + chunk) + 1)
        customers = [(i, f"Warga {i}", stamp) for i in ids]
        idents, tix, msgs = [], [], []
        for i in ids:
            phone = f"+62812{i:08d}"
            idents.append((i, i, "phone", phone, "sender", stamp))
            if i % 3 == 0:
                idents.append((tickets + i, i, "nik", nik(i), "text", stamp))
            if i % 997 == 0:
                digits = f"{i:08d}"
                phones.append(f"0812-{digits[:4]}-{digits[4:]}")
                if i % 3 == 0:
                    niks.append(" ".join(nik(i)[k:k + 4] for k in range(0, 16, 4)))
            tix.append((i, i, "open", "normal", rng.choice(WORDS), "webchat",
                        text(rng)[:300], 3, stamp, stamp, stamp, stamp, "{}"))
            for direction in ("in", "out", "in"):
                mid += 1
                msgs.append((mid, i, i, direction, "webchat", text(rng), stamp, stamp, "[]",
                             "{}"))
        with engine.begin() as conn:
            _put(conn, pg, "customers", "id, display_name, created_at", customers)
            _put(conn, pg, "identities", "id, customer_id, kind, value, source, created_at",
                 idents)
            _put(conn, pg, "tickets", "id, customer_id, status, priority, topic, channel, "
                 "subject, message_count, created_at, updated_at, first_message_at, "
                 "last_message_at, sla_signals", tix)
            _put(conn, pg, "messages", "id, ticket_id, customer_id, direction, channel, body, "
                 "sent_at, received_at, attachments, extra", msgs)
    if pg:
        with engine.begin() as conn:
            for table in ("customers", "identities", "tickets", "messages"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
    return {"phone": phones, "nik": niks}


def _put(conn: sa.Connection, pg: bool, table: str, cols: str, rows: list[tuple[Any, ...]]
         ) -> None:
    if pg:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in cols.split(","))
    conn.exec_driver_sql(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def p95(xs: list[float]) -> float:
    """Nearest rank: a value that was measured."""
    ordered = sorted(xs)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def run(kind: str, tickets: int, repeat: int) -> dict[str, Any]:
    rng = random.Random(15)
    url, drop = database(kind, f"bench_search_{tickets}")
    engine = make_engine(url)
    try:
        from alembic.script import ScriptDirectory
        before = ScriptDirectory.from_config(migrate.alembic_config(url)).get_revision(
            "0033_search").down_revision
        migrate.upgrade(engine, str(before))
        t0 = time.perf_counter()
        found = seed(engine, tickets, rng)
        seeded = time.perf_counter() - t0
        t0 = time.perf_counter()
        migrate.upgrade(engine)  # the backfill: builds the index over what is stored
        backfill = time.perf_counter() - t0
        migrate.vacuum(engine)
        print(f"[{kind}] {tickets:,} tickets, {3 * tickets:,} messages seeded in {seeded:.0f} s; "
              f"index backfill {backfill:.1f} s", flush=True)
        app = App(settings=Settings(database_url=url, config_dir=str(ROOT / "config")),
                  clock=FixedClock(NOW))
        app.__dict__["engine"] = engine
        QUERIES["phone written another way"] = found["phone"][:4]
        QUERIES["NIK"] = found["nik"][:4]
        vocab = app.search_vocabulary

        def search(q: str) -> None:
            result = app.read(searching.search, AGENT, searching.read_query(vocab, q))
            assert q in ("zzqx", "kucing terbang") or result["items"], (kind, q)

        def old(q: str) -> None:
            app.read(views.list_tickets, AGENT, text=q.split()[0], limit=50)

        by_kind: dict[str, list[float]] = {}
        base: list[float] = []
        for label, qs in QUERIES.items():
            for q in qs:
                search(q)  # warm
                old(q)
            by_kind[label] = [timed(lambda q=q: search(q)) for _ in range(repeat) for q in qs]
            base += [timed(lambda q=q: old(q)) for _ in range(repeat) for q in qs
                     if label != "phone written another way" and label != "NIK"]
        every = [x for xs in by_kind.values() for x in xs]
        out = {"kind": kind, "tickets": tickets, "messages": 3 * tickets,
               "seed_s": round(seeded), "backfill_s": round(backfill, 1),
               "per_kind": {k: {"p50": round(statistics.median(v), 1), "p95": round(p95(v), 1)}
                            for k, v in by_kind.items()},
               "search_p50": round(statistics.median(every), 1),
               "search_p95": round(p95(every), 1),
               "old_ilike_p50": round(statistics.median(base), 1),
               "old_ilike_p95": round(p95(base), 1)}
        out["p95_ratio_to_old"] = round(out["search_p95"] / out["old_ilike_p95"], 2)
        return out
    finally:
        engine.dispose()
        drop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tickets", type=int, default=100_000)
    p.add_argument("--kinds", default="postgresql,sqlite")
    p.add_argument("--repeat", type=int, default=10)
    args = p.parse_args(argv)
    for kind in args.kinds.split(","):
        result = run(kind, args.tickets, args.repeat)
        print(json.dumps(result, indent=1), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
