"""A transcript quarantined for a missing caller is retried with corrected metadata: uploaded
again with ``caller`` (the same content key finds the quarantined row, which is requeued and
processed, not answered "duplicate"), or requeued from the command line with ``--caller``.
Both audited, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ticketing.app import App
from ticketing.entrypoints.api import create_api
from ticketing.entrypoints.cli import main
from ticketing.store import tables
from tests.channels.phone.test_parse import FIXTURES
from tests.conftest import ROOT
from tests.channels.phone.test_upload import URL, auth, upload

CALL = "insentif_call.vtt"  # no caller number inside, and none in the file name


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_api(app)) as c:
        yield c


def inbox_rows(app: App) -> list[Any]:
    with app.engine.connect() as conn:
        return conn.execute(sa.select(tables.inbox).order_by(tables.inbox.c.id)).all()


def audits(app: App) -> list[dict[str, Any]]:
    a = tables.audit
    with app.engine.connect() as conn:
        return [dict(r.data, actor=r.actor) for r in conn.execute(
            sa.select(a.c.data, a.c.actor).where(a.c.kind == "inbox.requeued").order_by(a.c.id))]


def test_upload_again_with_the_caller_retries_the_quarantined_transcript(
        app: App, client: TestClient) -> None:
    headers = auth(app, "supervisor")
    first = client.post(URL, files=upload(CALL), headers=headers)
    assert first.status_code == 422 and "no caller number" in first.json()["error"]["message"]
    [row] = inbox_rows(app)
    assert row.status == "quarantined"

    again = client.post(URL, files=upload(CALL), headers=headers,
                        data={"caller": "0812-3456-7003",
                              "started_at": "2026-03-02T10:30:00+07:00"})
    assert again.status_code == 201, again.text
    body = again.json()
    assert body["outcome"] == "created" and body["requeued"] is True
    assert body["inbox_id"] == row.id and body["ticket_id"]
    [row] = inbox_rows(app)  # the same row, not a second copy
    assert row.status == "done"
    assert row.meta["caller"] == "+6281234567003" and row.meta["filename"] == CALL
    with app.engine.connect() as conn:
        owner = conn.execute(sa.select(tables.identities.c.customer_id).where(
            tables.identities.c.value == "+6281234567003")).scalar_one()
    assert owner == body["customer_id"]
    [record] = audits(app)
    assert record["inbox_ids"] == [row.id] and record["was"] == ["quarantined"]
    assert record["meta_changed"] == ["caller", "started_at", "user"]
    assert "+6281234567003" not in str(record)  # the number itself is not audited

    # Now it is done: the same file again is a duplicate, as before.
    third = client.post(URL, files=upload(CALL), headers=headers,
                        data={"caller": "0812-3456-7003"})
    assert third.status_code == 200 and third.json()["outcome"] == "duplicate"
    assert third.json()["requeued"] is False and len(audits(app)) == 1


def test_a_retry_still_missing_the_caller_stays_quarantined(
        app: App, client: TestClient) -> None:
    headers = auth(app, "admin")
    assert client.post(URL, files=upload(CALL), headers=headers).status_code == 422
    again = client.post(URL, files=upload(CALL), headers=headers)
    assert again.status_code == 422 and "no caller number" in again.json()["error"]["message"]
    [row] = inbox_rows(app)
    assert row.status == "quarantined" and len(audits(app)) == 1


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TICKETING_DATABASE_URL", db_url)
    monkeypatch.setenv("TICKETING_CONFIG_DIR", str(ROOT / "config"))
    return db_url


def test_cli_requeue_with_the_caller_then_a_worker_makes_the_ticket(
        app: App, cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", "transcript", str(FIXTURES / CALL), "--quiet"]) == 0
    assert '"rejected": 1' in capsys.readouterr().out
    [row] = inbox_rows(app)
    assert row.status == "quarantined"

    for usage in (["--quarantined", "--caller", "0812-3456-7003"],  # one number, many calls
                  ["--caller", "0812-3456-7003"], ["--id", str(row.id), "--caller", "nomor"],
                  ["--id", str(row.id), "--quarantined"]):
        with pytest.raises(SystemExit) as exit_info:
            main(["inbox", "requeue", *usage])
        assert exit_info.value.code == 2
    assert main(["inbox", "requeue", "--id", "999999"]) == 1
    assert "no inbox row 999999" in capsys.readouterr().err

    assert main(["inbox", "requeue", "--id", str(row.id), "--caller", "0812-3456-7003",
                 "--started", "2026-03-02T10:30:00"]) == 0
    assert "requeued 1 inbox rows" in capsys.readouterr().out
    [row] = inbox_rows(app)
    assert row.status == "pending" and row.meta["caller"] == "+6281234567003"
    assert row.meta["started_at"] == "2026-03-02T03:30:00+00:00"  # no offset: WIB
    [record] = audits(app)
    assert record["actor"] == "cli" and record["meta_changed"] == ["caller", "started_at"]

    assert main(["worker", "--once"]) == 0
    capsys.readouterr()
    [row] = inbox_rows(app)
    assert row.status == "done"
    with app.engine.connect() as conn:
        phone = conn.execute(sa.select(tables.identities.c.value).where(
            tables.identities.c.kind == "phone")).scalars().all()
    assert "+6281234567003" in phone
    # Done rows are not requeued: a conflict, exit 1 with one line.
    assert main(["inbox", "requeue", "--id", str(row.id)]) == 1
    assert "is done" in capsys.readouterr().err
