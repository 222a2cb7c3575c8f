"""The webhook: secret checked, the raw update stored under the bot's id and update_id before
the 200, repeats absorbed, and the worker turning it into a ticket message.  Both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ticketing.app import App
from ticketing.entrypoints.api import create_api
from ticketing.entrypoints.worker import drain
from ticketing.store import tables
from tests.channels.telegram.conftest import SECRET
from tests.channels.telegram.updates import message

URL = "/channels/telegram/webhook"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


@pytest.fixture
def client(tg: App) -> Iterator[TestClient]:
    with TestClient(create_api(tg)) as c:
        yield c


def _inbox(app: App) -> list[sa.Row]:
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(tables.inbox).order_by(tables.inbox.c.id)))


def test_secret_is_required(tg: App, client: TestClient) -> None:
    body = json.dumps(message(1)).encode()
    assert client.post(URL, content=body).status_code == 403
    assert client.post(URL, content=body, headers={HEADER: "salah"}).status_code == 403
    assert client.post(URL, content=body, headers={HEADER: SECRET + "x"}).status_code == 403
    assert _inbox(tg) == []
    assert client.post(URL, content=body, headers={HEADER: SECRET}).status_code == 200
    assert len(_inbox(tg)) == 1


def test_not_served_without_a_secret(app: App) -> None:
    with TestClient(create_api(app)) as c:
        assert c.post(URL, content=b"{}", headers={HEADER: ""}).status_code == 404


def test_update_is_stored_once_then_becomes_a_ticket(tg: App, client: TestClient) -> None:
    body = json.dumps(message(41, "Saldo JHT saya belum masuk", chat=555)).encode()
    for _ in range(3):  # Telegram retries after a lost answer
        assert client.post(URL, content=body, headers={HEADER: SECRET}).status_code == 200
    [row] = _inbox(tg)
    assert row.status == "pending" and bytes(row.payload) == body
    assert drain(tg) == 1
    with tg.engine.connect() as conn:
        msg = conn.execute(sa.select(tables.messages)).one()
    assert msg.channel == "telegram" and msg.external_id == "555:10"
    assert msg.body == "Saldo JHT saya belum masuk" and msg.ticket_id


def test_bad_bodies_are_4xx_never_500(client: TestClient) -> None:
    for body in (b"not json", b"[]", b'{"update_id": -1}', b'{"message": {}}'):
        r = client.post(URL, content=body, headers={HEADER: SECRET})
        assert r.status_code == 400, body
        assert r.json()["error"]["code"] == "malformed_payload"


def test_an_update_whose_processing_fails_is_kept_and_retried(tg: App,
                                                              client: TestClient) -> None:
    """A group chat is ignored with an audit entry; an update the parser cannot read stays in
    the inbox, quarantined with its reason (never lost, requeued after a parser fix)."""
    group = message(50, "halo semua", chat=-1001, chat_type="supergroup")
    broken = {"update_id": 51, "message": {"message_id": 1, "date": 1772416800,
                                           "chat": {"id": 9, "type": "private"},
                                           "from": {"id": 9, "is_bot": False,
                                                    "first_name": "A"},
                                           "photo": [{"file_unique_id": "no file id"}]}}
    for update in (group, broken):
        assert client.post(URL, content=json.dumps(update).encode(),
                           headers={HEADER: SECRET}).status_code == 200
    drain(tg)
    rows = {json.loads(r.payload)["update_id"]: r for r in _inbox(tg)}
    assert rows[50].status == "ignored" and "supergroup" in rows[50].last_error
    assert rows[51].status == "quarantined" and "file_id" in rows[51].last_error
    with tg.engine.connect() as conn:
        [audit] = conn.execute(sa.select(tables.audit.c.kind).where(
            tables.audit.c.kind == "inbound.ignored")).scalars()
    assert audit == "inbound.ignored"


def test_an_edit_updates_the_stored_message_and_keeps_the_old_text(tg: App,
                                                                   client: TestClient) -> None:
    original = message(60, "Saldo saya belum masuk", chat=321, message_id=5)
    edited = message(61, "Saldo JHT saya belum masuk sejak Senin", chat=321, message_id=5,
                     kind="edited_message", edit_date=1772416900)
    for update in (original, edited):
        assert client.post(URL, content=json.dumps(update).encode(),
                           headers={HEADER: SECRET}).status_code == 200
    drain(tg)
    with tg.engine.connect() as conn:
        [msg] = conn.execute(sa.select(tables.messages)).all()
        [old] = conn.execute(sa.select(tables.message_revisions.c.body_before)).scalars()
        kinds = set(conn.execute(sa.select(tables.audit.c.kind)).scalars())
    assert msg.body == "Saldo JHT saya belum masuk sejak Senin" and msg.external_id == "321:5"
    assert old == "Saldo saya belum masuk" and "message.revised" in kinds
