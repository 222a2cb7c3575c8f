"""``ticketing ingest transcript FILE...``: phone-call transcript files into the raw inbox and
through the same pipeline as every channel.

Each file is one raw payload keyed by its content: ingesting a file again is a ``duplicate``; a
file the phone parser cannot read is quarantined with its reason and reported by name.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from channels.phone.intake import transcript_delivery
from ticketing.app import App
from ticketing.domain import bounds
from ticketing.domain.errors import InvalidInput
from ticketing.domain.identity import normalize_phone
from ticketing.domain.raw import RawDelivery
from ticketing.domain.zones import WIB
from ticketing.entrypoints.cli.command import Group, command
from ticketing.services.ingest import ingest_chunks

_CHUNK = 25


def register(ingest: Group) -> None:
    it = command(
        ingest, "transcript", _run, check=_one_call_started,
        help="ingest phone-call transcript files",
        description="Ingest phone-call transcripts: plain text ('[00:00:04] Pelapor: ...'), "
                    "WebVTT (<v Petugas>), SRT, AWS Transcribe JSON or Contact Lens JSON, "
                    "recognised by content. Each file is one call (ingesting it again is a "
                    "duplicate); an unreadable transcript is quarantined and reported by name. "
                    "The caller's number and the call's start come from --caller/--started, "
                    "else from a file name like 6281234567890_20260302T091530.txt (WIB).")
    it.add_argument("files", type=Path, nargs="+", metavar="FILE", help="transcript files")
    it.add_argument("--caller", type=phone, metavar="PHONE",
                    help="the caller's number for every FILE, e.g. 0812-3456-7890")
    it.add_argument("--started", type=started, metavar="ISO",
                    help="when the call started (one FILE only), e.g. 2026-03-02T09:15:30+07:00; "
                         "no offset means WIB")
    it.add_argument("--quiet", action="store_true", help="no progress bar")


def _one_call_started(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.started and len(args.files) > 1:
        parser.error("--started applies to one call: give a single FILE")


def _run(app: App, args: argparse.Namespace) -> int:
    return ingest_transcripts(app, args.files, caller=args.caller, started=args.started,
                              quiet=args.quiet)


def phone(text: str) -> str:
    """``--caller``: any common format, stored E.164."""
    value = normalize_phone(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"not a phone number: {text!r}")
    return value


def started(text: str) -> dt.datetime:
    """``--started``: ISO 8601; without an offset the time is read as WIB (Asia/Jakarta)."""
    try:
        when = bounds.check_instant(
            dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00")), "--started")
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
    return (when if when.tzinfo else when.replace(tzinfo=WIB)).astimezone(dt.UTC)


def ingest_transcripts(app: App, files: Sequence[Path], *, caller: str | None,
                       started: dt.datetime | None, quiet: bool) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    err = Console(stderr=True)
    counts: Counter[str] = Counter()
    problems: list[str] = []
    readable: list[tuple[Path, bytes]] = []
    for path in files:
        try:
            readable.append((path, path.read_bytes()))
        except OSError as exc:
            problems.append(f"{path}: unreadable: {exc.strerror or exc}")
            counts["unreadable"] += 1
    now = app.clock.now()

    def chunks() -> Iterator[list[RawDelivery]]:
        for start in range(0, len(readable), _CHUNK):
            chunk = []
            for path, data in readable[start:start + _CHUNK]:
                chunk.append(transcript_delivery(
                    data, filename=path.name, caller=caller, started_at=started,
                    received_at=now))
            yield chunk

    done = 0
    with Progress(TextColumn("transcripts"), BarColumn(), MofNCompleteColumn(), console=err,
                  disable=quiet or not err.is_terminal) as progress:
        task = progress.add_task("transcripts", total=len(readable))
        for _chunk, outcomes in ingest_chunks(app.uow, chunks(), policy=app.ingest_policy,
                                              clock=app.clock):
            for (path, _data), outcome in zip(readable[done:done + len(outcomes)], outcomes,
                                              strict=True):
                counts[outcome.outcome] += 1
                if outcome.outcome in ("rejected", "failed"):
                    reason = outcome.error or "quarantined earlier; see the inbox"
                    problems.append(f"{path}: {outcome.outcome}: {reason}")
            done += len(outcomes)
            progress.update(task, completed=done)
    for line in problems:
        print(line, file=sys.stderr)
    summary = {k: counts.get(k, 0) for k in ("created", "appended", "duplicate", "ignored",
                                              "rejected", "failed", "unreadable")}
    summary["total"] = len(files)
    print(json.dumps(summary))
    return 1 if counts["unreadable"] else 0
