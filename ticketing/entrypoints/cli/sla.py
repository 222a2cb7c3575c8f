"""``ticketing sla tick`` and ``ticketing sla recompute``."""

from __future__ import annotations

import argparse
import json

from ticketing.app import App
from ticketing.entrypoints.cli.command import Group, command, group, positive


def register(sub: Group) -> None:
    sla = group(sub, "sla", help="SLA timers")
    command(sla, "tick", _tick, help="evaluate SLA timers now: warnings, breaches and "
                                     "escalation steps that came due")
    sr = command(sla, "recompute", _recompute,
                 help="re-measure existing tickets under the CURRENT SLA policy and calendar "
                      "versions (audited)")
    which = sr.add_mutually_exclusive_group(required=True)
    which.add_argument("--ticket", dest="tickets", type=int, action="append", metavar="ID",
                       help="a ticket id (repeatable)")
    which.add_argument("--open", dest="open_tickets", action="store_true",
                       help="every open ticket (new, open, pending_customer)")
    sr.add_argument("--dry-run", action="store_true",
                    help="count the tickets that would change; write nothing")
    sr.add_argument("--batch-size", type=positive, default=500,
                    help="tickets per transaction (default 500)")
    sr.add_argument("--quiet", action="store_true", help="no progress bar")


def _tick(app: App, args: argparse.Namespace) -> int:
    from ticketing.entrypoints.worker import sla_tick
    print(json.dumps(sla_tick(app)))
    return 0


def _recompute(app: App, args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, \
        TimeRemainingColumn

    from ticketing.entrypoints.jobs import remeasure
    from ticketing.services.remeasure import Selection, count
    selection = Selection(ticket_ids=tuple(args.tickets or ()),
                          open_tickets=bool(args.open_tickets))
    setup = app.sla_setup  # a broken sla.toml fails here, before any ticket is read
    total = app.read(count, selection)
    err = Console(stderr=True)
    with Progress(TextColumn("recompute"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err,
                  disable=args.quiet or not err.is_terminal) as progress:
        task = progress.add_task("recompute", total=total)
        counts = remeasure(app, selection, setup=setup, dry_run=args.dry_run,
                           batch_size=args.batch_size,
                           progress=lambda n: progress.update(task, advance=n))
    if args.dry_run:
        counts["would_change"] = counts.pop("changed")
    print(json.dumps(counts))
    return 0
