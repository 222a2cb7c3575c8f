"""Runs the Alembic migrations: the only way the schema is made (never ``create_all``)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


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
                command.upgrade(cfg, revision)
                if sqlite:
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
