"""The watched folder for phone-call transcripts (``TICKETING_TRANSCRIPT_DIR``), polled by the
worker on every pass and by ``worker --once``.

* A file directly in the folder is taken once it looks complete: not a dot-file, not ``*.tmp`` /
  ``*.part``, and not modified in the last ``MIN_AGE`` seconds.  Producers should write under a
  temporary name (or elsewhere on the same file system) and rename into the folder.
* It is claimed by an atomic rename into ``processing/`` under a name unique to this claim
  (``<token>__<original name>``): of two workers (even on two hosts sharing the folder) only one
  rename succeeds, the other moves on.
* Its bytes go to the raw inbox exactly as ``ticketing ingest transcript`` stores them (keyed by
  content, so the same file again is a ``duplicate``; caller and start from the file name) and
  through the same pipeline (``store_and_process``) in one commit.
* Then the file moves to ``done/``, or to ``failed/`` with ``<name>.reason.txt`` beside it when
  the parser quarantined it (the inbox row keeps the bytes and the reason either way).  A name
  already taken there gets a numbered suffix; nothing is overwritten.
* A file over ``TICKETING_TRANSCRIPT_MAX_BYTES`` goes to ``failed/`` unread (a reason file says
  so), as the upload would refuse it.
* A file that could not be read or stored stays in ``processing/``; once it has been there
  ``STALE_AFTER`` seconds, a later pass (of any worker) claims it again and retries.

Log lines name the inbox row and a fingerprint of the content, never the file name (which
carries the caller's number) nor its text.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from channels.phone.intake import transcript_delivery
from ticketing.app import App
from ticketing.services.ingest import Outcome, store_and_process
from ticketing.store import tables

log = logging.getLogger(__name__)

MIN_AGE = 2.0  # seconds since the last write before a file counts as complete
STALE_AFTER = 600.0  # seconds a claimed file may sit in processing/ before it is retried
SKIPPED_SUFFIXES = (".tmp", ".part")
_SEP = "__"


@dataclasses.dataclass(frozen=True)
class FileResult:
    name: str  # the original file name
    outcome: str  # an ingest outcome; "too_large" (in failed/, not stored) or "error" (left in
    #               processing/ for a retry)
    raw_id: int | None
    moved_to: Path | None


def poll_transcripts(app: App, folder: str | os.PathLike[str] | None = None, *,
                     min_age: float = MIN_AGE, stale_after: float = STALE_AFTER
                     ) -> list[FileResult]:
    """One pass over the folder (``TICKETING_TRANSCRIPT_DIR`` unless given): every complete
    file ingested and moved.  An unset or missing folder is nothing to do."""
    where = app.settings.transcript_dir if folder is None else folder
    if not where or not os.path.isdir(where):
        return []
    root = Path(where)
    claimed = _reclaim_stale(root / "processing", stale_after) + _claim_new(root, min_age)
    return [_ingest(app, root, path) for path in claimed]


def _ready(entry: os.DirEntry[str], now: float, min_age: float) -> bool:
    name = entry.name
    if name.startswith(".") or name.lower().endswith(SKIPPED_SUFFIXES):
        return False
    try:
        return entry.is_file(follow_symlinks=False) and \
            entry.stat(follow_symlinks=False).st_mtime <= now - min_age
    except OSError:  # gone meanwhile (another worker took it)
        return False


def _scan(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except FileNotFoundError:
        return []
    except OSError as exc:
        _folder_warning(f"transcript folder unreadable: {exc.strerror or type(exc).__name__}")
        return []


_warned: dict[str, float] = {}


def _folder_warning(message: str) -> None:
    """A problem with the folder itself, logged once a minute rather than on every pass."""
    now = time.monotonic()
    if now - _warned.get(message, -3600.0) >= 60.0:
        _warned[message] = now
        log.warning("%s", message)


def _claim(source: Path, processing: Path, original: str) -> Path | None:
    """Rename ``source`` to a name of our own in ``processing/``; None if another worker won."""
    target = processing / f"{uuid.uuid4().hex}{_SEP}{original}"
    try:
        os.rename(source, target)
    except FileNotFoundError:
        return None  # someone else renamed it first
    except OSError as exc:
        log.warning("transcript file not claimed: %s", exc.strerror or type(exc).__name__)
        return None
    try:
        os.utime(target)  # the claim's time, for the stale check
    except OSError:
        pass
    return target


def _claim_new(root: Path, min_age: float) -> list[Path]:
    entries = [e for e in _scan(root) if _ready(e, time.time(), min_age)]
    if not entries:
        return []
    processing = root / "processing"
    try:
        processing.mkdir(exist_ok=True)
    except OSError as exc:
        _folder_warning(f"transcript folder not writable: {exc.strerror or type(exc).__name__}")
        return []
    return [p for e in entries if (p := _claim(Path(e.path), processing, e.name)) is not None]


def _reclaim_stale(processing: Path, stale_after: float) -> list[Path]:
    out: list[Path] = []
    for entry in _scan(processing):
        if _SEP not in entry.name or not _ready(entry, time.time(), stale_after):
            continue
        path = _claim(Path(entry.path), processing, original_name(entry.name))
        if path is not None:
            log.warning("transcript file left in processing/ is retried as %s", path.name[:32])
            out.append(path)
    return out


def original_name(claimed: str) -> str:
    return claimed.split(_SEP, 1)[1] if _SEP in claimed else claimed


def _ingest(app: App, root: Path, path: Path) -> FileResult:
    name = original_name(path.name)
    limit = app.settings.transcript_max_bytes
    try:
        if path.stat().st_size > limit:
            moved = _move(path, root / "failed", name, reason=f"over {limit} bytes "
                          "(TICKETING_TRANSCRIPT_MAX_BYTES); not stored")
            log.warning("transcript file over %d bytes moved to failed/ unstored", limit)
            return FileResult(name, "too_large", None, moved)
        data = path.read_bytes()
    except OSError as exc:
        log.warning("transcript file unreadable, left in processing/ for a retry: %s",
                    exc.strerror or type(exc).__name__)
        return FileResult(name, "error", None, None)
    fingerprint = hashlib.sha256(data).hexdigest()[:12]
    try:
        delivery = transcript_delivery(data, filename=name, received_at=app.clock.now(),
                                       source="folder")
        [outcome] = store_and_process(app.uow, [delivery],
                                      policy=app.ingest_policy, clock=app.clock)
    except Exception as exc:  # the database may be down: retry later
        log.warning("transcript %s not stored, left in processing/ for a retry: %s",
                    fingerprint, type(exc).__name__)
        return FileResult(name, "error", None, None)
    if outcome.outcome == "rejected":
        reason = outcome.error or _last_error(app, outcome.raw_id) or "quarantined"
        moved = _move(path, root / "failed", name, reason=reason)
        log.warning("transcript %s quarantined as inbox row %s; file moved to failed/",
                    fingerprint, outcome.raw_id)
    else:
        moved = _move(path, root / "done", name)
        _log_outcome(fingerprint, outcome)
    return FileResult(name, outcome.outcome, outcome.raw_id, moved)


def _log_outcome(fingerprint: str, outcome: Outcome) -> None:
    if outcome.outcome == "failed":  # stored; the worker's drain retries the row
        log.warning("transcript %s stored as inbox row %s but not processed yet (retried by the "
                    "worker); file moved to done/", fingerprint, outcome.raw_id)
    else:
        log.info("transcript %s: %s (inbox row %s, ticket %s); file moved to done/",
                 fingerprint, outcome.outcome, outcome.raw_id, outcome.ticket_id)


def _last_error(app: App, raw_id: int) -> str | None:
    inbox = tables.inbox
    with app.engine.connect() as conn:
        value = conn.execute(sa.select(inbox.c.last_error).where(inbox.c.id == raw_id)).scalar()
    return str(value) if value else None


def _move(path: Path, folder: Path, name: str, *, reason: str | None = None) -> Path | None:
    """Move a claimed file to ``folder`` under its original name (numbered if taken), never
    overwriting; a failure leaves it in processing/ (the inbox already holds its bytes)."""
    try:
        folder.mkdir(exist_ok=True)
        target = _rename_no_replace(path, _free_name(folder, name))
    except OSError as exc:
        log.warning("transcript file stored but not moved out of processing/: %s",
                    exc.strerror or type(exc).__name__)
        return None
    if reason is not None:
        try:
            target.with_name(target.name + ".reason.txt").write_text(reason + "\n",
                                                                     encoding="utf-8")
        except OSError as exc:
            log.warning("transcript reason file not written: %s",
                        exc.strerror or type(exc).__name__)
    return target


def _free_name(folder: Path, name: str) -> Path:
    candidate = folder / name
    stem, dot, ext = name.partition(".")
    n = 0
    while candidate.exists() or candidate.with_name(candidate.name + ".reason.txt").exists():
        n += 1
        candidate = folder / f"{stem}~{n}{dot}{ext}"
    return candidate


def _rename_no_replace(source: Path, target: Path) -> Path:
    """A hard link fails if the target exists, so a file there is never replaced; where links
    are not supported, a checked rename."""
    while True:
        try:
            os.link(source, target)
        except FileExistsError:
            target = _free_name(target.parent, target.name)
            continue
        except OSError:
            if target.exists():
                target = _free_name(target.parent, target.name)
                continue
            os.rename(source, target)
            return target
        os.unlink(source)
        return target
