"""Web chat fixtures: the app with small limits (so a flood and a burst of sessions are a few
frames, not thousands), served by uvicorn on a loopback port like ``ticketing serve``."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ticketing.app import App


@pytest.fixture
def app(app: App) -> Iterator[App]:
    settings = dataclasses.replace(app.settings, webchat_messages_per_minute=30,
                                   webchat_ip_messages_per_minute=600,
                                   webchat_sessions_per_ip=4,
                                   webchat_max_upload_bytes=64 * 1024)
    small = App(settings=settings, clock=app.clock)
    yield small
    small.close()


def start(base: str, **form: Any) -> dict[str, Any]:
    body = {"name": "Siti Aminah", **form}
    r = httpx.post(f"{base}/channels/webchat/sessions", json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    assert r.cookies.get("webchat_session") == data["session"]
    return data


def ws_url(base: str, token: str) -> str:
    return base.replace("http://", "ws://") + f"/channels/webchat/ws?session={token}"
