"""``ticketing serve``: the HTTP app, the SMTP listener and the background worker in one
process tree; Ctrl-C (or SIGTERM) stops them all."""

from __future__ import annotations

import logging
import threading

import uvicorn

from channels.email.server import make_controller
from ticketing.api import create_api
from ticketing.app import App
from ticketing.services.intake import raw_sink
from ticketing.worker import worker_loop

log = logging.getLogger(__name__)


def serve(app: App) -> int:
    s = app.settings
    app.ingest_policy  # a broken policy file fails here, before anything listens
    stop = threading.Event()
    worker = threading.Thread(target=worker_loop, args=(app, stop), name="worker", daemon=True)
    smtp = make_controller(raw_sink(app.engine, app.clock), host=s.smtp_host, port=s.smtp_port,
                           domains=s.smtp_domains, max_bytes=s.smtp_max_bytes)
    smtp.start()
    worker.start()
    print(f"ticketing: web app and API on http://{s.http_host}:{s.http_port}/ "
          f"(OpenAPI at /openapi.json, health at /healthz)\n"
          f"ticketing: SMTP listener on {s.smtp_host}:{s.smtp_port} for "
          f"{', '.join(s.smtp_domains)}", flush=True)
    try:
        uvicorn.run(create_api(app), host=s.http_host, port=s.http_port, log_level="warning")
    finally:
        stop.set()
        smtp.stop()
        worker.join(timeout=10)
    return 0
