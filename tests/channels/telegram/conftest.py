"""Fixtures: the Bot API stand-in on loopback and the app configured to talk to it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from ticketing.app import App
from tests.channels.telegram.standin import TOKEN, StandIn

SECRET = "rahasia-webhook-123"


@pytest.fixture
def standin() -> Iterator[StandIn]:
    s = StandIn().start()
    yield s
    s.stop()


@pytest.fixture
def tg(app: App, standin: StandIn) -> Iterator[App]:
    """The test app with the Telegram channel on: token, the stand-in's URL, a webhook secret."""
    settings = dataclasses.replace(app.settings, telegram_token=TOKEN,
                                   telegram_api_url=standin.url,
                                   telegram_webhook_secret=SECRET, telegram_poll_timeout=0)
    core = App(settings=settings, clock=app.clock)
    yield core
    core.close()
