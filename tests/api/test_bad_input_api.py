"""Bad input at every door of the REST API is a 404 or a 422, never a 500: ids and cursors
beyond 64 bits, report dates in year 1 or 9999, JSON nested 100,000 deep (refused before it
is parsed; on ``POST /inbound`` kept quarantined with the reason), unknown filter values, and
LIKE wildcards typed into the search."""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ticketing.app import App
from ticketing.entrypoints.api import create_api
from ticketing.services.clock import FixedClock
from ticketing.settings import Settings
from ticketing.store import migrate, tables
from ticketing.store.db import make_engine
from tests.conftest import ROOT, _temporary_pg_database
from tests.api.test_api import _auth, _token
from tests.helpers import message

HUGE = "99999999999999999999"  # 20 digits: more than any 64-bit id
DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def door(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         ) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """One desk for the read-only refusals below (each case building its own desk cost most of
    this file's time): a client and a supervisor's headers, on a database of its own."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            path = tmp_path_factory.mktemp("door") / "ticketing.db"
            shutil.copy(request.getfixturevalue("sqlite_template"), path)
            url = f"sqlite:///{path}"
        else:
            url = stack.enter_context(_temporary_pg_database())
            engine = make_engine(url)
            migrate.upgrade(engine)
            engine.dispose()
        here = tmp_path_factory.mktemp("door-files")
        desk = App(settings=Settings(database_url=url, config_dir=str(ROOT / "config"),
                                     attachment_dir=str(here / "attachments"),
                                     dev_mailbox_dir=str(here / "mailbox")),
                   clock=FixedClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)))
        stack.callback(desk.close)
        c = stack.enter_context(TestClient(create_api(desk), raise_server_exceptions=False))
        yield c, _seed(desk, c)


def _seed(app: App, client: TestClient) -> dict[str, str]:
    auth = _auth(_token(app, "supervisor"))
    for n, text in enumerate(("Diskon 50% tidak berlaku", "Nomor_induk salah",
                              "OTP tidak masuk")):
        r = client.post("/api/v1/inbound", headers=auth,
                        json={**message(text, email=f"warga{n}@example.id"), "subject": text})
        assert r.status_code == 201, r.text
    return auth


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_api(app), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def boss(app: App, client: TestClient) -> dict[str, str]:
    return _seed(app, client)


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", f"/api/v1/tickets/{HUGE}", None),
    ("GET", "/api/v1/tickets/0", None),
    ("GET", "/api/v1/tickets/-1", None),
    ("PATCH", f"/api/v1/tickets/{HUGE}", {"status": "open"}),
    ("GET", f"/api/v1/customers/{HUGE}", None),
    ("POST", f"/api/v1/tickets/{HUGE}/merge", {"into": 1}),
    ("POST", f"/api/v1/tickets/{HUGE}/unmerge", None),
    ("POST", f"/api/v1/customers/{HUGE}/unmerge", None),
    ("GET", f"/api/v1/tickets/{HUGE}/related", None),
    ("POST", f"/api/v1/tickets/{HUGE}/replies", {"body": "Halo"}),
    ("POST", f"/api/v1/tickets/{HUGE}/notes", {"body": "Catatan"}),
    ("POST", f"/api/v1/tickets/{HUGE}/release", None),
    ("POST", f"/api/v1/notifications/{HUGE}/read", None),
    ("GET", f"/api/v1/messages/{HUGE}/attachments/0", None),
    ("GET", f"/api/v1/messages/1/attachments/{HUGE}", None),
])
def test_an_id_no_row_can_have_is_404(door: tuple[TestClient, dict[str, str]], method: str,
                                       path: str, body: object) -> None:
    client, boss = door
    r = client.request(method, path, json=body, headers=boss)
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/api/v1/tickets/1/merge", {"into": int(HUGE)}),
    ("POST", "/api/v1/tickets/1/merge", {"into": 0}),
    ("GET", f"/api/v1/tickets?cursor={HUGE}", None),
    ("GET", "/api/v1/tickets?cursor=-5", None),
    ("GET", f"/api/v1/notifications?cursor={HUGE}", None),
    ("GET", "/api/v1/reports/sla?from=0001-01-01&to=0001-01-02", None),
    ("GET", "/api/v1/reports/sla?from=2026-03-01&to=9999-12-31", None),
    ("GET", "/api/v1/reports/sla?from=9999-12-30&to=9999-12-31", None),
    ("GET", "/api/v1/tickets?status=bogus", None),
    ("GET", "/api/v1/tickets?status=open,bogus", None),
    ("GET", "/api/v1/tickets?channel=fax", None),
])
def test_an_impossible_cursor_body_id_date_or_filter_is_422(
        door: tuple[TestClient, dict[str, str]], method: str, path: str,
        body: object) -> None:
    client, boss = door
    r = client.request(method, path, json=body, headers=boss)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_input"


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/api/v1/tickets/1/merge"), ("POST", "/api/v1/tickets/1/notes"),
    ("PATCH", "/api/v1/tickets/1"), ("POST", "/api/v1/tickets/1/replies"),
    ("POST", "/api/v1/agents/me/status"),
])
def test_json_nested_100000_deep_is_422_before_parsing(
        door: tuple[TestClient, dict[str, str]], method: str, path: str) -> None:
    client, boss = door
    for body in (DEEP, b'{"body": ' + DEEP + b"}", b"[" * 100_000):
        r = client.request(method, path, content=body,
                           headers={**boss, "Content-Type": "application/json"})
        assert r.status_code == 422, r.text
        assert "nested deeper than 64" in r.json()["error"]["message"]


def test_deep_json_sent_inbound_is_kept_quarantined_with_the_reason(
        app: App, client: TestClient, boss: dict[str, str]) -> None:
    r = client.post("/api/v1/inbound", content=DEEP,
                    headers={**boss, "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "malformed_payload"
    assert "quarantined as inbox row" in r.json()["error"]["message"]
    with app.engine.connect() as conn:
        row = conn.execute(sa.select(tables.inbox.c.status, tables.inbox.c.last_error,
                                     tables.inbox.c.payload)
                           .where(tables.inbox.c.status != "done")).one()
    assert row.status == "quarantined" and "nested deeper than 64" in row.last_error
    assert bytes(row.payload) == DEEP


def test_like_wildcards_in_the_search_are_literal(client: TestClient,
                                                  boss: dict[str, str]) -> None:
    def found(q: str) -> list[str]:
        r = client.get("/api/v1/tickets", params={"q": q}, headers=boss)
        assert r.status_code == 200, r.text
        return [t["subject"] for t in r.json()["items"]]
    assert found("%") == ["Diskon 50% tidak berlaku"]
    assert found("_") == ["Nomor_induk salah"]
    assert found("50%") == ["Diskon 50% tidak berlaku"]
    assert found("/") == []
    assert len(found("a")) == 3


def test_known_filters_and_cursors_still_work(client: TestClient, boss: dict[str, str]) -> None:
    r = client.get("/api/v1/tickets?status=new,open&channel=webchat&limit=2", headers=boss)
    assert r.status_code == 200 and len(r.json()["items"]) == 2
    cursor = r.json()["next_cursor"]
    r = client.get(f"/api/v1/tickets?status=new&cursor={cursor}", headers=boss)
    assert r.status_code == 200 and len(r.json()["items"]) == 1
    r = client.get("/api/v1/reports/sla?from=2026-03-01&to=2026-03-31", headers=boss)
    assert r.status_code == 200


def test_an_agent_capacity_beyond_any_integer_is_422(app: App, client: TestClient,
                                                     boss: dict[str, str]) -> None:
    _token(app, "agent")
    r = client.patch("/api/v1/agents/agent@example.id", headers=boss,
                     json={"capacity": {"email": int(HUGE)}})
    assert r.status_code == 422 and "over 1000" in r.json()["error"]["message"]


@pytest.mark.parametrize("started_at", ["0001-01-01T00:00:00+07:00", "9999-12-31T23:59:59-05:00"])
def test_a_transcript_upload_starting_in_year_1_or_9999_is_422(
        client: TestClient, boss: dict[str, str], started_at: str) -> None:
    r = client.post("/channels/phone/transcripts", headers=boss,
                    files={"file": ("call.txt", b"[00:00:01] Pelapor: OTP tidak masuk\n")},
                    data={"caller": "081234567890", "started_at": started_at})
    assert r.status_code == 422, r.text
    assert "2000-01-01..2099-12-31" in r.json()["error"]["message"]
