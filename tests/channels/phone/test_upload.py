"""``POST /channels/phone/transcripts`` through a real HTTP client, on both databases."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ticketing.entrypoints.api import create_api
from ticketing.app import App
from ticketing.services import accounts
from ticketing.store import tables
from tests.channels.phone.test_parse import FIXTURES, NIKS, TEXT

URL = "/channels/phone/transcripts"


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_api(app)) as c:
        yield c


def auth(app: App, role: str) -> dict[str, str]:
    email = f"{role}@example.id"
    with app.engine.begin() as conn:
        accounts.create_user(conn, email=email, name=role.title(), role=role,
                             password="secret-password", clock=app.clock)
        return {"Authorization": f"Bearer {accounts.create_token(conn, email=email, clock=app.clock)}"}


def upload(name: str, data: bytes | None = None) -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, data if data is not None else (FIXTURES / name).read_bytes(),
                     "application/octet-stream")}


def test_upload_creates_a_phone_ticket_then_answers_duplicate(app: App, client: TestClient
                                                               ) -> None:
    headers = auth(app, "supervisor")
    r = client.post(URL, files=upload("insentif_call.vtt"), headers=headers,
                    data={"caller": "0812-3456-7003", "started_at": "2026-03-02T10:30:00+07:00"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["outcome"] == "created" and body["inbox_id"] and body["ticket_id"]
    with app.engine.connect() as conn:
        linked = dict(conn.execute(sa.select(tables.identities.c.value,
                                             tables.identities.c.customer_id)).all())
        meta = conn.execute(sa.select(tables.inbox.c.meta)
                            .where(tables.inbox.c.id == body["inbox_id"])).scalar_one()
        sent_at = conn.execute(sa.select(tables.messages.c.sent_at)).scalar_one()
    assert linked[NIKS["insentif_call.vtt"]] == body["customer_id"]
    assert linked["+6281234567003"] == body["customer_id"]
    assert meta["filename"] == "insentif_call.vtt" and meta["source"] == "upload"
    when = sent_at if sent_at.tzinfo else sent_at.replace(tzinfo=dt.UTC)
    assert when == dt.datetime(2026, 3, 2, 3, 30, tzinfo=dt.UTC)
    again = client.post(URL, files=upload("insentif_call.vtt"), headers=headers,
                        data={"caller": "0812-3456-7003"})
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert again.json()["ticket_id"] == body["ticket_id"]


def test_the_file_name_can_carry_the_caller(app: App, client: TestClient) -> None:
    r = client.post(URL, files=upload(TEXT), headers=auth(app, "admin"))
    assert r.status_code == 201, r.text


def test_bad_transcript_is_quarantined_and_answered_422(app: App, client: TestClient) -> None:
    r = client.post(URL, files=upload("kosong.vtt", b"WEBVTT\n\n"), headers=auth(app, "admin"),
                    data={"caller": "081234567003"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "malformed_payload" and "no cues" in error["message"]
    with app.engine.connect() as conn:
        status = conn.execute(sa.select(tables.inbox.c.status)).scalar_one()
    assert status == "quarantined"


def test_auth_roles_size_and_form_checks(app: App, client: TestClient) -> None:
    assert client.post(URL, files=upload(TEXT)).status_code == 401
    assert client.post(URL, files=upload(TEXT), headers=auth(app, "agent")).status_code == 403
    headers = auth(app, "admin")
    r = client.post(URL, files=upload(TEXT), headers=headers, data={"caller": "bukan nomor"})
    assert r.status_code == 422 and "caller" in r.json()["error"]["message"]
    r = client.post(URL, files=upload(TEXT), headers=headers, data={"started_at": "kemarin"})
    assert r.status_code == 422 and "started_at" in r.json()["error"]["message"]
    assert client.post(URL, headers=headers, data={"caller": "081234567003"}).status_code == 422

    app.settings = dataclasses.replace(app.settings, transcript_max_bytes=1000)
    big = (FIXTURES / "aws_transcribe_insentif.json").read_bytes()
    assert len(big) > 1000
    r = client.post(URL, files=upload("aws.json", big), headers=headers,
                    data={"caller": "081234567003"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    with app.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.inbox)).scalar() == 0


def test_upload_names_the_agents_speaker_label(app: App, client: TestClient) -> None:
    raw = (b'{"jobName": "up-1", "results": {"items": ['
           b'{"type": "pronunciation", "start_time": "0.1", "end_time": "0.4", '
           b'"speaker_label": "spk_0", "alternatives": [{"content": "Halo"}]}, '
           b'{"type": "pronunciation", "start_time": "0.5", "end_time": "0.9", '
           b'"speaker_label": "spk_1", "alternatives": [{"content": "pagi"}]}]}}')
    headers = auth(app, "supervisor")
    form = {"caller": "081234567002", "started_at": "2026-03-02T09:00:00+07:00"}
    refused = client.post(URL, files=upload("call.json", raw), data=form, headers=headers)
    assert refused.status_code == 422  # "Halo" / "pagi": nothing tells who is who
    assert "cannot tell the agent from the caller" in refused.json()["error"]["message"]
    told = client.post(URL, files=upload("call.json", raw),
                       data={**form, "agent_speaker": "spk_1"}, headers=headers)
    assert told.status_code == 201, told.text
    assert told.json()["requeued"] is True
    with app.engine.connect() as conn:
        msg = conn.execute(sa.select(tables.messages.c.body, tables.messages.c.extra)
                           .where(tables.messages.c.id == told.json()["message_id"])).one()
    assert msg.body == "Penelepon: Halo\nAgen: pagi"
    assert msg.extra["speaker_roles"]["method"] == "agent_speaker"
