"""Builders for normalized messages used across the tests."""

from __future__ import annotations

import itertools
import json
from typing import Any

from ticketing.app import App
from ticketing.services import replies
from ticketing.services.accounts import Principal
from ticketing.services.outbox import deliver_due
from ticketing.services.ports import Delivery
from ticketing.services.ingest import NORMALIZED_JSON, Outcome, store_and_process
from ticketing.domain.raw import RawDelivery, content_key, message_key

_ids = itertools.count(1)


def message(body: str, *, channel: str = "webchat", external_id: str | None = None,
            sent_at: str = "2026-03-02T09:00:00+07:00", **sender: str) -> dict[str, Any]:
    if not sender:
        sender = {"email": "warga@example.id"}
    return {"channel": channel, "external_id": external_id or f"{channel}-{next(_ids)}",
            "sent_at": sent_at, "sender": sender, "body": body}


def raw(data: dict[str, Any] | bytes) -> RawDelivery:
    payload = data if isinstance(data, bytes) else json.dumps(data).encode()
    key = content_key("test", payload)
    if isinstance(data, dict):
        key = message_key(data["channel"], data["external_id"])
    return RawDelivery(channel="api", key=key, payload=payload, content_type=NORMALIZED_JSON)


def ingest(app: App, *items: dict[str, Any] | bytes) -> list[Outcome]:
    return store_and_process(app.uow, [raw(i) for i in items], policy=app.ingest_policy,
                             clock=app.clock)


def ingest_one(app: App, item: dict[str, Any] | bytes) -> Outcome:
    return ingest(app, item)[0]


class AcceptingProvider:
    """A channel provider that accepts every message at once (a fake of the ``Sender`` port,
    as an SMTP relay answering 250)."""

    def __init__(self) -> None:
        self.sent: list[Delivery] = []

    def __call__(self, delivery: Delivery) -> str | None:
        self.sent.append(delivery)
        return None


def deliver_now(app: App, channel: str = "email") -> int:
    """One outbox pass with a provider that accepts everything on ``channel``."""
    return deliver_due(app.uow, {channel: AcceptingProvider()}, app.clock)


def reply(app: App, ticket_id: int, body: str, *, by: Principal, status: str | None = None,
          channel: str | None = None, delivered: bool = True) -> dict[str, Any]:
    """An agent's reply through the use case; ``delivered``: the channel accepts it at once
    (the outbox worker's next pass), so it counts as a response now."""
    with app.engine.begin() as conn:
        out = replies.reply_to_ticket(conn, ticket_id, body, by=by, now=app.clock.now(),
                                      from_address="pengaduan@example.id",
                                      capabilities=app.capabilities, channel=channel,
                                      status=status)
    if delivered:
        deliver_now(app)
    return out
