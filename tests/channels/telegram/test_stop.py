"""SIGTERM stops a polling worker promptly: the long poll in flight (Telegram holds getUpdates
up to 50 s) is abandoned, the lease released, and a second worker takes over at once (the
lease's time to live here is 110 s) from the committed offset: no update lost or stored
twice.  The real ``ticketing worker`` process against the Bot API stand-in."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ticketing.app import App
from ticketing.entrypoints.telegram import LEASE
from ticketing.store import tables
from tests.channels.telegram.standin import TOKEN, StandIn
from tests.channels.telegram.updates import message

ROOT = Path(__file__).resolve().parents[3]
TICKETING = Path(sys.executable).with_name("ticketing")
POLL_TIMEOUT = 50   # seconds each getUpdates may wait, as in production at most
STOPPED_WITHIN = 20.0  # generous on 2 loaded cores; before the fix: the long poll's 50 s
pytestmark = pytest.mark.skipif(not TICKETING.exists(), reason="ticketing script not installed")


@pytest.fixture
def slow_standin() -> Iterator[StandIn]:
    s = StandIn(long_poll_cap=POLL_TIMEOUT).start()
    yield s
    s.stop()


def _wait(what: Callable[[], bool], seconds: float = 60.0) -> None:
    until = time.monotonic() + seconds
    while not what():
        assert time.monotonic() < until, "timed out"
        time.sleep(0.1)


def test_sigterm_stops_the_poller_and_hands_over_at_once(app: App, slow_standin: StandIn,
                                                         tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETING_")}
    env.update({"TICKETING_DATABASE_URL": app.settings.database_url,
                "TICKETING_CONFIG_DIR": app.settings.config_dir,
                "TICKETING_ATTACHMENT_DIR": str(tmp_path / "attachments"),
                "TICKETING_TELEGRAM_TOKEN": TOKEN, "TICKETING_TELEGRAM_API_URL": slow_standin.url,
                "TICKETING_TELEGRAM_POLL_TIMEOUT": str(POLL_TIMEOUT),
                "TICKETING_ACK_ENABLED": "0", "PYTHONPATH": str(ROOT)})
    log = (tmp_path / "worker.log").open("ab")

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen([str(TICKETING), "worker"], env=env, cwd=tmp_path, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)

    def inbox() -> list[int]:
        with app.engine.connect() as conn:
            return [json.loads(bytes(p))["update_id"] for p in conn.execute(
                sa.select(tables.inbox.c.payload).order_by(tables.inbox.c.id)).scalars()]

    def messages() -> int:
        with app.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(tables.messages)
                                    ).scalar_one())

    def holder() -> str | None:
        with app.engine.connect() as conn:
            row = conn.execute(sa.select(tables.leases).where(tables.leases.c.name == LEASE)
                               ).first()
        return str(row.holder) if row is not None and row.expires_at > row.acquired_at else None

    def stop(proc: subprocess.Popen[bytes], offset: int) -> float:
        # Only once the poller waits in a long poll with nothing to fetch.
        _wait(lambda: [c.params.get("offset") for c in slow_standin.calls("getUpdates")[-1:]]
              == [offset])
        calls = len(slow_standin.calls("getUpdates"))
        time.sleep(0.5)
        assert len(slow_standin.calls("getUpdates")) == calls  # it is waiting in that call
        began = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOPPED_WITHIN)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"worker still running {STOPPED_WITHIN:.0f} s after SIGTERM")
        assert proc.returncode == 0
        return time.monotonic() - began

    for n in range(1, 4):
        slow_standin.push(message(n, f"Keluhan nomor {n}", chat=700 + n, message_id=n))
    first = start()
    try:
        _wait(lambda: inbox() == [1, 2, 3])
        assert holder() is not None
        stop(first, 4)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert holder() is None  # released, not left to run out
    for n in range(4, 6):
        slow_standin.push(message(n, f"Keluhan nomor {n}", chat=700 + n, message_id=n))
    second = start()
    try:
        _wait(lambda: inbox() == [1, 2, 3, 4, 5], seconds=30)  # long before the 110 s TTL
        _wait(lambda: messages() == 5)
        stop(second, 6)
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()
    assert inbox() == [1, 2, 3, 4, 5]
    assert [c.params.get("offset") for c in slow_standin.calls("getUpdates")].count(4) >= 1
