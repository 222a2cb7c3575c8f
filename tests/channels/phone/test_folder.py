"""The watched transcript folder (``TICKETING_TRANSCRIPT_DIR``): real files in a temporary
folder, the inbox and tickets on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from ticketing.entrypoints import transcript_folder
from ticketing.app import App
from ticketing.entrypoints.cli import main
from ticketing.store import tables
from ticketing.entrypoints.transcript_folder import FileResult, poll_transcripts
from tests.channels.phone.test_parse import FIXTURES, NIKS, TEXT
from tests.conftest import ROOT

BROKEN = b"WEBVTT\n\nNOTE kosong\n"


def drop(folder: Path, name: str, data: bytes, *, age: float = 60.0) -> Path:
    path = folder / name
    path.write_bytes(data)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def inbox_rows(app: App) -> list[sa.Row[tuple[int, str, str | None, bytes, dict[str, str]]]]:
    inbox = tables.inbox
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(inbox.c.id, inbox.c.status, inbox.c.last_error,
                                           inbox.c.payload, inbox.c.meta)
                                 .where(inbox.c.channel == "phone").order_by(inbox.c.id)).all())


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def variant(n: int) -> bytes:
    """A distinct, valid plain-text transcript."""
    return (f"[00:00:02] Petugas: Selamat pagi, ada yang bisa dibantu?\n"
            f"[00:00:07] Pelapor: Kode OTP tidak masuk, percobaan ke-{n}.\n").encode()


def call(n: int, ext: str = ".txt") -> str:
    """A file name carrying the caller's number and the call's start (as producers name them)."""
    return f"62812345671{n:02d}_20260302T0915{n:02d}{ext}"


def test_a_complete_file_becomes_a_ticket_and_moves_to_done(app: App, tmp_path: Path) -> None:
    data = (FIXTURES / TEXT).read_bytes()
    drop(tmp_path, TEXT, data)
    [result] = poll_transcripts(app, tmp_path)
    assert result.outcome == "created" and result.moved_to == tmp_path / "done" / TEXT
    assert names(tmp_path / "done") == [TEXT] and names(tmp_path / "processing") == []
    assert not (tmp_path / TEXT).exists()
    [row] = inbox_rows(app)
    assert row.id == result.raw_id and row.status == "done" and bytes(row.payload) == data
    assert row.meta["filename"] == TEXT and row.meta["source"] == "folder"
    msg = tables.messages
    with app.engine.connect() as conn:
        ticket = conn.execute(sa.select(msg.c.ticket_id).where(msg.c.raw_id == row.id)).scalar()
        ids = tables.identities
        linked = {(r.kind, r.value) for r in conn.execute(sa.select(ids.c.kind, ids.c.value))}
    assert ticket is not None
    assert ("phone", "+6281234567001") in linked and ("nik", NIKS[TEXT]) in linked  # from name

    # The same content again, under the same name: a duplicate, kept beside the first.
    drop(tmp_path, TEXT, data)
    [again] = poll_transcripts(app, tmp_path)
    assert again.outcome == "duplicate" and again.raw_id == row.id
    assert names(tmp_path / "done") == [TEXT, TEXT.replace(".txt", "~1.txt")]
    assert len(inbox_rows(app)) == 1 and names(tmp_path / "processing") == []


def test_a_broken_file_is_quarantined_and_moved_to_failed(app: App, tmp_path: Path) -> None:
    drop(tmp_path, "rusak.vtt", BROKEN)
    [result] = poll_transcripts(app, tmp_path)
    assert result.outcome == "rejected"
    [row] = inbox_rows(app)
    assert row.status == "quarantined" and "no cues" in (row.last_error or "")
    assert bytes(row.payload) == BROKEN and row.meta["filename"] == "rusak.vtt"
    failed = tmp_path / "failed"
    assert names(failed) == ["rusak.vtt", "rusak.vtt.reason.txt"]
    assert (failed / "rusak.vtt").read_bytes() == BROKEN
    assert "no cues" in (failed / "rusak.vtt.reason.txt").read_text(encoding="utf-8")
    # Again: the inbox already holds it quarantined; the reason comes from the row.
    drop(tmp_path, "rusak.vtt", BROKEN)
    [again] = poll_transcripts(app, tmp_path)
    assert again.outcome == "rejected" and len(inbox_rows(app)) == 1
    assert "no cues" in (failed / "rusak~1.vtt.reason.txt").read_text(encoding="utf-8")
    assert names(tmp_path / "done") == [] and names(tmp_path / "processing") == []


def test_files_still_being_written_are_left_alone(app: App, tmp_path: Path) -> None:
    drop(tmp_path, call(1), variant(1), age=0)
    drop(tmp_path, call(2, ".txt.part"), variant(2))
    drop(tmp_path, call(3, ".tmp"), variant(3))
    drop(tmp_path, ".hidden.txt", variant(4))
    (tmp_path / "subfolder").mkdir()
    assert poll_transcripts(app, tmp_path) == []
    assert inbox_rows(app) == [] and names(tmp_path / "done") == []
    assert set(names(tmp_path)) >= {call(1), call(2, ".txt.part"), call(3, ".tmp"), ".hidden.txt"}
    # Once complete (old enough; renamed from .part) both are taken.
    then = time.time() - 10
    os.utime(tmp_path / call(1), (then, then))
    os.rename(tmp_path / call(2, ".txt.part"), tmp_path / call(2))
    results = poll_transcripts(app, tmp_path)
    assert sorted(r.name for r in results) == [call(1), call(2)]
    assert {r.outcome for r in results} == {"created"}
    assert [r.status for r in inbox_rows(app)] == ["done", "done"]
    assert names(tmp_path / "done") == [call(1), call(2)]
    assert call(3, ".tmp") in names(tmp_path) and ".hidden.txt" in names(tmp_path)


def test_an_unset_or_missing_folder_is_nothing_to_do(app: App, tmp_path: Path) -> None:
    assert poll_transcripts(app, "") == []
    assert poll_transcripts(app, tmp_path / "nope") == []
    assert not (tmp_path / "nope").exists() and inbox_rows(app) == []
    unset = dataclasses.replace(app.settings, transcript_dir="")
    other = App(settings=unset, clock=app.clock)
    try:
        assert poll_transcripts(other) == []
    finally:
        other.close()


def test_two_pollers_on_one_folder_take_each_file_once(app: App, tmp_path: Path) -> None:
    count = 12
    for n in range(count):
        drop(tmp_path, f"62812345670{n:02d}_20260302T0915{n:02d}.txt", variant(n))
    second = App(settings=app.settings, clock=app.clock)
    start = threading.Barrier(2)
    results: dict[int, list[FileResult]] = {}

    def run(k: int, core: App) -> None:
        start.wait()
        results[k] = poll_transcripts(core, tmp_path)

    threads = [threading.Thread(target=run, args=(k, core)) for k, core in
               enumerate((app, second))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        second.close()
    taken = [r for rs in results.values() for r in rs]
    assert len(results) == 2 and len(taken) == count
    assert len({r.name for r in taken}) == count
    assert {r.outcome for r in taken} <= {"created", "appended"}
    rows = inbox_rows(app)
    assert len(rows) == count and {r.status for r in rows} == {"done"}
    assert len(names(tmp_path / "done")) == count and names(tmp_path / "processing") == []


def test_a_stale_processing_file_is_recovered_and_a_fresh_one_left(
        app: App, tmp_path: Path) -> None:
    processing = tmp_path / "processing"
    processing.mkdir()
    drop(processing, "0123abcd__" + call(1), variant(1), age=3600)
    drop(processing, "4567cdef__" + call(2), variant(2), age=1)  # another worker's claim
    [result] = poll_transcripts(app, tmp_path, stale_after=600)
    assert result.name == call(1) and result.outcome == "created"
    assert names(tmp_path / "done") == [call(1)]
    assert names(processing) == ["4567cdef__" + call(2)] and len(inbox_rows(app)) == 1


def test_a_store_failure_leaves_the_file_for_a_retry(
        app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drop(tmp_path, call(7), variant(7))

    def down(*_args: object, **_kwargs: object) -> None:
        raise sa.exc.OperationalError("INSERT", {}, Exception("database is down"))
    monkeypatch.setattr(transcript_folder, "store_and_process", down)
    [result] = poll_transcripts(app, tmp_path)
    assert result.outcome == "error" and result.moved_to is None
    [claimed] = names(tmp_path / "processing")
    assert claimed.endswith("__" + call(7)) and inbox_rows(app) == []
    assert poll_transcripts(app, tmp_path) == []  # not stale yet: left alone
    monkeypatch.undo()
    [retried] = poll_transcripts(app, tmp_path, stale_after=0)
    assert retried.name == call(7) and retried.outcome == "created"
    assert names(tmp_path / "done") == [call(7)] and names(tmp_path / "processing") == []
    assert len(inbox_rows(app)) == 1


def test_worker_once_takes_the_folder(app: App, db_url: str, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "transcripts"
    folder.mkdir()
    drop(folder, TEXT, (FIXTURES / TEXT).read_bytes())
    drop(folder, "rusak.vtt", BROKEN)
    monkeypatch.setenv("TICKETING_DATABASE_URL", db_url)
    monkeypatch.setenv("TICKETING_CONFIG_DIR", str(ROOT / "config"))
    monkeypatch.setenv("TICKETING_TRANSCRIPT_DIR", str(folder))
    assert main(["worker", "--once"]) == 0
    assert "took 2 transcript files" in capsys.readouterr().out
    assert names(folder / "done") == [TEXT]
    assert names(folder / "failed") == ["rusak.vtt", "rusak.vtt.reason.txt"]
    assert sorted(r.status for r in inbox_rows(app)) == ["done", "quarantined"]


def test_an_oversized_file_goes_to_failed_unstored(app: App, tmp_path: Path) -> None:
    small = App(settings=dataclasses.replace(app.settings, transcript_max_bytes=64),
                clock=app.clock)
    try:
        drop(tmp_path, call(5), variant(5) * 3)
        [result] = poll_transcripts(small, tmp_path)
    finally:
        small.close()
    assert result.outcome == "too_large" and result.raw_id is None and inbox_rows(app) == []
    failed = tmp_path / "failed"
    assert names(failed) == [call(5), call(5) + ".reason.txt"]
    assert (failed / call(5)).read_bytes() == variant(5) * 3
    assert "over 64 bytes" in (failed / (call(5) + ".reason.txt")).read_text(encoding="utf-8")


def test_the_worker_loop_polls_the_folder(app: App, tmp_path: Path) -> None:
    from ticketing.entrypoints.worker import worker_loop

    core = App(settings=dataclasses.replace(app.settings, transcript_dir=str(tmp_path)),
               clock=app.clock)
    stop = threading.Event()
    loop = threading.Thread(target=worker_loop, args=(core, stop, 0.05))
    loop.start()
    try:
        drop(tmp_path, call(9), variant(9))
        deadline = time.monotonic() + 20
        while not (tmp_path / "done" / call(9)).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        loop.join(20)
        core.close()
    assert names(tmp_path / "done") == [call(9)]
    assert [r.status for r in inbox_rows(app)] == ["done"]
