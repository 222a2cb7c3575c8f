"""The schema comes from Alembic alone, and the models agree with it on both databases."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ticketing.models import Base
from ticketing.store import migrate
from ticketing.store.db import make_engine


def _drift(engine: sa.Engine) -> list[object]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                     "include_name": migrate.include_name})
        return list(compare_metadata(ctx, Base.metadata))


def test_one_head() -> None:
    assert len(migrate.heads("sqlite://")) == 1


def test_upgrade_on_empty_sqlite_matches_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.heads("sqlite://")[0]
    assert _drift(engine) == []
    engine.dispose()


@pytest.mark.pg
def test_upgrade_on_empty_postgresql_matches_models(empty_pg_url: str) -> None:
    engine = make_engine(empty_pg_url)
    with engine.connect() as conn:
        assert not sa.inspect(conn).get_table_names()
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.heads("sqlite://")[0]
    assert _drift(engine) == []
    engine.dispose()


def test_no_code_calls_create_all() -> None:
    root = Path(__file__).resolve().parents[1]
    offenders = [p for folder in ("ticketing", "channels", "migrations")
                 for p in (root / folder).rglob("*.py") if "create_all(" in p.read_text()]
    assert offenders == []


REPORT_TRIGGERS = {"report_tickets_insert", "report_tickets_delete", "report_tickets_move",
                   "report_tickets_change"}


def _triggers(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'tickets'"
        else:
            sql = ("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                   "AND tgrelid = 'tickets'::regclass")
        return {str(name) for name in conn.scalars(sa.text(sql)) if name.startswith("report_")}


def test_report_triggers_exist_after_upgrade(db_url: str) -> None:
    """Autogenerate does not see triggers: the rollups' four are checked here."""
    engine = make_engine(db_url)
    assert _triggers(engine) == REPORT_TRIGGERS
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    url: str = request.getfixturevalue("empty_pg_url")
    return url


def test_0009_backfills_the_rollups_and_downgrades(empty_url: str) -> None:
    import datetime as dt

    from ticketing.store import tables
    from tests.services.test_report_rollup import _expected, _stored

    engine = make_engine(empty_url)
    migrate.upgrade(engine, "0011")
    first = dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC)
    with engine.begin() as conn:
        conn.execute(tables.customers.insert(), [
            {"id": i, "created_at": first, "merged_into_id": None} for i in (1, 2, 3)])
        conn.execute(tables.tickets.insert(), [{
            "id": i, "customer_id": 1 + i % 3 if i != 5 else 3, "status": "open",
            "priority": "normal", "topic": [None, "otp"][i % 2], "channel": "email",
            "message_count": 0, "created_at": first, "updated_at": first,
            "first_message_at": first + dt.timedelta(hours=i), "last_message_at": first,
            "first_response_state": ["met", "running", "breached"][i % 3],
            "resolution_state": "running", "sla_signals": {},
            "first_response_business_minutes": [None, 7][i % 2],
            "merged_into_id": 1 if i == 4 else None} for i in range(1, 9)])
    migrate.upgrade(engine)
    with engine.connect() as conn:
        want, got = _expected(conn), _stored(conn)
    assert got == want and want[2], "backfilled, with repeat customers"
    from alembic import command
    cfg = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0011")
    assert _triggers(engine) == set()
    migrate.upgrade(engine)
    assert _triggers(engine) == REPORT_TRIGGERS
    assert _drift(engine) == []
    engine.dispose()


