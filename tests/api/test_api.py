"""REST API v1 through a real HTTP client against the FastAPI app, on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ticketing.entrypoints.api import create_api
from ticketing.app import App
from ticketing.services import accounts
from tests.helpers import message


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_api(app)) as c:
        yield c


def _token(app: App, role: str) -> str:
    email = f"{role}@example.id"
    with app.engine.begin() as conn:
        accounts.create_user(conn, email=email, name=role.title(), role=role,
                             password="secret-password", clock=app.clock)
        return accounts.create_token(conn, email=email, clock=app.clock)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_health_needs_no_token(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_missing_or_wrong_token_is_401_in_the_error_format(client: TestClient) -> None:
    r = client.get("/api/v1/tickets")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"
    r = client.get("/api/v1/tickets", headers=_auth("tk_forged"))
    assert r.status_code == 401


def test_agent_may_not_inject_inbound_messages(app: App, client: TestClient) -> None:
    r = client.post("/api/v1/inbound", json=message("OTP tidak masuk", phone="081234567890"),
                    headers=_auth(_token(app, "agent")))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"


def test_inbound_creates_then_reports_duplicate(app: App, client: TestClient) -> None:
    token = _token(app, "admin")
    msg = message("OTP tidak masuk. NIK saya 3224 2819 0887 6385", phone="081234567890")
    r = client.post("/api/v1/inbound", json=msg, headers=_auth(token))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["outcome"] == "created" and body["ticket_id"] and body["customer_id"]
    again = client.post("/api/v1/inbound", json=msg, headers=_auth(token))
    assert again.status_code == 200
    assert again.json() == {**body, "outcome": "duplicate"}


def test_malformed_inbound_is_422_and_quarantined(app: App, client: TestClient) -> None:
    r = client.post("/api/v1/inbound", content=b'{"channel": "email"',
                    headers={**_auth(_token(app, "admin")), "Content-Type": "application/json"})
    assert r.status_code == 422
    assert "quarantined" in r.json()["error"]["message"]


def test_ticket_view_shows_messages_and_masks_personal_data_for_agents(
        app: App, client: TestClient) -> None:
    admin = _token(app, "admin")
    msg = message("OTP tidak masuk. NIK saya 3224 2819 0887 6385", phone="081234567890")
    created = client.post("/api/v1/inbound", json=msg, headers=_auth(admin)).json()
    follow = message("OTP masih belum masuk juga", phone="0812-3456-7890",
                     sent_at="2026-03-02T10:00:00+07:00")
    client.post("/api/v1/inbound", json=follow, headers=_auth(admin))

    agent = _token(app, "agent")
    ticket = client.get(f"/api/v1/tickets/{created['ticket_id']}", headers=_auth(agent)).json()
    assert [m["body"][:10] for m in ticket["messages"]] == ["OTP tidak ", "OTP masih "]
    assert "3224 2819 0887 6385" not in ticket["messages"][0]["body"]
    assert ticket["topic"] == "otp" and ticket["status"] == "new"
    phones = [i["value"] for i in ticket["customer"]["identities"] if i["kind"] == "phone"]
    assert phones and "+6281234567890" not in phones

    sup = _token(app, "supervisor")
    seen = client.get(f"/api/v1/customers/{created['customer_id']}", headers=_auth(sup)).json()
    kinds = {(i["kind"], i["value"]) for i in seen["identities"]}
    assert ("phone", "+6281234567890") in kinds and ("nik", "3224281908876385") in kinds
    assert seen["tickets"][0]["ticket_id"] == created["ticket_id"]


def test_list_tickets_filters_and_paginates(app: App, client: TestClient) -> None:
    admin = _token(app, "admin")
    for i in range(5):
        client.post("/api/v1/inbound", headers=_auth(admin),
                    json=message("OTP tidak masuk", channel="telegram", telegram_id=f"70{i}"))
    client.post("/api/v1/inbound", headers=_auth(admin),
                json=message("OTP tidak masuk", channel="email", email="x@example.id"))
    page = client.get("/api/v1/tickets?channel=telegram&limit=2", headers=_auth(admin)).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get(f"/api/v1/tickets?channel=telegram&limit=10&cursor={page['next_cursor']}",
                      headers=_auth(admin)).json()
    ids = [t["ticket_id"] for t in page["items"] + rest["items"]]
    assert len(ids) == 5 == len(set(ids)) and ids == sorted(ids, reverse=True)
    assert client.get("/api/v1/tickets?limit=0", headers=_auth(admin)).status_code == 422


def test_unknown_ticket_is_404(app: App, client: TestClient) -> None:
    r = client.get("/api/v1/tickets/999999", headers=_auth(_token(app, "agent")))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_openapi_is_served(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/inbound" in paths and "/api/v1/tickets/{ticket_id}" in paths


def test_merge_unmerge_related_and_patch_over_http(app: App, client: TestClient) -> None:
    admin = _auth(_token(app, "admin"))
    agent_token = _token(app, "agent")
    a = client.post("/api/v1/inbound", headers=admin,
                    json=message("OTP tidak masuk", phone="081234567890")).json()
    b = client.post("/api/v1/inbound", headers=admin,
                    json=message("Insentif belum cair", phone="081234567890")).json()
    other = client.post("/api/v1/inbound", headers=admin,
                        json=message("OTP tidak masuk", phone="081299999999")).json()
    r = client.post(f"/api/v1/tickets/{other['ticket_id']}/merge", headers=admin,
                    json={"into": a["ticket_id"]})
    assert r.status_code == 409
    rel = client.get(f"/api/v1/tickets/{a['ticket_id']}/related", headers=admin).json()
    assert [d["ticket_id"] for d in rel["duplicates"]] == [b["ticket_id"]]
    r = client.post(f"/api/v1/tickets/{b['ticket_id']}/merge", headers=admin,
                    json={"into": a["ticket_id"]})
    assert r.status_code == 200 and r.json()["moved_messages"] == 1
    shown = client.get(f"/api/v1/tickets/{a['ticket_id']}", headers=admin).json()
    assert shown["links"]["duplicates"] == [b["ticket_id"]] and len(shown["messages"]) == 2
    assert client.post(f"/api/v1/tickets/{b['ticket_id']}/unmerge",
                       headers=admin).status_code == 200
    assert client.post(f"/api/v1/tickets/{b['ticket_id']}/unmerge",
                       headers=admin).status_code == 409

    agent = _auth(agent_token)
    r = client.patch(f"/api/v1/tickets/{a['ticket_id']}", headers=agent, json={"topic": "akun"})
    assert r.status_code == 200 and r.json()["topic"] == "akun"
    r = client.patch(f"/api/v1/tickets/{a['ticket_id']}", headers=agent,
                     json={"status": "resolved"})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    r = client.patch(f"/api/v1/tickets/{a['ticket_id']}", headers=agent, json={"status": "new"})
    assert r.status_code == 409
    r = client.patch(f"/api/v1/tickets/{a['ticket_id']}", headers=agent,
                     json={"assignee": "admin@example.id"})
    assert r.status_code == 403
    r = client.patch(f"/api/v1/tickets/{a['ticket_id']}", headers=agent, json={"colour": "red"})
    assert r.status_code == 422
    assert client.get("/api/v1/incidents", headers=agent).status_code == 403
    assert client.get("/api/v1/incidents", headers=admin).status_code == 200


def test_only_supervisors_and_admins_merge_and_unmerge_over_http(
        app: App, client: TestClient) -> None:
    # One rule for the API and the pages, decided by the use case (services.merging).
    admin = _auth(_token(app, "admin"))
    agent, boss = _auth(_token(app, "agent")), _auth(_token(app, "supervisor"))
    a = client.post("/api/v1/inbound", headers=admin,
                    json=message("OTP tidak masuk", phone="081234567890")).json()
    b = client.post("/api/v1/inbound", headers=admin,
                    json=message("Insentif belum cair", phone="081234567890")).json()

    def merged_into() -> object:
        return client.get(f"/api/v1/tickets/{b['ticket_id']}", headers=admin).json().get(
            "merged_into")

    r = client.post(f"/api/v1/tickets/{b['ticket_id']}/merge", headers=agent,
                    json={"into": a["ticket_id"]})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert merged_into() is None
    shown = client.get(f"/api/v1/tickets/{a['ticket_id']}", headers=admin).json()
    assert len(shown["messages"]) == 1

    r = client.post(f"/api/v1/tickets/{b['ticket_id']}/merge", headers=boss,
                    json={"into": a["ticket_id"]})
    assert r.status_code == 200 and r.json()["moved_messages"] == 1
    assert merged_into() == a["ticket_id"]

    assert client.post(f"/api/v1/tickets/{b['ticket_id']}/unmerge",
                       headers=agent).status_code == 403
    assert merged_into() == a["ticket_id"]
    assert client.post(f"/api/v1/tickets/{b['ticket_id']}/unmerge",
                       headers=boss).status_code == 200
    assert merged_into() is None
