"""Reply channels over the REST API (issue 11): a reply goes out only on a channel the citizen
wrote on whose capability allows it now; an impossible one is refused with 409 before anything
is queued, with the reason and the possible channels; a citizen known only by phone gets a call
back log, which counts as a response when the call reached them.  Both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ticketing.app import App
from ticketing.entrypoints.api import create_api
from ticketing.services import accounts
from ticketing.entrypoints.jobs import sla_tick
from ticketing.store import tables
from tests.helpers import deliver_now, ingest_one, message

WIB = dt.timezone(dt.timedelta(hours=7))
TRANSCRIPT_CALLER_ONLY = "[00:00:04] Penelepon: Halo, OTP saya tidak masuk."


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_api(app)) as c:
        yield c


@pytest.fixture
def auth(app: App) -> dict[str, str]:
    with app.engine.begin() as conn:
        accounts.create_user(conn, email="agen@example.id", name="Agen", role="agent",
                             password="secret-password", clock=app.clock)
        token = accounts.create_token(conn, email="agen@example.id", clock=app.clock)
    return {"Authorization": f"Bearer {token}"}


def _counts(app: App) -> tuple[int, int]:
    with app.engine.connect() as conn:
        out = conn.execute(sa.select(sa.func.count()).select_from(tables.messages).where(
            tables.messages.c.direction == "out",
            tables.messages.c.author_user_id.is_not(None))).scalar_one()
        queued = conn.execute(sa.select(sa.func.count()).select_from(tables.outbox).where(
            tables.outbox.c.kind == "reply")).scalar_one()
    return int(out), int(queued)


def _ticket(app: App, tid: int) -> Any:
    with app.engine.connect() as conn:
        return conn.execute(sa.select(tables.tickets).where(tables.tickets.c.id == tid)).one()


def test_a_reply_on_a_channel_that_cannot_send_is_refused_before_queueing(
        app: App, client: TestClient, auth: dict[str, str]) -> None:
    tid = ingest_one(app, message("OTP tidak masuk", channel="webchat",
                                  email="sari@example.id")).ticket_id
    r = client.post(f"/api/v1/tickets/{tid}/replies", json={"body": "Kami cek."}, headers=auth)
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "channel_unavailable"
    # Posted through the API, the message has no chat session to answer to.
    assert error["message"].startswith("Web chat: alamat Web chat warga tidak diketahui")
    assert error["options"] == [{"channel": "webchat", "label": "Web chat", "possible": False,
                                 "reason": error["options"][0]["reason"], "call_back": False,
                                 "default": False, "attachments": False, "private": True,
                                 "public": False, "note": None}]
    assert _counts(app) == (0, 0)  # nothing queued, nothing to fail silently
    for channel in ("api", "telegram", "email", "carrier-pigeon"):
        r = client.post(f"/api/v1/tickets/{tid}/replies", headers=auth,
                        json={"body": "Kami cek.", "channel": channel})
        assert r.status_code == 409 and r.json()["error"]["code"] == "channel_unavailable"
    assert _counts(app) == (0, 0)
    assert _ticket(app, tid).status == "new"


def test_the_citizens_other_channel_is_offered_and_can_be_chosen(
        app: App, client: TestClient, auth: dict[str, str]) -> None:
    first = ingest_one(app, message("OTP tidak masuk", channel="email", email="sari@example.id",
                                    sent_at="2026-03-02T08:00:00+07:00"))
    tid = first.ticket_id
    later = ingest_one(app, message("OTP tidak masuk juga, tolong", channel="webchat",
                                    email="sari@example.id",
                                    sent_at="2026-03-02T08:30:00+07:00"))
    assert later.ticket_id == tid  # the same complaint, now on web chat
    options = client.get(f"/api/v1/tickets/{tid}/reply-options", headers=auth).json()
    assert [(o["channel"], o["possible"]) for o in options["options"]] == [
        ("webchat", False), ("email", True)]
    assert options["default"] is None and options["last_channel"] == "webchat"
    shown = client.get(f"/api/v1/tickets/{tid}", headers=auth).json()
    assert shown["reply_options"] == options
    r = client.post(f"/api/v1/tickets/{tid}/replies", json={"body": "Kami cek."}, headers=auth)
    assert r.status_code == 409
    assert "warga juga menulis lewat E-mail" in r.json()["error"]["message"]
    assert [o["channel"] for o in r.json()["error"]["options"] if o["possible"]] == ["email"]
    r = client.post(f"/api/v1/tickets/{tid}/replies", headers=auth,
                    json={"body": "Kami cek.", "channel": "email"})
    assert r.status_code == 201, r.text
    assert r.json()["channel"] == "email" and r.json()["external_id"].startswith(f"<t{tid}.")
    with app.engine.connect() as conn:
        queued = conn.execute(sa.select(tables.outbox.c.recipient, tables.outbox.c.payload)
                              .where(tables.outbox.c.kind == "reply")).one()
    assert queued.recipient["email"] == "sari@example.id"
    assert queued.payload["in_reply_to"] == first_external_id(app, tid)
    assert _ticket(app, tid).first_response_at is None  # queued, not delivered
    deliver_now(app)
    assert _ticket(app, tid).first_response_at == app.clock.now()


def first_external_id(app: App, tid: int) -> str:
    with app.engine.connect() as conn:
        return str(conn.execute(sa.select(tables.messages.c.external_id).where(
            tables.messages.c.ticket_id == tid, tables.messages.c.channel == "email",
            tables.messages.c.direction == "in")).scalar_one())


def test_a_citizen_known_only_by_phone_gets_a_call_back_log(
        app: App, client: TestClient, auth: dict[str, str]) -> None:
    app.clock.at = dt.datetime(2026, 3, 2, 8, 5, tzinfo=WIB).astimezone(dt.UTC)  # type: ignore[attr-defined]
    tid = ingest_one(app, message(TRANSCRIPT_CALLER_ONLY, channel="phone", phone="081234567890",
                                  sent_at="2026-03-02T08:00:00+07:00")).ticket_id or 0
    options = client.get(f"/api/v1/tickets/{tid}/reply-options", headers=auth).json()
    assert options["call_back"] is True and options["default"] is None
    r = client.post(f"/api/v1/tickets/{tid}/replies", json={"body": "Kami cek."}, headers=auth)
    assert r.status_code == 409
    assert "catat telepon balik" in r.json()["error"]["message"]
    assert _counts(app) == (0, 0)

    app.clock.at = dt.datetime(2026, 3, 2, 8, 10, tzinfo=WIB).astimezone(dt.UTC)  # type: ignore[attr-defined]
    r = client.post(f"/api/v1/tickets/{tid}/callbacks", headers=auth,
                    json={"body": "Nomor tidak aktif.", "reached": False})
    assert r.status_code == 201, r.text
    sla_tick(app)
    row = _ticket(app, tid)
    assert row.first_response_at is None and row.first_response_state == "running"
    assert row.status == "open"

    app.clock.at = dt.datetime(2026, 3, 2, 8, 25, tzinfo=WIB).astimezone(dt.UTC)  # type: ignore[attr-defined]
    r = client.post(f"/api/v1/tickets/{tid}/callbacks", headers=auth,
                    json={"body": "Sudah dijelaskan cara kirim ulang OTP.", "reached": True})
    assert r.status_code == 201 and r.json() == {"message_id": r.json()["message_id"],
                                                 "channel": "phone", "reached": True}
    sla_tick(app)
    row = _ticket(app, tid)
    assert row.first_response_at == app.clock.now() and row.first_response_state == "met"
    assert row.first_response_business_minutes == 25  # the phone policy's 30 minutes: met
    assert _counts(app) == (2, 0)  # two messages from the desk, nothing for the outbox
    shown = client.get(f"/api/v1/tickets/{tid}", headers=auth).json()["messages"]
    assert [(m["direction"], m["channel"], (m["delivery"] or {}).get("status"))
            for m in shown] == [("in", "phone", None), ("out", "phone", "not_reached"),
                                ("out", "phone", "reached")]
    r = client.post(f"/api/v1/tickets/{tid}/callbacks", headers=auth,
                    json={"body": "x", "reached": "maybe"})
    assert r.status_code == 422


def test_no_call_back_for_a_citizen_who_never_called(
        app: App, client: TestClient, auth: dict[str, str]) -> None:
    tid = ingest_one(app, message("OTP tidak masuk", channel="email",
                                  email="sari@example.id")).ticket_id
    r = client.post(f"/api/v1/tickets/{tid}/callbacks", headers=auth,
                    json={"body": "Saya telepon.", "reached": True})
    assert r.status_code == 409 and "has not called" in r.json()["error"]["message"]
    assert _counts(app) == (0, 0)
