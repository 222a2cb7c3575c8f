"""``ticketing db upgrade|current|vacuum``, ``ticketing serve`` and ``ticketing worker``."""

from __future__ import annotations

import argparse
import sys

import sqlalchemy as sa

from ticketing.app import App
from ticketing.entrypoints.cli.command import Group, command, group
from ticketing.store import migrate


def register(sub: Group) -> None:
    db = group(sub, "db", help="database schema")
    command(db, "upgrade", _upgrade,
            help="apply the Alembic migrations to the configured database")
    command(db, "current", _current, help="print the database's migration revision")
    command(db, "vacuum", _vacuum, help="compact the database and refresh the planner's "
                                        "statistics (SQLite: stop writers first; PostgreSQL: "
                                        "online)")
    command(sub, "serve", _serve, help="run the web app/API, channel listeners and workers")
    w = command(sub, "worker", _worker, help="run background workers only (several may run on "
                                             "several hosts against one PostgreSQL)")
    w.add_argument("--once", action="store_true", help="drain what is pending, then exit")


def _upgrade(app: App, args: argparse.Namespace) -> int:
    migrate.upgrade(app.engine)
    print(f"database at revision {migrate.current_revision(app.engine)}")
    _free_space_hint(app.engine)
    return 0


def _current(app: App, args: argparse.Namespace) -> int:
    print(migrate.current_revision(app.engine) or "(empty)")
    return 0


def _vacuum(app: App, args: argparse.Namespace) -> int:
    before = migrate.free_space(app.engine)
    migrate.vacuum(app.engine)
    after = migrate.free_space(app.engine)
    if before and after:
        print(f"database file {before[1] / 2**20:,.0f} MB → {after[1] / 2**20:,.0f} MB "
              f"({before[0] / 2**20:,.0f} MB of it were free pages); statistics refreshed")
    else:
        print("vacuumed and analyzed")
    return 0


def _free_space_hint(engine: sa.Engine) -> None:
    space = migrate.free_space(engine)
    if space is None:
        return
    free, size = space
    if free > 64 * 2**20 and free > size // 5:
        print(f"note: {free / 2**20:,.0f} MB of the {size / 2**20:,.0f} MB file are free pages "
              "(a migration copied a table); new rows scatter into them and writes slow down "
              "until `ticketing db vacuum` (stop writers first) compacts the file",
              file=sys.stderr)


def _serve(app: App, args: argparse.Namespace) -> int:
    from ticketing.entrypoints.server import serve
    return serve(app)


def _worker(app: App, args: argparse.Namespace) -> int:
    from ticketing.entrypoints.worker import run_worker
    return run_worker(app, once=args.once)
