"""The layering of docs/architecture.md, enforced by import-linter (contracts in pyproject.toml),
plus the rule that the domain never reads the clock, the environment or files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_domain_reads_no_clock_environment_or_files() -> None:
    forbidden = re.compile(r"datetime\.now\(|\.today\(\)|time\.time\(|os\.environ|\bopen\(|"
                           r"import os\b|import socket\b")
    offenders = [f"{p.name}:{n}" for p in (ROOT / "ticketing" / "domain").rglob("*.py")
                 for n, line in enumerate(p.read_text().splitlines(), 1)
                 if forbidden.search(line)]
    assert offenders == []


def test_use_cases_neither_branch_on_the_database_nor_own_a_transaction() -> None:
    """Use cases take a connection (or ``store.db.Transactions``); the drivers own begin and
    commit, and a difference between SQLite and PostgreSQL is a ``store`` function."""
    forbidden = re.compile(r"\.dialect\b|\.begin\(\)|\.connect\(|\.commit\(\)|\.rollback\(\)|"
                           r"sa\.Engine\b|create_engine\(|exec_driver_sql\(")
    offenders = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
                 for p in (ROOT / "ticketing" / "services").rglob("*.py")
                 for n, line in enumerate(p.read_text().splitlines(), 1)
                 if forbidden.search(line)]
    assert offenders == []


def test_audit_rows_are_written_by_the_one_recorder() -> None:
    """Typed events (``domain.events``) through ``store.audit.record``; the one-statement claim
    (``store.routing``) is the documented exception, naming its kind from the event class."""
    forbidden = re.compile(r"audit\.insert\(|insert_rows\([^)]*audit|INSERT INTO audit_events")
    allowed = {ROOT / "ticketing" / "store" / "audit.py", ROOT / "ticketing" / "store" / "routing.py"}
    offenders = [f"{p.relative_to(ROOT)}:{n}" for p in (ROOT / "ticketing").rglob("*.py")
                 if p not in allowed
                 for n, line in enumerate(p.read_text().splitlines(), 1)
                 if forbidden.search(line)]
    assert offenders == []
