"""The web chat's raw sink: every citizen message is stored in the inbox and run through the
ingest pipeline in one transaction (``services.ingest.store_and_process``) before the browser
gets its ``ack``.  One writer thread takes everything waiting and does it in one transaction
(a group commit), so hundreds of open chats cost one commit per batch, not one each; each
caller waits only for the commit that holds *its* message."""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future

from ticketing.app import App
from ticketing.domain.raw import RawDelivery
from ticketing.services.ingest import Outcome, store_and_process

log = logging.getLogger(__name__)


class IngestSink:
    def __init__(self, app: App, *, max_batch: int = 100) -> None:
        self._app, self._max = app, max_batch
        self._queue: queue.Queue[tuple[RawDelivery, Future[Outcome]] | None] = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="webchat-sink", daemon=True)
        self._thread.start()

    def submit(self, delivery: RawDelivery) -> Future[Outcome]:
        done: Future[Outcome] = Future()
        if self._closed:
            done.set_exception(RuntimeError("the web chat sink is closed"))
        else:
            self._queue.put((delivery, done))
        return done

    def close(self) -> None:
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        app = self._app
        while True:
            first = self._queue.get()
            if first is None:
                return
            waiting = [first]
            while len(waiting) < self._max:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                waiting.append(item)
            try:
                outcomes = store_and_process(app.uow, [d for d, _ in waiting],
                                             policy=app.ingest_policy, clock=app.clock)
            except Exception as exc:  # not even stored: every caller tells its client so
                log.exception("storing %d web chat messages failed", len(waiting))
                for _, done in waiting:
                    done.set_exception(exc)
                continue
            for (_, done), outcome in zip(waiting, outcomes, strict=True):
                done.set_result(outcome)