def test_0012_moves_inbox_uniqueness_to_the_key_digest(empty_url: str) -> None:
    from alembic import command

    from ticketing.domain.raw import RawDelivery
    from ticketing.store import inbox as inbox_store

    engine = make_engine(empty_url)
    migrate.upgrade(engine, "0009")
    keys = ["jsonl:sha256:" + "ab" * 32, "email:<CAF+long.id@mail.example.id>", "telegram:update:7"]
    insert = sa.text("INSERT INTO inbox (id, channel, idempotency_key, payload, content_type, "
                     "status, attempts, received_at, meta) VALUES (:id, 'api', :k, :p, "
                     "'application/json', :s, 0, '2026-03-01 00:00:00', '{}')")
    with engine.begin() as conn:
        conn.execute(insert, [{"id": i + 1, "k": k, "p": b"{}", "s": ["done", "pending"][i % 2]}
                              for i, k in enumerate(keys)])
    migrate.upgrade(engine)
    with engine.connect() as conn:
        got = {r[0]: bytes(r[1]) for r in conn.exec_driver_sql(
            "SELECT idempotency_key, key_digest FROM inbox")}
    assert got == {k: inbox_store.digest(k) for k in keys}
    assert _drift(engine) == []
    with engine.begin() as conn:  # the digest is what is unique now
        stored = inbox_store.put_many(conn, [RawDelivery(
            channel="api", key=keys[1], payload=b"{}", content_type="application/json")],
            dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
        assert [(s.id, s.inserted) for s in stored] == [(2, False)]
        with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
            conn.execute(sa.text("INSERT INTO inbox (id, channel, idempotency_key, key_digest, "
                                 "payload, content_type, status, attempts, received_at, meta) "
                                 "VALUES (9, 'api', 'other', :d, :p, 'x', 'done', 0, "
                                 "'2026-03-01 00:00:00', '{}')"),
                         {"d": inbox_store.digest(keys[0]), "p": b"{}"})
    cfg = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0009")
    with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(insert, {"id": 10, "k": keys[0], "p": b"{}", "s": "done"})
    migrate.upgrade(engine)
    assert _drift(engine) == []
    engine.dispose()


def test_sqlite_upgrade_refuses_to_commit_broken_foreign_keys(tmp_path: Path) -> None:
    """SQLite migrations run with foreign keys off (a table copy would otherwise delete row by
    row); what they leave is checked before commit, and a broken reference rolls back."""
    import sqlite3

    engine = make_engine(f"sqlite:///{tmp_path / 'fk.db'}")
    migrate.upgrade(engine, "0009")
    engine.dispose()
    raw = sqlite3.connect(tmp_path / "fk.db")  # foreign keys are off by default here
    raw.execute("INSERT INTO identities (id, customer_id, kind, value, source, created_at) "
                "VALUES (1, 999, 'phone', '+6281200000001', 'test', '2026-03-01 00:00:00')")
    raw.commit()
    raw.close()
    engine = make_engine(f"sqlite:///{tmp_path / 'fk.db'}")
    with pytest.raises(RuntimeError, match="foreign keys"):
        migrate.upgrade(engine)
    assert migrate.current_revision(engine) == "0009"
    with engine.connect() as conn:  # and the connection has its foreign keys back on
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    engine.dispose()


def test_0014_moves_automation_and_references_out_of_extra(empty_url: str) -> None:
    from alembic import command

    engine = make_engine(empty_url)
    migrate.upgrade(engine, "0012")
    at = "2026-03-01 00:00:00"
    extras = {
        1: {"auto": "out-of-office", "references": ["<b@x>", "<a@x>"], "full_text": "cuti"},
        2: {"auto": "bounce", "bounce_of": "<t1@us>", "bounce_action": "delayed"},
        3: {"auto": "bounce", "bounce_of": "<t1@us>", "bounce_status": "5.1.1"},
        4: {"auto": "read-receipt", "receipt_of": "<t1@us>", "references": []},
        5: {"auto": True},  # our acknowledgement
        6: {"auto": None, "references": ["<a@x>"], "quoted": "> hi"},
        7: {"instagram_kind": "dm"},
    }
    with engine.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO customers (id, created_at) VALUES (1, '{at}')"))
        conn.execute(sa.text(
            "INSERT INTO tickets (id, customer_id, status, priority, channel, message_count, "
            "created_at, updated_at, first_message_at, last_message_at, sla_signals) VALUES "
            f"(1, 1, 'open', 'normal', 'email', 7, '{at}', '{at}', '{at}', '{at}', '{{}}')"))
        conn.execute(sa.text(
            "INSERT INTO messages (id, ticket_id, customer_id, direction, channel, body, sent_at, "
            f"received_at, attachments, extra) VALUES (:id, 1, 1, 'in', 'email', 'x', '{at}', "
            f"'{at}', '[]', :extra)"),
            [{"id": i, "extra": json.dumps(e)} for i, e in extras.items()])
    migrate.upgrade(engine)
    assert _drift(engine) == []
    m = sa.table("messages", sa.column("id"), sa.column("automation"),
                 sa.column("automation_reason"), sa.column("reference_ids", sa.JSON()),
                 sa.column("extra", sa.JSON()))
    with engine.connect() as conn:
        got = {r.id: (r.automation, r.automation_reason, r.reference_ids, r.extra)
               for r in conn.execute(sa.select(m).order_by(m.c.id))}
    assert got == {
        1: ("auto_reply", "out-of-office", ["<b@x>", "<a@x>"], {"full_text": "cuti"}),
        2: ("delay", "bounce", None, {"bounce_of": "<t1@us>", "bounce_action": "delayed"}),
        3: ("bounce", "bounce", None, {"bounce_of": "<t1@us>", "bounce_status": "5.1.1"}),
        4: ("receipt", "read-receipt", None, {"receipt_of": "<t1@us>"}),
        5: ("auto_reply", None, None, {}),
        6: (None, None, ["<a@x>"], {"quoted": "> hi"}),
        7: (None, None, None, {"instagram_kind": "dm"}),
    }
    cfg = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0012")
    with engine.connect() as conn:
        back = {r[0]: r[1] if isinstance(r[1], dict) else json.loads(r[1])
                for r in conn.exec_driver_sql("SELECT id, extra FROM messages ORDER BY id")}
    assert back[1] == extras[1] and back[5] == {"auto": True} and back[7] == extras[7]
    assert back[2]["auto"] == "bounce" and back[6] == {"references": ["<a@x>"], "quoted": "> hi"}
    migrate.upgrade(engine)


def test_0013_moves_first_responses_to_delivery(empty_url: str) -> None:
    """Replies counted when queued move to the delivery rule: a sent reply is delivered at its
    outbox ``sent_at``; a failed or pending one is not; a phone call in which an agent spoke
    still counts; the changed tickets are handed to the SLA timer."""
    from ticketing.store import tables

    engine = make_engine(empty_url)
    migrate.upgrade(engine, "0012")
    first = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
    queued = first + dt.timedelta(hours=1)
    sent = first + dt.timedelta(hours=3)
    call = ("[00:00:01] Penelepon: OTP tidak masuk.\n"
            "[00:00:09] Petugas: Baik, kami bantu kirim ulang.")
    stale = first - dt.timedelta(days=30)

    def naive(x: dt.datetime) -> dt.datetime:
        return x.replace(tzinfo=None) if engine.dialect.name == "sqlite" else x

    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO users (id, email, name, role, password_hash, skills, languages, "
            "active, created_at) VALUES (1, 'a@example.id', 'A', 'agent', 'x', '[]', "
            "'[\"id\"]', true, :at)"), {"at": naive(first)})
        conn.execute(sa.text("INSERT INTO customers (id, created_at) VALUES (1, :at)"),
                     {"at": naive(first)})
        # 1: delivered reply; 2: reply failed for good; 3: reply still pending; 4: a phone call
        # in which the agent spoke; 5: no reply at all.
        for tid, channel in ((1, "email"), (2, "email"), (3, "email"), (4, "phone"),
                             (5, "email")):
            conn.execute(sa.text(
                "INSERT INTO tickets (id, customer_id, status, priority, channel, "
                "message_count, created_at, updated_at, first_message_at, last_message_at, "
                "first_response_at, sla_signals, sla_check_at, merged_into_id) VALUES (:id, 1, "
                "'open', 'normal', :ch, 1, :f, :f, :f, :f, :fr, '{}', :stale, NULL)"),
                {"id": tid, "ch": channel, "f": naive(first), "stale": naive(stale),
                 "fr": naive(queued) if tid in (1, 2, 3) else None})
        rows = [(1, 1, "in", "email", "OTP", None), (2, 1, "out", "email", "Kami cek", 1),
                (3, 2, "in", "email", "OTP", None), (4, 2, "out", "email", "Kami cek", 1),
                (5, 3, "in", "email", "OTP", None), (6, 3, "out", "email", "Kami cek", 1),
                (7, 4, "in", "phone", call, None), (8, 5, "in", "email", "OTP", None)]
        for mid, tid, direction, channel, body, author in rows:
            conn.execute(sa.text(
                "INSERT INTO messages (id, ticket_id, customer_id, direction, channel, body, "
                "sent_at, received_at, attachments, extra, author_user_id) VALUES (:id, :t, 1, "
                ":d, :ch, :b, :at, :at, '[]', '{}', :u)"),
                {"id": mid, "t": tid, "d": direction, "ch": channel, "b": body, "u": author,
                 "at": naive(queued if direction == "out" else first)})
        for oid, mid, tid, status in ((1, 2, 1, "sent"), (2, 4, 2, "failed"),
                                      (3, 6, 3, "pending")):
            conn.execute(sa.text(
                "INSERT INTO outbox (id, ticket_id, message_id, channel, kind, recipient, "
                "payload, status, attempts, next_attempt_at, created_at, sent_at) VALUES (:id, "
                ":t, :m, 'email', 'reply', '{}', '{}', :s, 1, :at, :q, :sent)"),
                {"id": oid, "t": tid, "m": mid, "s": status, "at": naive(sent),
                 "q": naive(queued), "sent": naive(sent) if status == "sent" else None})
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    migrate.upgrade(engine)
    m, t = tables.messages, tables.tickets
    with engine.connect() as conn:
        delivered = dict(conn.execute(sa.select(m.c.id, m.c.delivered_at)
                                      .where(m.c.direction == "out")).all())
        got = {r.id: r for r in conn.execute(sa.select(
            t.c.id, t.c.first_response_at, t.c.reply_failed_at, t.c.sla_check_at))}
    assert delivered == {2: sent, 4: None, 6: None}
    assert {i: r.first_response_at for i, r in got.items()} == {
        1: sent, 2: None, 3: None, 4: first, 5: None}
    assert [i for i, r in got.items() if r.reply_failed_at is not None] == [2]
    assert {i for i, r in got.items() if r.sla_check_at > before} == {1, 2, 3}
    assert got[5].sla_check_at == stale
    assert _drift(engine) == []
    engine.dispose()
