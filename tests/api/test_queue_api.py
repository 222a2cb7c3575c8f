"""The shared queue over HTTP: claim (200 / 204), my queue, release, presence, reassignment
rights, agent profiles."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ticketing.entrypoints.api import create_api
from ticketing.app import App
from ticketing.services import accounts
from tests.routing_helpers import agent, assignee, tickets


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_api(app)) as c:
        yield c


def _auth(app: App, uid: int) -> dict[str, str]:
    with app.engine.begin() as conn:
        email = conn.execute(accounts.users.select().where(accounts.users.c.id == uid)).one().email
        return {"Authorization": f"Bearer {accounts.create_token(conn, email=email, clock=app.clock)}"}


def test_claim_gives_the_ticket_then_204_when_none_is_left(app: App, client: TestClient) -> None:
    uid = agent(app, skills=["otp"])
    (tid,) = tickets(app, [{}])
    headers = _auth(app, uid)
    r = client.post("/api/v1/queue/claim", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["ticket_id"] == tid and r.json()["assignee"].startswith("agent")
    r = client.post("/api/v1/queue/claim", headers=headers)
    assert r.status_code == 204 and r.content == b""
    assert client.post("/api/v1/queue/claim").status_code == 401


def test_my_queue_lists_what_i_could_claim_most_urgent_first(app: App,
                                                              client: TestClient) -> None:
    import datetime as dt
    now = app.clock.now()
    later, sooner, _other = tickets(app, [{"queue_due_at": now + dt.timedelta(hours=3)},
                                          {"queue_due_at": now + dt.timedelta(hours=1)},
                                          {"topic": "insentif", "team": "keuangan"}])
    uid = agent(app, skills=["otp"])
    r = client.get("/api/v1/queue", headers=_auth(app, uid))
    assert r.status_code == 200
    assert [i["ticket_id"] for i in r.json()["items"]] == [sooner, later]
    assert r.json()["can_claim"] is True


def test_release_and_presence(app: App, client: TestClient) -> None:
    uid = agent(app, status="offline")
    (tid,) = tickets(app, [{"assignee_id": uid}])
    headers = _auth(app, uid)
    r = client.post("/api/v1/agents/me/status", headers=headers, json={"status": "online"})
    assert r.status_code == 200 and r.json()["status"] == "online"
    assert r.json()["load"] == {"webchat": 1}
    assert client.post("/api/v1/agents/me/heartbeat", headers=headers).status_code == 204
    r = client.post("/api/v1/agents/me/status", headers=headers, json={"status": "napping"})
    assert r.status_code == 422
    r = client.post(f"/api/v1/tickets/{tid}/release", headers=headers)
    assert r.status_code == 200 and r.json()["released_from"] == uid
    assert assignee(app, tid) is None
    assert client.post(f"/api/v1/tickets/{tid}/release", headers=headers).status_code == 409


def test_only_supervisors_reassign_to_someone_else(app: App, client: TestClient) -> None:
    a = agent(app, email="a@example.id")
    b = agent(app, email="b@example.id")
    sup = agent(app, role="supervisor", email="sup@example.id")
    (tid,) = tickets(app, [{"assignee_id": a}])
    r = client.patch(f"/api/v1/tickets/{tid}", headers=_auth(app, a),
                     json={"assignee": "b@example.id"})
    assert r.status_code == 403
    r = client.post(f"/api/v1/tickets/{tid}/release", headers=_auth(app, b))
    assert r.status_code == 403
    r = client.patch(f"/api/v1/tickets/{tid}", headers=_auth(app, sup),
                     json={"assignee": "b@example.id"})
    assert r.status_code == 200 and r.json()["assignee"] == "b@example.id"
    r = client.get("/api/v1/tickets?assignee=b@example.id&queue=akun", headers=_auth(app, sup))
    assert [i["ticket_id"] for i in r.json()["items"]] == [tid]
    assert assignee(app, tid) == b


def test_supervisors_set_agent_profiles(app: App, client: TestClient) -> None:
    a = agent(app, email="a@example.id")
    sup = agent(app, role="supervisor")
    body = {"teams": ["akun"], "capacity": {"webchat": 2, "email": 10}, "skills": ["otp"],
            "languages": ["id", "en"]}
    r = client.patch("/api/v1/agents/a@example.id", headers=_auth(app, a), json=body)
    assert r.status_code == 403
    r = client.patch("/api/v1/agents/a@example.id", headers=_auth(app, sup), json=body)
    assert r.status_code == 200, r.text
    assert r.json()["teams"] == ["akun"] and r.json()["capacity"] == {"webchat": 2, "email": 10}
    r = client.patch("/api/v1/agents/a@example.id", headers=_auth(app, sup),
                     json={"teams": ["nowhere"]})
    assert r.status_code == 422 and "nowhere" in r.json()["error"]["message"]
    r = client.get("/api/v1/agents/me", headers=_auth(app, a))
    assert r.json()["skills"] == ["otp"] and r.json()["languages"] == ["en", "id"]
