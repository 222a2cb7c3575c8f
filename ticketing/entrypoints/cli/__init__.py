"""The ``ticketing`` command line (see CONTRACT.md).  Exit status: 0 success, 2 usage error,
1 other failure with a one-line reason on stderr.

Each command group lives in its own module and registers one handler per command on its
sub-parser (``command.command``); ``main`` parses, runs the command's usage check, builds the
application and calls the handler: there is no dispatch chain to keep in step.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from ticketing.app import build_app
from ticketing.domain.errors import TicketingError
from ticketing.entrypoints.cli import inbox, ingest, operations, reports, sla, staff, telegram
from ticketing.entrypoints.cli.ingest import jsonl_payloads

__all__ = ["jsonl_payloads", "main", "parser"]

log = logging.getLogger("ticketing")

# In the order `ticketing --help` lists them.
GROUPS = (operations, staff, ingest, inbox, sla, reports, telegram)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ticketing",
        description="Omnichannel complaint-desk ticketing engine. Settings come from "
                    "config/settings.toml, overridden by TICKETING_* environment variables.")
    p.add_argument("--config-dir", help="folder with settings.toml and policy files "
                                        "(default: ./config or $TICKETING_CONFIG_DIR)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in GROUPS:
        module.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)  # a usage error exits 2 here
    if args.check is not None:
        args.check(p, args)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        from ticketing.settings import load_settings
        app = build_app(load_settings(args.config_dir))
        try:
            return int(args.handler(app, args) or 0)
        finally:
            app.close()
    except TicketingError as exc:
        print(f"ticketing: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the contract: one readable line, not a traceback
        log.debug("failure", exc_info=True)
        print(f"ticketing: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 1
