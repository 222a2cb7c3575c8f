"""Browser and live-server fixtures for every test directory (a plugin registered by
``tests/conftest.py``, so there is one session-wide Playwright and one Chromium, whichever
directory asks first): the real HTTP app served by uvicorn on a free loopback port (in a thread,
over the test's own database), driven by Debian's Chromium through Playwright.

Without Playwright or Chromium the browser tests are skipped, unless
``TICKETING_REQUIRE_BROWSER=1`` (set by ``.ci/run``) makes them fail instead."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from ticketing.app import App
from ticketing.entrypoints.server import WEBSOCKET_OPTIONS, create_http_app

REQUIRE_BROWSER = os.environ.get("TICKETING_REQUIRE_BROWSER") == "1"
CHROMIUM = os.environ.get("TICKETING_CHROMIUM", "/usr/bin/chromium")


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"playwright is not installed ({exc})"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    problem = _unavailable()
    if problem:
        if REQUIRE_BROWSER:
            pytest.fail(f"browser required (TICKETING_REQUIRE_BROWSER=1) but {problem}")
        pytest.skip(f"{problem} (set TICKETING_REQUIRE_BROWSER=1 to fail instead)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True, locale="id-ID")
    yield context.new_page()
    context.close()


@pytest.fixture
def dialogs(page: Any) -> list[str]:
    """Messages of any JavaScript dialog the page opens (an injected ``alert`` would)."""
    seen: list[str] = []
    page.on("dialog", lambda d: (seen.append(d.message), d.dismiss()))
    return seen


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(app: App, name: str = "uvicorn-test") -> Iterator[str]:
    """The web app and API on a real socket, as ``ticketing serve`` runs them."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_http_app(app), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on",
                                           **WEBSOCKET_OPTIONS))
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:  # start-up, not a test waiting on time
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_url(app: App) -> Iterator[str]:
    with serving(app) as url:
        yield url
