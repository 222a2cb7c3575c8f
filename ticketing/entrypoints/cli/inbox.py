"""``ticketing inbox requeue``: quarantined (or ignored) raw payloads back in the queue, e.g.
after a parser fix, or one payload with corrected metadata (a transcript's caller number and
start, when the file did not carry them).  Audited (``services.requeue``)."""

from __future__ import annotations

import argparse

from ticketing.app import App
from ticketing.entrypoints.cli import transcript
from ticketing.entrypoints.cli.command import Group, command, group
from ticketing.services.requeue import REQUEUEABLE, Requeue, requeue


def register(sub: Group) -> None:
    inbox = group(sub, "inbox", help="the raw inbox")
    rq = command(inbox, "requeue", _requeue, check=_corrections_need_one_row,
                 help="put quarantined (or ignored) raw payloads back in the queue, e.g. after "
                      "a parser fix, or one with corrected metadata",
                 description="Put raw payloads back in the queue (a worker processes them). "
                             "Without options: every quarantined row. --caller/--started "
                             "correct a transcript's metadata and need --id.")
    which = rq.add_mutually_exclusive_group()
    which.add_argument("--id", dest="ids", type=int, action="append", metavar="N",
                       help="this inbox row (repeatable)")
    which.add_argument("--quarantined", dest="status", action="store_const",
                       const="quarantined", help="every quarantined row (the default)")
    which.add_argument("--status", choices=REQUEUEABLE, help="every row with this status")
    rq.add_argument("--caller", type=transcript.phone, metavar="PHONE",
                    help="the caller's number, e.g. 0812-3456-7890 (a transcript's metadata)")
    rq.add_argument("--started", type=transcript.started, metavar="ISO",
                    help="when the call started, e.g. 2026-03-02T09:15:30+07:00; no offset "
                         "means WIB")


def _corrections_need_one_row(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    # One caller number for every quarantined row would give many calls one citizen.
    if (args.caller or args.started) and not args.ids:
        parser.error("--caller and --started correct one payload: give --id N")


def _requeue(app: App, args: argparse.Namespace) -> int:
    status = args.status or "quarantined"
    meta = {"caller": args.caller,
            "started_at": args.started.isoformat() if args.started else None}
    ids = app.write(requeue, Requeue(ids=tuple(args.ids or ()), status=status, meta=meta),
                    actor="cli", now=app.clock.now())
    what = "" if args.ids else f" {status}"
    print(f"requeued {len(ids)}{what} inbox rows; a worker will process them")
    return 0
