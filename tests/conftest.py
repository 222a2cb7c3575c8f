"""Shared fixtures: the same tests run on a real SQLite file and a real PostgreSQL database,
both built by the Alembic migrations (never ``create_all``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ticketing.app import App
from ticketing.models import Base
from ticketing.services.clock import FixedClock
from ticketing.settings import DEFAULT_TEST_PG_URL, Settings
from ticketing.store import migrate
from ticketing.store.db import make_engine

# The browser and live-server fixtures, for every directory: one Playwright per session (two
# would refuse to start: Playwright's sync API marks the thread as running its loop).
pytest_plugins = ["tests.browser"]

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("TICKETING_TEST_PG_URL", DEFAULT_TEST_PG_URL)
REQUIRE_PG = os.environ.get("TICKETING_REQUIRE_PG") == "1"


def _pg_admin() -> sa.Engine | None:
    engine = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            return engine
    except sa.exc.OperationalError as exc:
        engine.dispose()
        if REQUIRE_PG:
            raise RuntimeError(f"PostgreSQL required (TICKETING_REQUIRE_PG=1) but {PG_URL} "
                               f"is unreachable: {exc}") from exc
        return None


@contextlib.contextmanager
def _temporary_pg_database() -> Iterator[str]:
    admin = _pg_admin()
    if admin is None:
        pytest.skip("PostgreSQL not reachable (set TICKETING_REQUIRE_PG=1 to fail instead)")
    name = f"tk_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session, dropped at the end."""
    with _temporary_pg_database() as url:
        yield url


@pytest.fixture
def empty_pg_url() -> Iterator[str]:
    """An empty PostgreSQL database of its own, for tests that build the schema themselves."""
    with _temporary_pg_database() as url:
        yield url


@pytest.fixture(scope="session")
def pg_migrated(pg_server_url: str) -> str:
    engine = make_engine(pg_server_url)
    migrate.upgrade(engine)
    engine.dispose()
    return pg_server_url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


def _truncate_all(engine: sa.Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables
                      if t.name != "alembic_version")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "ticketing.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_migrated")
    engine = make_engine(url)
    _truncate_all(engine)
    engine.dispose()
    return url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))


@pytest.fixture
def app(db_url: str, clock: FixedClock, tmp_path: Path) -> Iterator[App]:
    core = App(settings=Settings(database_url=db_url, config_dir=str(ROOT / "config"),
                                 attachment_dir=str(tmp_path / "attachments"),
                                 dev_mailbox_dir=str(tmp_path / "mailbox")),
               clock=clock)
    yield core
    core.close()


@pytest.fixture
def engine(app: App) -> sa.Engine:
    return app.engine
