"""Instagram fixtures: the app with Meta settings, served by uvicorn on a loopback port."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from ticketing.app import App
from tests.browser import serving
from tests.channels.instagram.graph_standin import GraphStandIn, running

SECRET = "app-secret-for-tests"
VERIFY = "verify-token-for-tests"


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
    with serving(ig_app, "uvicorn-instagram") as url:
        yield url


@pytest.fixture
def graph() -> Iterator[GraphStandIn]:
    yield from running()
