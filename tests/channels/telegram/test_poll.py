"""Long polling under the lease: one poller across workers, the offset committed with the
updates and confirmed to Telegram only by the next call; a poller killed between its commit and
that call loses and duplicates nothing; the webhook CLI."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from ticketing.app import App
from ticketing.entrypoints.cli import main
from ticketing.entrypoints.telegram import make_leader, poll_once
from ticketing.entrypoints.worker import drain, fetch
from ticketing.services.clock import FixedClock
from ticketing.store import tables
from tests.channels.telegram.conftest import SECRET
from tests.channels.telegram.standin import StandIn
from tests.channels.telegram.updates import message, photo


def _update_ids(app: App) -> list[int]:
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(tables.inbox.c.payload).order_by(tables.inbox.c.id))
        return [json.loads(bytes(p))["update_id"] for p in rows.scalars()]


def test_killed_poller_loses_and_duplicates_nothing(tg: App, standin: StandIn,
                                                    clock: FixedClock) -> None:
    for n in range(1, 6):
        standin.push(message(n, f"Keluhan nomor {n}", chat=700 + n, message_id=n))
    first = make_leader(tg, "host-a")
    assert poll_once(tg, first) == 5
    assert standin.pending() == [1, 2, 3, 4, 5]  # committed, not yet confirmed to Telegram
    # host-a dies here, between its commit and its next getUpdates.
    second = make_leader(tg, "host-b")
    assert poll_once(tg, second) == 0  # host-a still holds the lease
    standin.push(message(6, "Keluhan nomor 6", chat=706, message_id=6))
    clock.at += dt.timedelta(minutes=5)  # host-a's lease runs out; host-b takes over
    assert poll_once(tg, second) == 1
    [*_, last] = standin.calls("getUpdates")
    assert last.params["offset"] == 6  # the committed offset confirmed 1-5
    assert poll_once(tg, second) == 0 and standin.pending() == []
    assert _update_ids(tg) == [1, 2, 3, 4, 5, 6]
    # Telegram delivering an update again (a lost confirmation) lands on its key: stored once.
    standin.push(message(6, "Keluhan nomor 6", chat=706, message_id=6))
    with tg.engine.begin() as conn:
        conn.execute(tables.cursors.update().values(value={"offset": 6}))
    assert poll_once(tg, second) == 0
    assert _update_ids(tg) == [1, 2, 3, 4, 5, 6]
    assert drain(tg) == 6
    with tg.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.tickets)
                            ).scalar_one() == 6


def test_polled_photo_is_fetched_after_ingest(tg: App, standin: StandIn) -> None:
    standin.push(photo(1, caption="Ini bukti transfernya", chat=801))
    standin.add_file("ph-1", b"\xff\xd8 jpeg bytes", "photos/file_9.jpg")
    assert poll_once(tg, make_leader(tg, "host-a")) == 1
    assert drain(tg) == 1
    assert fetch(tg) == 1
    with tg.engine.connect() as conn:
        [entry] = conn.execute(sa.select(tables.messages.c.attachments)).scalar_one()
    assert entry["stored"] and entry["size"] == len(b"\xff\xd8 jpeg bytes")
    assert tg.attachment_store.read(entry["sha256"]) == b"\xff\xd8 jpeg bytes"


def test_webhook_cli_sets_and_deletes(tg: App, standin: StandIn, monkeypatch: object,
                                      capsys: object) -> None:
    env = {"TICKETING_DATABASE_URL": tg.settings.database_url,
           "TICKETING_TELEGRAM_TOKEN": tg.settings.telegram_token,
           "TICKETING_TELEGRAM_API_URL": standin.url,
           "TICKETING_TELEGRAM_WEBHOOK_URL": "https://desk.example.id/channels/telegram/webhook",
           "TICKETING_TELEGRAM_WEBHOOK_SECRET": SECRET,
           "TICKETING_CONFIG_DIR": tg.settings.config_dir}
    for key, value in env.items():
        monkeypatch.setenv(key, value)  # type: ignore[attr-defined]
    assert main(["telegram", "webhook", "set"]) == 0
    [call] = standin.calls("setWebhook")
    assert call.params["url"] == env["TICKETING_TELEGRAM_WEBHOOK_URL"]
    assert call.params["secret_token"] == SECRET
    assert main(["telegram", "webhook", "delete"]) == 0
    assert standin.calls("deleteWebhook")
    monkeypatch.setenv("TICKETING_TELEGRAM_WEBHOOK_SECRET", "")  # type: ignore[attr-defined]
    assert main(["telegram", "webhook", "set"]) == 1
    assert "SECRET" in capsys.readouterr().err  # type: ignore[attr-defined]

