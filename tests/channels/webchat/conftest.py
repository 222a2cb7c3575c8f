"""Web chat fixtures: the app with small limits (so a flood and a burst of sessions are a few
frames, not thousands), served by uvicorn on a loopback port like ``ticketing serve``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
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
                                   webchat_max_upload_bytes=64 * 1024,
                                   webchat_links_per_ip=8)
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


def chat_with_message(app: App, text: str = "Saldo insentif saya belum cair", *,
                      client_id: str = "c-1", **form: Any) -> tuple[str, Any, Any]:
    """A chat opened through the use case and its first message stored through the pipeline
    (as the hub does, without a socket): its token, session and the ingest outcome."""
    from channels.webchat.intake import frame_delivery
    from channels.webchat.parse import external_id
    from ticketing.services import webchat as chats
    from ticketing.services.ingest import store_and_process

    data = chats.check_form({"name": "Siti Aminah", **form}, app.evidence_policy.classifier)
    ttl = dt.timedelta(hours=app.settings.webchat_session_hours)
    token, chat = app.write(chats.open_session, data, ip="10.0.0.9", now=app.clock.now(),
                            ttl=ttl, burst=100)
    frame = json.dumps({"type": "message", "client_id": client_id, "text": text}).encode()
    raw = frame_delivery(frame, session=chat.public_id, client_id=client_id,
                         received_at=app.clock.now(), sender=chat.sender(), topic_label=None,
                         thread=None)
    [out] = store_and_process(app.uow, [raw], policy=app.ingest_policy, clock=app.clock)
    app.write(chats.landed, chat, external_id=external_id(chat.public_id, client_id),
              ticket_id=out.ticket_id)
    chat = dataclasses.replace(chat, ticket_id=out.ticket_id)
    return token, chat, out
