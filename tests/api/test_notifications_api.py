"""In-app notifications over the REST API: a user sees and reads only their own, newest first;
a breach found by the timer arrives as a notification to every supervisor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ticketing.domain.zones import WIB
from ticketing.entrypoints.api import create_api
from ticketing.app import App
from ticketing.services import accounts
from ticketing.services.clock import FixedClock
from ticketing.entrypoints.jobs import sla_tick
from tests.helpers import ingest_one, message



@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_api(app)) as c:
        yield c


def _token(app: App, email: str, role: str) -> dict[str, str]:
    with app.engine.begin() as conn:
        accounts.create_user(conn, email=email, name=email, role=role,
                             password="secret-password", clock=app.clock)
        return {"Authorization": f"Bearer {accounts.create_token(conn, email=email, clock=app.clock)}"}


def _breach(app: App, clock: FixedClock, count: int = 2) -> None:
    """``count`` tickets opened Friday 16:30 WIB; the timer runs after their first response
    is due (Monday 11:30)."""
    clock.at = dt.datetime(2026, 3, 6, 16, 31, tzinfo=WIB).astimezone(dt.UTC)
    for i in range(count):
        ingest_one(app, message("OTP tidak masuk", email=f"warga{i}@example.id",
                                sent_at="2026-03-06T16:30:00+07:00"))
    clock.at = dt.datetime(2026, 3, 9, 11, 31, tzinfo=WIB).astimezone(dt.UTC)
    sla_tick(app)


def test_notifications_need_a_token(client: TestClient) -> None:
    for method, path in (("GET", "/api/v1/notifications"),
                         ("POST", "/api/v1/notifications/1/read"),
                         ("POST", "/api/v1/notifications/read-all")):
        r = client.request(method, path)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        r = client.request(method, path, headers={"Authorization": "Bearer tk_forged"})
        assert r.status_code == 401


def test_a_supervisor_lists_and_reads_their_breach_notifications(
        app: App, client: TestClient, clock: FixedClock) -> None:
    boss = _token(app, "spv@example.id", "supervisor")
    _breach(app, clock)
    page = client.get("/api/v1/notifications", params={"unread": "true"}, headers=boss).json()
    assert page["unread"] == 2 and len(page["items"]) == 2
    newest, older = page["items"]
    assert newest["id"] > older["id"]  # newest first
    assert newest["kind"] == "sla.breached" and newest["read_at"] is None
    assert newest["data"]["target"] == "first_response"
    assert newest["data"]["due_at"] == "2026-03-09T04:30:00+00:00"

    r = client.post(f"/api/v1/notifications/{older['id']}/read", headers=boss)
    assert r.status_code == 200 and r.json()["read_at"] is not None
    again = client.post(f"/api/v1/notifications/{older['id']}/read", headers=boss).json()
    assert again["read_at"] == r.json()["read_at"]  # reading twice keeps the first time
    unread = client.get("/api/v1/notifications?unread=true", headers=boss).json()
    assert [n["id"] for n in unread["items"]] == [newest["id"]] and unread["unread"] == 1
    every = client.get("/api/v1/notifications?limit=1", headers=boss).json()
    assert [n["id"] for n in every["items"]] == [newest["id"]]
    assert every["next_cursor"] == newest["id"]
    rest = client.get(f"/api/v1/notifications?cursor={every['next_cursor']}",
                      headers=boss).json()
    assert [n["id"] for n in rest["items"]] == [older["id"]]

    assert client.post("/api/v1/notifications/read-all", headers=boss).json() == {"marked": 1}
    assert client.get("/api/v1/notifications?unread=true", headers=boss).json()["items"] == []


def test_someone_elses_notification_is_not_found(app: App, client: TestClient,
                                                 clock: FixedClock) -> None:
    boss = _token(app, "spv@example.id", "supervisor")
    agent = _token(app, "agen@example.id", "agent")
    _breach(app, clock, count=1)
    [mine] = client.get("/api/v1/notifications", headers=boss).json()["items"]
    assert client.get("/api/v1/notifications", headers=agent).json()["items"] == []
    r = client.post(f"/api/v1/notifications/{mine['id']}/read", headers=agent)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert client.post("/api/v1/notifications/read-all", headers=agent).json() == {"marked": 0}
    assert client.post("/api/v1/notifications/999999/read", headers=boss).status_code == 404
    [still] = client.get("/api/v1/notifications?unread=true", headers=boss).json()["items"]
    assert still["id"] == mine["id"]


def test_a_bad_limit_is_422(app: App, client: TestClient) -> None:
    boss = _token(app, "spv@example.id", "supervisor")
    r = client.get("/api/v1/notifications?limit=0", headers=boss)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
