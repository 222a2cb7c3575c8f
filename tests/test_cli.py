"""The ``ticketing`` command line, run in-process with the configured database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ticketing.entrypoints.cli import main
from tests.conftest import ROOT
from tests.helpers import message


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TICKETING_DATABASE_URL", db_url)
    monkeypatch.setenv("TICKETING_CONFIG_DIR", str(ROOT / "config"))
    return db_url


def test_help_lists_the_contract_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("db", "serve", "worker", "users", "tokens", "ingest", "export"):
        assert command in out


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["users", "create", "--email", "x@y.id"])
    assert exit_info.value.code == 2


def test_ingest_jsonl_reports_bad_lines_and_keeps_the_rest(
        cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = [message("OTP tidak masuk", phone="081234567890"),
            message("Insentif belum cair", phone="081234567890"),
            message("OTP masih belum masuk", phone="0812 3456 7890")]
    lines = [json.dumps(good[0]).encode(), b"{broken json", json.dumps(good[1]).encode(), b"",
             b"\xff\xfe\x00", json.dumps(good[2]).encode(), json.dumps(good[0]).encode()]
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert main(["ingest", "jsonl", str(path), "--quiet"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary == {"created": 2, "appended": 1, "duplicate": 1, "ignored": 0, "rejected": 2,
                       "failed": 0, "total": 6}
    assert "line 2: rejected" in captured.err and "line 5: rejected" in captured.err

    assert main(["export", "messages"]) == 0
    exported = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(exported) == 3
    assert {e["external_id"] for e in exported} == {g["external_id"] for g in good}
    assert len({e["customer_id"] for e in exported}) == 1
    assert len({e["ticket_id"] for e in exported}) == 2

    assert main(["export", "tickets"]) == 0
    tickets = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    required = {"ticket_id", "customer_id", "status", "topic", "priority", "channel",
                "created_at", "first_response_due_at", "first_response_at", "resolution_due_at",
                "resolved_at", "assignee", "merged_into"}
    assert len(tickets) == 2 and all(required <= set(t) for t in tickets)
    assert {t["topic"] for t in tickets} == {"otp", "insentif"}
    assert tickets[0]["created_at"].endswith("+00:00")


def test_missing_file_is_a_one_line_error(cli_env: str, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    assert main(["ingest", "jsonl", "/nonexistent.jsonl"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("ticketing:") and len(err.splitlines()) == 1


def test_users_and_tokens(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["users", "create", "--email", "Agen@Example.id", "--name", "Agen",
                 "--role", "agent", "--password", "rahasia-123", "--skills", "otp,akun"]) == 0
    assert main(["users", "create", "--email", "agen@example.id", "--name", "Agen",
                 "--role", "agent", "--password", "rahasia-123"]) == 1
    assert "exists" in capsys.readouterr().err
    assert main(["tokens", "create", "--email", "agen@example.id"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("tk_") and len(token) > 30
    assert main(["tokens", "create", "--email", "nobody@example.id"]) == 1


def test_worker_once_drains_what_transports_stored(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    from ticketing.app import build_app
    from ticketing.settings import load_settings
    from ticketing.store import inbox as inbox_store
    from tests.helpers import raw

    app = build_app(load_settings(str(ROOT / "config")))
    with app.engine.begin() as conn:
        inbox_store.put_many(conn, [raw(message("OTP tidak masuk", phone="081234567890")),
                                    raw(b"{broken"),
                                    raw(message("OTP masih belum", phone="0812 3456 7890"))],
                             app.clock.now())
    app.close()
    assert main(["worker", "--once"]) == 0
    assert "processed 3 inbox rows" in capsys.readouterr().out
    assert main(["export", "messages"]) == 0
    exported = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(exported) == 2 and len({e["ticket_id"] for e in exported}) == 1


def test_quarantined_payloads_can_be_requeued_after_a_fix(
        cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The raw bytes of a rejected line are kept; requeueing runs them through the pipeline
    again (here they are still bad, so they come back quarantined with their reason)."""
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"{broken json\n")
    assert main(["ingest", "jsonl", str(path), "--quiet", "--workers", "0"]) == 0
    capsys.readouterr()
    assert main(["inbox", "requeue"]) == 0
    assert "requeued 1 quarantined" in capsys.readouterr().out
    assert main(["worker", "--once"]) == 0
    assert "processed 1 inbox rows" in capsys.readouterr().out
    assert main(["inbox", "requeue"]) == 0
    assert "requeued 1 quarantined" in capsys.readouterr().out


def test_users_create_with_routing_profile_and_agents_set(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["users", "create", "--email", "ani@example.id", "--name", "Ani", "--role",
                 "agent", "--password", "secret-pass", "--skills", "otp,akun",
                 "--languages", "id,en", "--teams", "akun", "--capacity",
                 "webchat=5,email=25", "--status", "online"]) == 0
    capsys.readouterr()
    assert main(["agents", "set", "--email", "ani@example.id", "--capacity", "webchat=3"]) == 0
    profile = json.loads(capsys.readouterr().out)
    assert profile["teams"] == ["akun"] and profile["capacity"] == {"webchat": 3}
    assert profile["skills"] == ["akun", "otp"] and profile["status"] == "online"
    assert main(["agents", "set", "--email", "ani@example.id", "--teams", "nowhere"]) == 1
    assert "no team named 'nowhere'" in capsys.readouterr().err
    assert main(["agents", "set", "--email", "ani@example.id", "--capacity", "fax=1"]) == 1
    assert main(["routing", "tick"]) == 0
    assert "assigned" in capsys.readouterr().out


def test_db_vacuum_compacts_and_upgrade_warns_of_free_pages(
        cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlalchemy as sa

    from ticketing.store import migrate
    from ticketing.store.db import make_engine

    engine = make_engine(cli_env)
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:  # leave 70 MB of free pages behind, as a migration copying a big table does
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE scratch (b BLOB)")
            conn.execute(sa.text("INSERT INTO scratch VALUES (:b)"),
                         [{"b": bytes(1_000_000)} for _ in range(70)])
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE scratch")
        before = migrate.free_space(engine)
        assert before is not None and before[0] > 64 * 2**20
    engine.dispose()
    assert main(["db", "upgrade"]) == 0
    err = capsys.readouterr().err
    assert ("ticketing db vacuum" in err) == sqlite
    assert main(["db", "vacuum"]) == 0
    out = capsys.readouterr().out
    engine = make_engine(cli_env)
    if sqlite:
        assert "MB of it were free pages" in out
        after = migrate.free_space(engine)
        assert after is not None and after[0] == 0 and after[1] < before[1] - 64 * 2**20
        with engine.connect() as conn:  # ANALYZE ran: the planner has statistics
            assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_stat1").scalar_one() > 0
    else:
        assert "vacuumed and analyzed" in out
        with engine.connect() as conn:
            assert conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_user_tables WHERE relname = 'tickets' "
                "AND last_analyze IS NOT NULL").scalar_one() == 1
    engine.dispose()
    assert main(["db", "upgrade"]) == 0
    assert "ticketing db vacuum" not in capsys.readouterr().err
