"""Shared by bench/telegram_*.py: a fresh database (SQLite file or a new PostgreSQL database),
the environment that points ``ticketing`` at it and at the Bot API stand-in, and helpers."""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TICKETING = Path(sys.executable).with_name("ticketing")
PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TOKEN = "123456:TEST-token"
SECRET = "bench-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """A migrated, empty database URL of ``kind`` (sqlite / postgresql), dropped afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
        upgrade(url, workdir)
        yield url
        return
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"bench_tg_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url, workdir)
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def env_for(url: str, api_url: str, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETING_")}
    env.update({"TICKETING_DATABASE_URL": url, "TICKETING_CONFIG_DIR": str(ROOT / "config"),
                "TICKETING_TELEGRAM_TOKEN": TOKEN, "TICKETING_TELEGRAM_API_URL": api_url,
                "TICKETING_TELEGRAM_WEBHOOK_SECRET": SECRET, "TICKETING_ACK_ENABLED": "0",
                "PYTHONPATH": str(ROOT), **more})
    return env


def upgrade(url: str, workdir: Path) -> None:
    subprocess.run([str(TICKETING), "db", "upgrade"], env=env_for(url, "http://127.0.0.1:9"),
                   cwd=workdir, check=True, capture_output=True)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def update(update_id: int, chat: int, text: str, date: int | None = None) -> dict[str, object]:
    """``date``: when the citizen sent it (Unix time); default 2026-03-02, fixed."""
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1772416800 + update_id // 100 if date is None else date,
        "chat": {"id": chat, "type": "private", "first_name": "Warga"},
        "from": {"id": chat, "is_bot": False, "first_name": "Warga", "language_code": "id"},
        "text": text}}


TEXTS = ("Saldo JHT saya belum masuk padahal sudah 2 minggu",
         "Kode OTP tidak masuk ke HP saya, mohon bantuannya min",
         "Sertifikat pelatihan saya belum terbit sampai sekarang",
         "gimana kak, sudah ada kabar?", "Insentif tahap 2 belum cair",
         "Akun saya terblokir setelah ganti nomor HP")
