"""``ticketing serve``: the HTTP app plus the background worker in one process tree."""

from __future__ import annotations

import logging
import threading

import uvicorn

from ticketing.api import create_api
from ticketing.app import App
from ticketing.worker import worker_loop

log = logging.getLogger(__name__)


def serve(app: App) -> int:
    s = app.settings
    stop = threading.Event()
    worker = threading.Thread(target=worker_loop, args=(app, stop), name="worker", daemon=True)
    worker.start()
    print(f"ticketing: web app and API on http://{s.http_host}:{s.http_port}/ "
          f"(OpenAPI at /openapi.json, health at /healthz)", flush=True)
    try:
        uvicorn.run(create_api(app), host=s.http_host, port=s.http_port, log_level="warning")
    finally:
        stop.set()
        worker.join(timeout=10)
    return 0
