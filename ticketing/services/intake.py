"""Use case: a channel transport hands over raw bytes; they are committed to the inbox (and
nothing else) before the transport acknowledges.  Workers turn them into tickets later."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from ticketing.domain.raw import RawDelivery
from ticketing.services.clock import Clock
from ticketing.services.ports import RawSink
from ticketing.store import cursors
from ticketing.store import inbox as inbox_store
from ticketing.store.db import Transactions


def raw_sink(uow: Transactions, clock: Clock) -> RawSink:
    """Each delivery in its own transaction, committed before the transport answers."""
    def accept(delivery: RawDelivery) -> bool:
        with uow.write() as conn:
            [stored] = inbox_store.put_many(conn, [delivery], clock.now())
        return stored.inserted
    return accept


def cursor(uow: Transactions, name: str) -> dict[str, Any] | None:
    """Where the poller ``name`` resumes (None: it never committed anything)."""
    with uow.read() as conn:
        return cursors.get(conn, name)


def accept_polled(uow: Transactions, deliveries: Sequence[RawDelivery], *, cursor_name: str,
                  position: dict[str, Any], clock: Clock) -> list[bool]:
    """A poller's catch: the raw payloads and the cursor past them in one transaction, so a
    poller that dies before telling the provider resumes from here (nothing lost), and a
    replay lands on the inbox's unique keys (nothing twice).  True for each new payload."""
    with uow.write() as conn:
        stored = inbox_store.put_many(conn, list(deliveries), clock.now())
        cursors.put(conn, cursor_name, position, clock.now())
    return [s.inserted for s in stored]


class GroupCommitSink:
    """A raw sink for many concurrent connections: one writer thread stores everything that is
    waiting in a single transaction, and each caller returns only once *its* delivery is
    committed (the SMTP ``250`` still follows the commit).  On SQLite, where writers queue for
    one lock, this turns N lock waits and N commits into one.  On PostgreSQL each writer keeps
    a connection of its own in autocommit and stores a batch with ONE statement (the insert is
    its own transaction, ids from the sequence in it): one round trip a batch instead of five
    (check-out ping, BEGIN, id reservation, INSERT, COMMIT)."""

    def __init__(self, uow: Transactions, clock: Clock, *, max_batch: int = 200,
                 writers: int = 1, linger: float = 0.0) -> None:
        """``writers``: writer threads, each with its own transaction (one on SQLite: one
        writer at a time anyway).  ``linger``: seconds a writer waits for more deliveries
        before committing a batch (a transaction costs PostgreSQL's client ~3 ms of CPU
        whatever its size: a few ms of waiting buys many more rows per commit)."""
        self._uow, self._clock, self._max, self._linger = uow, clock, max_batch, linger
        self._queue: queue.Queue[tuple[RawDelivery, Future[bool]] | None] = queue.Queue()
        self._closed = False
        self._threads = [threading.Thread(target=self._run, name=f"raw-sink-{n}", daemon=True)
                         for n in range(max(1, writers))]
        for thread in self._threads:
            thread.start()

    def __call__(self, delivery: RawDelivery) -> bool:
        return self.submit(delivery).result()

    def submit(self, delivery: RawDelivery) -> Future[bool]:
        """Queue the delivery; the future resolves once it is committed (True: new) or fails
        with the database's error.  For async handlers: ``await asyncio.wrap_future(...)``, so
        the event loop is never blocked while the writer commits."""
        done: Future[bool] = Future()
        if self._closed:
            done.set_exception(RuntimeError("the raw sink is closed"))
            return done
        self._queue.put((delivery, done))
        return done

    def put_many(self, deliveries: list[RawDelivery]) -> list[bool]:
        """Several deliveries of one request (a webhook body with many events), each committed
        before this returns; they usually share the writer's next transaction."""
        futures = [self.submit(d) for d in deliveries]
        return [f.result() for f in futures]

    def close(self) -> None:
        self._closed = True
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=10)

    def _run(self) -> None:
        kept: Any = None  # PostgreSQL: this writer's own autocommit connection, kept
        try:
            while (waiting := self._collect()) is not None:
                payloads = [d for d, _ in waiting]
                try:
                    if self._uow.has_row_locks():
                        if kept is None:
                            kept = self._uow.connect_autocommit()
                        # One statement, its own transaction: one round trip a batch.
                        stored = inbox_store.put_many_statement(kept, payloads,
                                                                self._clock.now())
                    else:
                        with self._uow.write() as conn:
                            stored = inbox_store.put_many(conn, payloads, self._clock.now())
                except Exception as exc:  # every waiting sender answers "try again later"
                    if kept is not None:
                        kept.invalidate()  # a broken connection is not kept: a new one next
                        kept.close()
                        kept = None
                    for _, done in waiting:
                        done.set_exception(exc)
                    continue
                for (_, done), result in zip(waiting, stored, strict=True):
                    done.set_result(result.inserted)
        finally:
            if kept is not None:
                kept.close()

    def _collect(self) -> list[tuple[RawDelivery, Future[bool]]] | None:
        """The next batch: what is waiting, lingering for more; None once closed."""
        first = self._queue.get()
        if first is None:
            return None
        waiting = [first]
        until = time.monotonic() + self._linger
        while len(waiting) < self._max:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                left = until - time.monotonic()
                if left <= 0:
                    break
                try:
                    item = self._queue.get(timeout=left)
                except queue.Empty:
                    break
            if item is None:
                self._queue.put(None)
                break
            waiting.append(item)
        return waiting
