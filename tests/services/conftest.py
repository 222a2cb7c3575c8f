"""Shared by the SLA service tests: a Friday-afternoon clock, another App on the same database
with an edited copy of the config, and readers for tickets, audit rows and notifications."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ticketing.app import App
from ticketing.domain.zones import WIB
from ticketing.services import accounts, updates
from ticketing.services.accounts import Principal, Role
from ticketing.services.clock import FixedClock
from ticketing.store import tables
from tests.conftest import ROOT

FRIDAY_1630 = "2026-03-06T16:30:00+07:00"
WARNED = dt.datetime(2026, 3, 9, 10, 45, tzinfo=WIB)  # first response warns at Mon 10:42
BREACHED = dt.datetime(2026, 3, 9, 11, 31, tzinfo=WIB)  # and is due at Mon 11:30


@pytest.fixture
def friday(clock: FixedClock) -> FixedClock:
    clock.at = dt.datetime(2026, 3, 6, 16, 31, tzinfo=WIB).astimezone(dt.UTC)
    return clock


def at(clock: FixedClock, when: dt.datetime) -> None:
    clock.at = when.astimezone(dt.UTC)


def user(app: App, email: str, role: str, *, active: bool = True) -> int:
    with app.engine.begin() as conn:
        uid = accounts.create_user(conn, email=email, name=email.split("@")[0], role=role,
                                   password="secret-password", clock=app.clock)
        if not active:
            conn.execute(tables.users.update().where(tables.users.c.id == uid)
                         .values(active=False))
    return uid


def assign(app: App, ticket_id: int, email: str) -> None:
    boss = Principal(user_id=0, email="x@example.id", name="x", role=Role.SUPERVISOR)
    with app.engine.begin() as conn:
        updates.update_ticket(conn, ticket_id, {"assignee": email}, by=boss, topics=(),
                              now=app.clock.now())


def audit_rows(app: App, kind: str) -> list[dict[str, object]]:
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(tables.audit.c.data).where(tables.audit.c.kind == kind)
                                 .order_by(tables.audit.c.id)).scalars())


def notified(app: App) -> list[tuple[int, str, str]]:
    n = tables.notifications
    with app.engine.connect() as conn:
        return [(r.user_id, r.kind, r.data["target"]) for r in conn.execute(
            sa.select(n.c.user_id, n.c.kind, n.c.data).order_by(n.c.id))]


def ticket(app: App, tid: int) -> sa.Row[tuple[object, ...]]:
    with app.engine.connect() as conn:
        return conn.execute(sa.select(tables.tickets).where(tables.tickets.c.id == tid)).one()


@pytest.fixture
def configured(app: App, tmp_path: Path) -> Iterator[Callable[..., App]]:
    """Another App on the same database with an edited config copy and/or settings."""
    made: list[App] = []

    def build(sla_edit: Callable[[str], str] | None = None, **settings: object) -> App:
        folder = tmp_path / f"config{len(made)}"
        shutil.copytree(ROOT / "config", folder)
        if sla_edit is not None:
            path = folder / "sla.toml"
            path.write_text(sla_edit(path.read_text()))
        other = App(settings=dataclasses.replace(app.settings, config_dir=str(folder),
                                                 **settings),  # type: ignore[arg-type]
                    clock=app.clock)
        made.append(other)
        return other
    yield build
    for other in made:
        other.close()
