"""``ticketing serve``: the HTTP app and the SMTP listener in this process, the background
worker in a child process (its CPU work then runs beside the listener's, not under the same
interpreter lock).  Ctrl-C or SIGTERM stops all of them: the API's shutdown hook stops the
listener and the worker, whose own handler finishes the batch in hand."""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI

from channels.email.server import make_controller
from ticketing.entrypoints.api import create_api
from ticketing.app import App, build_app, settle_for_throughput
from ticketing.services.intake import GroupCommitSink
from ticketing.settings import load_settings
from ticketing.entrypoints.web import install as install_pages
from ticketing.entrypoints import webchat
from ticketing.entrypoints.worker import run_worker

log = logging.getLogger(__name__)
# The web chat's sockets carry small JSON frames: no per-message deflate (a zlib stream pair per
# connection was most of an idle session's memory), a short receive queue, frames up to 1 MiB
# (the hub refuses a message over its own limit with a reason, the socket stays open).
WEBSOCKET_OPTIONS: dict[str, Any] = {"ws_per_message_deflate": False, "ws_max_queue": 4,
                                     "ws_max_size": 1 << 20}


def _exit_with_parent(parent: int) -> None:
    """A worker whose ``serve`` died (even by SIGKILL) must not live on as an orphan: once
    re-parented, it stops itself the normal way (SIGTERM: finish the batch in hand, exit)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _worker_process(config_dir: str, parent: int) -> None:
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _exit_with_parent(parent)
    app = build_app(load_settings(config_dir))
    try:
        run_worker(app)
    finally:
        app.close()


def create_http_app(app: App, *, on_shutdown: Callable[[], None] | None = None) -> FastAPI:
    """The REST API and the staff pages in one ASGI app (the two driver packages know nothing
    of each other; this is where they meet)."""
    def stop() -> None:
        webchat.close(http)
        if on_shutdown is not None:
            on_shutdown()
    http = create_api(app, on_shutdown=stop)
    install_pages(http)
    webchat.install(http, app)
    return http


def serve(app: App) -> int:
    s = app.settings
    app.ingest_policy  # a broken policy file fails here, before anything listens
    settle_for_throughput(app)  # fewer, shorter collector pauses in the API/SMTP process too
    worker = mp.get_context("spawn").Process(target=_worker_process,
                                             args=(s.config_dir, os.getpid()),
                                             name="ticketing-worker")
    worker.start()
    sink = GroupCommitSink(app.uow, app.clock)
    smtp = make_controller(sink, host=s.smtp_host, port=s.smtp_port, domains=s.smtp_domains,
                           max_bytes=s.smtp_max_bytes, max_recipients=s.smtp_max_recipients)
    smtp.start()
    stopped = False

    def shutdown() -> None:
        nonlocal stopped
        if stopped:
            return
        stopped = True
        smtp.stop()
        sink.close()
        worker.terminate()  # SIGTERM: the worker finishes its batch and exits
        worker.join(timeout=15)
        if worker.is_alive():
            log.error("worker did not stop in 15 s; killing it")
            worker.kill()

    print(f"ticketing: web app and API on http://{s.http_host}:{s.http_port}/ "
          f"(OpenAPI at /openapi.json, health at /healthz; staff sign in at /login, the SLA "
          f"report is /reports/sla; citizens chat at /chat)\n"
          f"ticketing: SMTP listener on {s.smtp_host}:{s.smtp_port} for "
          f"{', '.join(s.smtp_domains)}; worker process {worker.pid}", flush=True)
    try:
        uvicorn.run(create_http_app(app, on_shutdown=shutdown), host=s.http_host, port=s.http_port,
                    log_level="warning", **WEBSOCKET_OPTIONS)
    finally:
        shutdown()
    return 0
