"""``ticketing ingest jsonl FILE`` (normalized messages, one per line) and the registration of
``ticketing ingest transcript FILE...`` (``cli.transcript``).

A bad line is reported with its number and quarantined, never dropped; the summary is one JSON
line on standard output.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import json
import sys
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from ticketing.app import App, build_app, settle_for_throughput
from ticketing.entrypoints.cli import transcript
from ticketing.entrypoints.cli.command import Group, command, group
from ticketing.services.ingest import (NORMALIZED_JSON, IngestPolicy, PrepareAsync, Prepared,
                                      ingest_chunks, prepare)
from ticketing.domain.raw import RawDelivery, content_key
from ticketing.store.inbox import Claimed


def register(sub: Group) -> None:
    ingest = group(sub, "ingest", help="ingest messages")
    ij = command(ingest, "jsonl", _ingest_jsonl,
                 help="ingest normalized messages, one JSON object per line")
    ij.add_argument("file", type=Path, help="a .jsonl file, or - for standard input")
    ij.add_argument("--batch-size", type=int, default=None, help="messages per transaction")
    ij.add_argument("--quiet", action="store_true", help="no progress bar")
    ij.add_argument("--workers", type=int, default=1,
                    help="helper processes that parse and read evidence ahead of the writer "
                         "(default 1; 0 does everything in this process)")
    transcript.register(ingest)


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


def _ingest_jsonl(app: App, args: argparse.Namespace) -> int:
    path: Path = args.file
    batch_size: int = args.batch_size or app.settings.ingest_batch_size
    quiet: bool = args.quiet
    workers: int = args.workers
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
            for chunk, outcomes in ingest_chunks(app.uow, payloads(), policy=policy,
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
