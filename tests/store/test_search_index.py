"""Migration 0033 on both databases: the full-text index is built from the messages already
stored (backfill), the live-event triggers exist, and it downgrades and upgrades cleanly."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from ticketing.domain.search import SearchVocabulary
from ticketing.store import migrate
from ticketing.store import search as store
from ticketing.store.db import make_engine
from tests.test_migrations import _drift, empty_url  # noqa: F401  (the fixture)

LIVE_TRIGGERS = {"live_messages", "live_tickets_created", "live_tickets_assigned",
                 "live_notifications"}


def _live_triggers(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        return {str(n) for n in conn.scalars(sa.text(sql))} & LIVE_TRIGGERS


def _hits(engine: sa.Engine, q: str) -> list[int]:
    query = SearchVocabulary(slang={"gmn": "bagaimana"}).read(q)
    with engine.connect() as conn:
        return [m for m, _t in store.text_hits(conn, query.groups, cap=10)]


def before_search(url: str) -> str:
    """The revision migration 0033 follows (rechained as main moves on)."""
    from alembic.script import ScriptDirectory
    script = ScriptDirectory.from_config(migrate.alembic_config(url)).get_revision("0033_search")
    assert script is not None and isinstance(script.down_revision, str)
    return script.down_revision


def test_0033_backfills_the_index_and_downgrades(empty_url: str) -> None:  # noqa: F811
    engine = make_engine(empty_url)
    previous = before_search(empty_url)
    migrate.upgrade(engine, previous)
    at = "2026-03-01 00:00:00"
    with engine.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO customers (id, created_at) VALUES (1, '{at}')"))
        conn.execute(sa.text(
            "INSERT INTO tickets (id, customer_id, status, priority, channel, message_count, "
            "created_at, updated_at, first_message_at, last_message_at, sla_signals) VALUES "
            f"(1, 1, 'open', 'normal', 'email', 2, '{at}', '{at}', '{at}', '{at}', '{{}}')"))
        conn.execute(sa.text(
            "INSERT INTO messages (id, ticket_id, customer_id, direction, channel, subject, "
            f"body, sent_at, received_at, attachments, extra) VALUES (:id, 1, 1, 'in', 'email', "
            f":s, :b, '{at}', '{at}', '[]', '{{}}')"),
            [{"id": 1, "s": "Insentif", "b": "gmn ini belum cair"},
             {"id": 2, "s": None, "b": "kode OTP tidak masuk"}])
    migrate.upgrade(engine)
    assert _hits(engine, "bagaimana cair") == [1]
    assert _hits(engine, "insentif") == [1]  # the subject is indexed too
    assert _hits(engine, "otp") == [2]
    assert _live_triggers(engine) == LIVE_TRIGGERS
    assert _drift(engine) == []
    cfg = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, previous)
    assert _live_triggers(engine) == set()
    migrate.upgrade(engine)
    assert _hits(engine, "otp") == [2] and _drift(engine) == []
    engine.dispose()


def test_old_live_events_are_forgotten_in_bounded_chunks(engine: sa.Engine) -> None:
    import datetime as dt

    from ticketing.store import live, tables

    base = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with engine.begin() as conn:
        conn.execute(tables.live_events.insert(), [
            {"kind": "ticket.created", "ticket_id": i, "message_id": None, "user_id": None,
             "created_at": base + dt.timedelta(minutes=i)} for i in range(1, 31)])
    with engine.begin() as conn:
        assert live.expire(conn, base + dt.timedelta(minutes=20, seconds=30), chunk=8) == 8
        assert live.expire(conn, base + dt.timedelta(minutes=20, seconds=30)) == 12
        assert live.expire(conn, base + dt.timedelta(minutes=20, seconds=30)) == 0
        left = [r.ticket_id for r in live.after(conn, 0)]
    assert left == list(range(21, 31))
