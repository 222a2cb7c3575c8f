"""Runs the Alembic migrations: the only way the schema is made (never ``create_all``)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
# Made by the migrations, beyond what the models can say (autogenerate must not call them
# drift): SQLite's FTS5 table over messages and its shadow tables, PostgreSQL's expression
# index for full-text search (migration 0033).
OUTSIDE_MODELS = frozenset({"messages_fts", "messages_fts_data", "messages_fts_idx",
                            "messages_fts_docsize", "messages_fts_config",
                            "ix_messages_search"})


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Alembic's ``include_name`` hook: everything but ``OUTSIDE_MODELS``."""
    return name not in OUTSIDE_MODELS


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # SQLite changes a table by copying it and dropping the old one; with foreign keys
            # on, that DROP first deletes row by row and looks up every referring table for
            # each row (messages.raw_id → inbox: hours for a million rows).  Off for the
            # migration (the pragma is ignored inside a transaction), checked before commit.
            _pragma(conn, "foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                before = MigrationContext.configure(conn).get_current_revision()
                command.upgrade(cfg, revision)
                changed = MigrationContext.configure(conn).get_current_revision() != before
                if sqlite and changed:  # (a full check reads every referring table)
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                _pragma(conn, "foreign_keys=ON")


def _pragma(conn: sa.Connection, setting: str) -> None:
    """Outside any transaction (SQLAlchemy would open one): on the driver's connection."""
    raw = conn.connection.driver_connection
    assert raw is not None
    raw.execute(f"PRAGMA {setting}")


def heads(url: str) -> tuple[str, ...]:
    return tuple(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def free_space(engine: sa.Engine) -> tuple[int, int] | None:
    """SQLite: (bytes in free pages, file size).  A migration that copies a large table leaves
    the old pages free inside the file: new rows then scatter into them until a VACUUM."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as conn:
        page = int(conn.exec_driver_sql("PRAGMA page_size").scalar_one())
        free = int(conn.exec_driver_sql("PRAGMA freelist_count").scalar_one())
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())
        conn.rollback()
    return free * page, pages * page


def vacuum(engine: sa.Engine) -> None:
    """Rewrite the database compactly and refresh the planner's statistics.  SQLite: ``VACUUM``
    (the file is rebuilt: needs as much free disk again, and no writer meanwhile), then
    ``ANALYZE``; PostgreSQL: ``VACUUM (ANALYZE)`` of every table (concurrent work goes on)."""
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        if engine.dialect.name == "sqlite":
            raw.execute("VACUUM")
            raw.execute("ANALYZE")
        else:
            conn.commit()
            previous = raw.autocommit
            raw.autocommit = True
            try:
                raw.execute("VACUUM (ANALYZE)")
            finally:
                raw.autocommit = previous

