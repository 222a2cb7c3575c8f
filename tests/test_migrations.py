"""The schema comes from Alembic alone, and the models agree with it on both databases."""

from __future__ import annotations

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
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
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
