"""How a command of the ``ticketing`` command line is declared: one handler per command,
registered on its argparse sub-parser (``set_defaults``), never an ``if cmd == ...`` chain.

A handler gets the composition root and the parsed arguments and returns the exit status
(0 success; 1 failure with a one-line reason on stderr; usage errors, 2, are argparse's).
``check`` runs before the application is built, for usage errors argparse cannot express.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from typing import TypeAlias

from ticketing.app import App
from ticketing.domain import bounds
from ticketing.domain.errors import InvalidInput

Handler = Callable[[App, argparse.Namespace], int]
Check = Callable[[argparse.ArgumentParser, argparse.Namespace], None]
# argparse's sub-command registry (its class is private; the alias keeps that in one place).
Group: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def command(sub: Group, name: str, handler: Handler, *, help: str,
            description: str | None = None, check: Check | None = None
            ) -> argparse.ArgumentParser:
    """Add ``name`` under ``sub``, run by ``handler``."""
    p: argparse.ArgumentParser = sub.add_parser(name, help=help, description=description or help)
    p.set_defaults(handler=handler, check=check)
    return p


def group(sub: Group, name: str, *, help: str) -> Group:
    """A command with sub-commands (``ticketing db upgrade``)."""
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help, description=help)
    inner: Group = parser.add_subparsers(dest=f"{name}_cmd", required=True, metavar="COMMAND")
    return inner


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def date(text: str) -> dt.date:
    try:
        return bounds.check_date(dt.date.fromisoformat(text), "date")
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def split(text: str | None) -> list[str] | None:
    """A comma-separated option: None when not given, [] when given empty."""
    return None if text is None else [x for x in (s.strip() for s in text.split(",")) if x]
