"""The ``ticketing`` command line (see CONTRACT.md).  Exit status: 0 success, 2 usage error,
1 other failure with a one-line reason on stderr."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import multiprocessing as mp
import sys
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, TextIO

import sqlalchemy as sa

from ticketing.app import App, build_app, settle_for_throughput
from ticketing.domain.errors import TicketingError
from ticketing.domain.raw import RawDelivery, content_key
from ticketing.services import accounts
from ticketing.services.export import export_messages, export_tickets
from ticketing.services.ingest import (NORMALIZED_JSON, IngestPolicy, PrepareAsync, Prepared,
                                      ingest_chunks, prepare)
from ticketing.store import migrate
from ticketing.store.inbox import Claimed

log = logging.getLogger("ticketing")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ticketing",
        description="Omnichannel complaint-desk ticketing engine. Settings come from "
                    "config/settings.toml, overridden by TICKETING_* environment variables.")
    p.add_argument("--config-dir", help="folder with settings.toml and policy files "
                                        "(default: ./config or $TICKETING_CONFIG_DIR)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_cmd", required=True)
    db.add_parser("upgrade", help="apply the Alembic migrations to the configured database")
    db.add_parser("current", help="print the database's migration revision")
    db.add_parser("vacuum", help="compact the database and refresh the planner's statistics "
                                 "(SQLite: stop writers first; PostgreSQL: online)")

    sub.add_parser("serve", help="run the web app/API, channel listeners and workers")
    w = sub.add_parser("worker", help="run background workers only (several may run on several "
                                      "hosts against one PostgreSQL)")
    w.add_argument("--once", action="store_true", help="drain what is pending, then exit")

    users = sub.add_parser("users", help="staff accounts").add_subparsers(dest="users_cmd",
                                                                           required=True)
    uc = users.add_parser("create", help="create a user")
    uc.add_argument("--email", required=True)
    uc.add_argument("--name", required=True)
    uc.add_argument("--role", required=True, choices=[r.value for r in accounts.Role])
    uc.add_argument("--password", required=True)
    uc.add_argument("--skills", default="", help="comma-separated topics, e.g. otp,akun")
    uc.add_argument("--languages", default="id", help="comma-separated, e.g. id,en")
    _agent_flags(uc)

    agents = sub.add_parser("agents", help="agents' routing profiles").add_subparsers(
        dest="agents_cmd", required=True)
    aset = agents.add_parser("set", help="change an agent's teams, capacity, skills, languages "
                                         "or status")
    aset.add_argument("--email", required=True)
    aset.add_argument("--skills", help="comma-separated topics, e.g. otp,akun ('' for every topic)")
    aset.add_argument("--languages", help="comma-separated, e.g. id,en")
    _agent_flags(aset)
    ashow = agents.add_parser("show", help="an agent's routing profile, load and status")
    ashow.add_argument("--email", required=True)

    routing = sub.add_parser("routing", help="the shared queue").add_subparsers(
        dest="routing_cmd", required=True)
    routing.add_parser("tick", help="offline returns, heartbeat expiry and auto-assignment now "
                                    "(what the worker does continuously)")

    tokens = sub.add_parser("tokens", help="API tokens").add_subparsers(dest="tokens_cmd",
                                                                         required=True)
    tc = tokens.add_parser("create", help="print a new API token for a user")
    tc.add_argument("--email", required=True)

    ingest = sub.add_parser("ingest", help="ingest messages").add_subparsers(dest="ingest_cmd",
                                                                             required=True)
    ij = ingest.add_parser("jsonl", help="ingest normalized messages, one JSON object per line")
    ij.add_argument("file", type=Path, help="a .jsonl file, or - for standard input")
    ij.add_argument("--batch-size", type=int, default=None, help="messages per transaction")
    ij.add_argument("--quiet", action="store_true", help="no progress bar")
    ij.add_argument("--workers", type=int, default=1,
                    help="helper processes that parse and read evidence ahead of the writer "
                         "(default 1; 0 does everything in this process)")
    from ticketing.entrypoints.transcript_cli import add_transcript_parser
    add_transcript_parser(ingest)

    inbox = sub.add_parser("inbox", help="the raw inbox").add_subparsers(dest="inbox_cmd",
                                                                          required=True)
    rq = inbox.add_parser("requeue", help="put quarantined (or ignored) raw payloads back in "
                                          "the queue, e.g. after a parser fix")
    rq.add_argument("--status", choices=["quarantined", "ignored"], default="quarantined")

    sla = sub.add_parser("sla", help="SLA timers").add_subparsers(dest="sla_cmd", required=True)
    sla.add_parser("tick", help="evaluate SLA timers now: warnings, breaches and escalation "
                                "steps that came due")
    sr = sla.add_parser("recompute", help="re-measure existing tickets under the CURRENT SLA "
                                          "policy and calendar versions (audited)")
    which = sr.add_mutually_exclusive_group(required=True)
    which.add_argument("--ticket", dest="tickets", type=int, action="append", metavar="ID",
                       help="a ticket id (repeatable)")
    which.add_argument("--open", dest="open_tickets", action="store_true",
                       help="every open ticket (new, open, pending_customer)")
    sr.add_argument("--dry-run", action="store_true",
                    help="count the tickets that would change; write nothing")
    sr.add_argument("--batch-size", type=_positive, default=500,
                    help="tickets per transaction (default 500)")
    sr.add_argument("--quiet", action="store_true", help="no progress bar")

    report = sub.add_parser("report", help="reports").add_subparsers(dest="report_cmd",
                                                                      required=True)
    rs = report.add_parser("sla", help="the supervisors' SLA report")
    rs.add_argument("--from", dest="start", required=True, type=_date, help="YYYY-MM-DD (WIB)")
    rs.add_argument("--to", dest="end", required=True, type=_date, help="YYYY-MM-DD (WIB)")
    rs.add_argument("--format", choices=["html", "csv", "json"], default="html")
    rs.add_argument("--group-by", choices=["channel", "agent", "topic", "day", "team"],
                    default="channel")
    rs.add_argument("--out", type=Path, help="write to this file instead of standard output")

    export = sub.add_parser("export", help="export stored data as JSON lines"
                            ).add_subparsers(dest="export_cmd", required=True)
    for name, what in (("messages", "one line per stored inbound message"),
                       ("tickets", "one line per ticket")):
        e = export.add_parser(name, help=what)
        e.add_argument("--format", choices=["jsonl"], default="jsonl")
        e.add_argument("--out", type=Path, help="write to this file instead of standard output")
    return p


def _agent_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--teams", help="comma-separated team names from config/routing.toml "
                                   "('' for every team)")
    p.add_argument("--capacity", help="tickets at once per channel, e.g. webchat=5,email=25 "
                                      "(default: routing.toml [defaults])")
    p.add_argument("--status", choices=["online", "away", "offline"])


def _split(text: str | None) -> list[str] | None:
    return None if text is None else [x for x in (s.strip() for s in text.split(",")) if x]


def _set_agent(app: App, args: argparse.Namespace, *, account: bool) -> dict[str, Any] | None:
    from ticketing.services.presence import parse_capacity, set_agent
    if account and args.teams is None and args.capacity is None and args.status is None:
        return None
    with app.engine.begin() as conn:
        return set_agent(conn, email=args.email, config=app.routing, by="cli",
                         teams=_split(args.teams),
                         capacity=parse_capacity(args.capacity) if args.capacity else None,
                         skills=None if account else _split(args.skills),
                         languages=None if account else _split(args.languages),
                         status=args.status, now=app.clock.now())


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "ingest_cmd", None) == "transcript" and args.started and len(args.files) > 1:
        parser.error("--started applies to one call: give a single FILE")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        from ticketing.settings import load_settings
        app = build_app(load_settings(args.config_dir))
        try:
            return int(_dispatch(app, args) or 0)
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


def _dispatch(app: App, args: argparse.Namespace) -> int:
    cmd = args.command
    if cmd == "db":
        if args.db_cmd == "upgrade":
            migrate.upgrade(app.engine)
            print(f"database at revision {migrate.current_revision(app.engine)}")
            _free_space_hint(app.engine)
        elif args.db_cmd == "vacuum":
            before = migrate.free_space(app.engine)
            migrate.vacuum(app.engine)
            after = migrate.free_space(app.engine)
            if before and after:
                print(f"database file {before[1] / 2**20:,.0f} MB → {after[1] / 2**20:,.0f} MB "
                      f"({before[0] / 2**20:,.0f} MB of it were free pages); statistics "
                      "refreshed")
            else:
                print("vacuumed and analyzed")
        else:
            print(migrate.current_revision(app.engine) or "(empty)")
        return 0
    if cmd == "users":
        with app.engine.begin() as conn:
            uid = accounts.create_user(
                conn, email=args.email, name=args.name, role=args.role, password=args.password,
                skills=args.skills.split(","), languages=args.languages.split(","),
                clock=app.clock)
        print(f"created user {uid} <{args.email.lower()}> ({args.role})")
        _set_agent(app, args, account=True)
        return 0
    if cmd == "agents":
        if args.agents_cmd == "set":
            print(json.dumps(_set_agent(app, args, account=False)))
            return 0
        from ticketing.services.presence import agent_by_email
        with app.engine.connect().execution_options(readonly=True) as conn, conn.begin():
            print(json.dumps(agent_by_email(conn, args.email, app.routing)))
        return 0
    if cmd == "routing":
        from ticketing.services.presence import routing_tick
        print(json.dumps(routing_tick(app.engine, app.routing, app.clock)))
        return 0
    if cmd == "tokens":
        with app.engine.begin() as conn:
            print(accounts.create_token(conn, email=args.email, clock=app.clock))
        return 0
    if cmd == "ingest" and args.ingest_cmd == "transcript":
        from ticketing.entrypoints.transcript_cli import ingest_transcripts
        return ingest_transcripts(app, args.files, caller=args.caller, started=args.started,
                                  quiet=args.quiet)
    if cmd == "ingest":
        return _ingest_jsonl(app, args.file, args.batch_size or app.settings.ingest_batch_size,
                             quiet=args.quiet, workers=args.workers)
    if cmd == "export":
        return _export(app, args.export_cmd, args.out)
    if cmd == "report":
        return _report(app, args)
    if cmd == "inbox":
        from ticketing.store.inbox import requeue
        with app.engine.begin() as conn:
            count = requeue(conn, status=args.status)
        print(f"requeued {count} {args.status} inbox rows; a worker will process them")
        return 0
    if cmd == "sla":
        if args.sla_cmd == "recompute":
            return _recompute(app, args)
        from ticketing.entrypoints.worker import sla_tick
        counts = sla_tick(app)
        print(json.dumps(counts))
        return 0
    if cmd == "worker":
        from ticketing.entrypoints.worker import run_worker
        return run_worker(app, once=args.once)
    if cmd == "serve":
        from ticketing.entrypoints.server import serve
        return serve(app)
    raise AssertionError(cmd)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _recompute(app: App, args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, \
        TimeRemainingColumn

    from ticketing.services.remeasure import Selection, count, remeasure
    selection = Selection(ticket_ids=tuple(args.tickets or ()),
                          open_tickets=bool(args.open_tickets))
    setup = app.sla_setup  # a broken sla.toml fails here, before any ticket is read
    with app.engine.connect() as conn:
        total = count(conn, selection)
    err = Console(stderr=True)
    with Progress(TextColumn("recompute"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err,
                  disable=args.quiet or not err.is_terminal) as progress:
        task = progress.add_task("recompute", total=total)
        counts = remeasure(app.engine, setup, app.clock, selection, dry_run=args.dry_run,
                           batch_size=args.batch_size,
                           progress=lambda n: progress.update(task, advance=n))
    if args.dry_run:
        counts["would_change"] = counts.pop("changed")
    print(json.dumps(counts))
    return 0


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def _report(app: App, args: argparse.Namespace) -> int:
    from ticketing.services.reports import sla_report, to_csv
    from ticketing.entrypoints.web.report_html import render
    with app.engine.connect().execution_options(readonly=True) as conn, conn.begin():
        data = sla_report(conn, start=args.start, end=args.end, group_by=args.group_by,
                          now=app.clock.now())
    text = (render(data) if args.format == "html" else to_csv(data) if args.format == "csv"
            else json.dumps(data, ensure_ascii=False, indent=1, default=str))
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def _export(app: App, what: str, out: Path | None) -> int:
    fh: TextIO = out.open("w", encoding="utf-8") if out else sys.stdout
    try:
        with app.engine.connect().execution_options(readonly=True) as conn, conn.begin():
            rows = export_messages(conn) if what == "messages" else export_tickets(conn)
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if out:
            fh.close()
    return 0


def jsonl_payloads(lines: Iterator[bytes], source: str) -> Iterator[tuple[int, RawDelivery]]:
    """Each non-blank line as a raw payload keyed by its content, so a replayed file is stored
    once and a bad line is kept, not lost.  (The same message re-encoded differently is caught
    one step later, by (channel, external_id).)  Nothing is parsed here: that is the workers'."""
    for number, line in enumerate(lines, 1):
        line = line.rstrip(b"\r\n")
        if not line.strip():
            continue
        yield number, RawDelivery(channel="api", key=content_key("jsonl", line), payload=line,
                                  content_type=NORMALIZED_JSON,
                                  meta={"source": source, "line": number})


