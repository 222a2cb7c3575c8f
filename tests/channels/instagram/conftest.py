"""Instagram fixtures: the app with Meta settings, served by uvicorn on a loopback port."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from ticketing.app import App
from tests.channels.instagram.graph_standin import GraphStandIn, running
from ticketing.entrypoints.server import create_http_app

SECRET = "app-secret-for-tests"
VERIFY = "verify-token-for-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def ig_app(app: App, graph: GraphStandIn) -> Iterator[App]:
    settings = dataclasses.replace(app.settings, meta_app_secret=SECRET,
                                   meta_verify_token=VERIFY, meta_access_token="token-1",
                                   meta_graph_url=graph.url)
    core = App(settings=settings, clock=app.clock)
    yield core
    core.close()


@pytest.fixture
def live(ig_app: App) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_http_app(ig_app), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn-instagram", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:  # start-up, not a test waiting on time
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def graph() -> Iterator[GraphStandIn]:
    yield from running()
