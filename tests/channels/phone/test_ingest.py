"""Transcripts through the real pipeline (inbox → parser → identity → ticket) and the
``ticketing ingest transcript`` command, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from channels.phone.intake import transcript_delivery
from ticketing.app import App
from ticketing.entrypoints.cli import main
from ticketing.services.ingest import Outcome, run_pending, store_and_process
from ticketing.store import inbox as inbox_store
from ticketing.store import tables
from ticketing.domain.raw import RawDelivery
from tests.channels.phone.test_parse import AGENT_NIK, FIXTURES, NIKS, TEXT
from tests.conftest import ROOT
from tests.helpers import ingest_one, message

RECEIVED = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)


def payload(name: str, caller: str | None = None) -> RawDelivery:
    return transcript_delivery((FIXTURES / name).read_bytes(), filename=name, caller=caller,
                               received_at=RECEIVED)


def ingest_file(app: App, name: str, caller: str | None = None) -> Outcome:
    return store_and_process(app.uow, [payload(name, caller)], policy=app.ingest_policy,
                             clock=app.clock)[0]


def identities(app: App) -> dict[tuple[str, str], int]:
    ids = tables.identities
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(ids.c.kind, ids.c.value, ids.c.customer_id)).all()
    return {(r.kind, r.value): r.customer_id for r in rows}


@pytest.mark.parametrize("name", sorted(NIKS))
def test_nik_read_out_by_the_caller_is_linked_and_the_agents_is_not(app: App, name: str) -> None:
    caller = None if name == TEXT else "0857-5012-3006"  # the text fixture's name carries it
    outcome = ingest_file(app, name, caller)
    assert outcome.outcome == "created", outcome.error
    linked = identities(app)
    assert linked[("nik", NIKS[name])] == outcome.customer_id
    assert ("nik", AGENT_NIK) not in linked
    phone = "+6281234567001" if name == TEXT else "+6285750123006"
    assert linked[("phone", phone)] == outcome.customer_id
    with app.engine.connect() as conn:
        row = conn.execute(sa.select(tables.messages.c.channel, tables.messages.c.body)
                           .where(tables.messages.c.id == outcome.message_id)).one()
    assert row.channel == "phone" and row.body.startswith("Agen: ")


def test_the_worker_parses_stored_transcripts_and_quarantines_a_bad_one(app: App) -> None:
    bad = transcript_delivery(b"WEBVTT\n\nNOTE kosong\n", filename="rusak.vtt",
                              caller="081234567002", received_at=RECEIVED)
    with app.engine.begin() as conn:
        inbox_store.put_many(conn, [payload("otp_call.srt", "081234567002"), bad],
                             app.clock.now())
    assert run_pending(app.uow, policy=app.ingest_policy, clock=app.clock) == 2
    inbox = tables.inbox
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(inbox.c.status, inbox.c.last_error, inbox.c.payload,
                                      inbox.c.meta).order_by(inbox.c.id)).all()
    assert rows[0].status == "done" and rows[0].last_error is None
    assert rows[1].status == "quarantined" and "no cues" in rows[1].last_error
    assert bytes(rows[1].payload) == b"WEBVTT\n\nNOTE kosong\n"  # kept untouched for a replay
    assert rows[1].meta["filename"] == "rusak.vtt"
    with app.engine.connect() as conn:
        stored = conn.execute(sa.select(tables.messages.c.external_id)).scalars().all()
    assert len(stored) == 1 and stored[0].startswith("sha256:")


def test_same_caller_on_the_phone_and_on_telegram_is_one_customer(app: App) -> None:
    call = ingest_file(app, "otp_call.srt", "0857-5012-3006")
    chat = ingest_one(app, message("Min, OTP saya belum masuk juga. NIK saya 3174052103880004",
                                   channel="telegram", telegram_id="7001234567",
                                   sent_at="2026-03-02T11:00:00+07:00"))
    assert chat.outcome in ("created", "appended")
    assert chat.customer_id == call.customer_id
    linked = identities(app)
    assert linked[("telegram", "7001234567")] == call.customer_id


# --- the command line --------------------------------------------------------------------------

@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TICKETING_DATABASE_URL", db_url)
    monkeypatch.setenv("TICKETING_CONFIG_DIR", str(ROOT / "config"))
    return db_url


def summary(out: str) -> dict[str, int]:
    result: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    return result


def test_cli_ingests_every_format_once_and_reports_bad_files_by_name(
        cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(FIXTURES / n) for n in sorted(NIKS)]
    assert main(["ingest", "transcript", *files, "--caller", "0857 5012 3006", "--quiet"]) == 0
    first = summary(capsys.readouterr().out)
    assert first["created"] + first["appended"] == 5 and first["total"] == 5
    assert first["rejected"] == 0

    broken = tmp_path / "panggilan_rusak.json"
    broken.write_bytes(b'{"jobName": "x", "results": {"items": [')
    assert main(["ingest", "transcript", files[0], str(broken), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert summary(captured.out) == {"created": 0, "appended": 0, "duplicate": 1, "ignored": 0,
                                     "rejected": 1, "failed": 0, "unreadable": 0, "total": 2}
    assert f"{broken}: rejected: invalid or truncated JSON" in captured.err

    assert main(["ingest", "transcript", str(broken), "--quiet"]) == 0  # still quarantined
    assert summary(capsys.readouterr().out)["rejected"] == 1

    assert main(["export", "messages"]) == 0
    exported = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(exported) == 5 and {e["channel"] for e in exported} == {"phone"}
    assert {"prakerja-call-20260302-0042", "7f3c2a10-5b1e-4c7d-9a51-2d8e6f0b4c91"} <= \
        {e["external_id"] for e in exported}
    with sa.create_engine(cli_env).connect() as conn:
        status = conn.execute(sa.select(tables.inbox.c.status)
                              .where(tables.inbox.c.content_type
                                     == "application/vnd.ticketing.call-transcript")
                              ).scalars().all()
    assert sorted(status).count("quarantined") == 1 and len(status) == 6


def test_cli_started_and_caller_are_used_and_checked(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    srt = str(FIXTURES / "otp_call.srt")
    assert main(["ingest", "transcript", srt, "--caller", "0812-3456-7002",
                 "--started", "2026-03-02T14:05:00", "--quiet"]) == 0
    assert summary(capsys.readouterr().out)["created"] == 1
    assert main(["export", "messages"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert row["sent_at"] == "2026-03-02T07:05:00+00:00"  # no offset given: WIB
    for bad in (["--caller", "bukan-nomor"], ["--started", "kemarin"]):
        with pytest.raises(SystemExit) as usage:
            main(["ingest", "transcript", srt, *bad])
        assert usage.value.code == 2
    with pytest.raises(SystemExit) as usage:
        main(["ingest", "transcript", srt, srt, "--started", "2026-03-02T14:05:00+07:00"])
    assert usage.value.code == 2


def test_cli_missing_file_is_a_failure_the_others_still_go_in(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", "transcript", "/nonexistent/rekaman.txt",
                 str(FIXTURES / TEXT), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert summary(captured.out)["created"] == 1 and summary(captured.out)["unreadable"] == 1
    assert "/nonexistent/rekaman.txt: unreadable" in captured.err


def test_cli_help_explains_formats(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["ingest", "transcript", "--help"])
    out = capsys.readouterr().out
    assert "WebVTT" in out and "--caller" in out and "--started" in out