def _batches(items: Iterator[tuple[int, RawDelivery]], size: int
             ) -> Iterator[list[tuple[int, RawDelivery]]]:
    chunk: list[tuple[int, RawDelivery]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_CHILD_POLICY: IngestPolicy | None = None


def _init_child(config_dir: str) -> None:
    global _CHILD_POLICY
    from ticketing.settings import load_settings
    child = build_app(load_settings(config_dir))
    settle_for_throughput(child)
    _CHILD_POLICY = child.ingest_policy


def _prepare_in_child(claimed: list[Claimed]) -> list[Prepared]:
    assert _CHILD_POLICY is not None
    return prepare(claimed, _CHILD_POLICY)


def _prepare_pool(app: App, workers: int) -> ProcessPoolExecutor | None:
    """Parsing and evidence (pure, CPU-bound) run in helper processes while this one writes."""
    if workers <= 0:
        return None
    app.evidence_policy  # fail here, with a clear message, if the config is broken
    return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                               initializer=_init_child, initargs=(app.settings.config_dir,))


def _ingest_jsonl(app: App, path: Path, batch_size: int, *, quiet: bool,
                  workers: int = 1) -> int:
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeRemainingColumn)

    err = Console(stderr=True)
    if str(path) == "-":
        stream: Any = sys.stdin.buffer
        total = None
    else:
        if not path.is_file():
            print(f"ticketing: no such file: {path}", file=sys.stderr)
            return 1
        stream = path.open("rb")
        total = path.stat().st_size
    counts: Counter[str] = Counter()
    problems: list[str] = []
    pool = _prepare_pool(app, workers)
    settle_for_throughput(app)
    policy = app.ingest_policy
    prepare_async: PrepareAsync | None = None
    if pool is not None:
        executor = pool

        def submit(claimed: list[Claimed]) -> Future[list[Prepared]]:
            return executor.submit(_prepare_in_child, claimed)
        prepare_async = submit
    chunks = _batches(jsonl_payloads(iter(stream), str(path)), batch_size)
    numbers: deque[list[int]] = deque()  # line numbers of the chunks in flight, in order

    def payloads() -> Iterator[list[RawDelivery]]:
        for chunk in chunks:
            numbers.append([n for n, _ in chunk])
            yield [p for _, p in chunk]

    try:
        with Progress(TextColumn("ingest"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("bytes"), TimeRemainingColumn(), console=err,
                      disable=quiet or not err.is_terminal) as progress:
            task = progress.add_task("ingest", total=total)
            for chunk, outcomes in ingest_chunks(app.engine, payloads(), policy=policy,
                                                 clock=app.clock, prepare_async=prepare_async):
                lines = numbers.popleft()
                for number, outcome in zip(lines, outcomes, strict=True):
                    counts[outcome.outcome] += 1
                    if outcome.outcome in ("rejected", "failed"):
                        problems.append(f"line {number}: {outcome.outcome}: {outcome.error}")
                progress.update(task, advance=sum(len(p.payload) + 1 for p in chunk))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if stream is not sys.stdin.buffer:
        stream.close()
    for line in problems[:200]:
        print(line, file=sys.stderr)
    if len(problems) > 200:
        print(f"... and {len(problems) - 200} more (quarantined in the inbox)", file=sys.stderr)
    summary = {k: counts.get(k, 0) for k in ("created", "appended", "duplicate", "ignored",
                                              "rejected", "failed")}
    summary["total"] = sum(counts.values())
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
