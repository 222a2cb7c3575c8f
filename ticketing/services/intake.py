"""Use case: a channel transport hands over raw bytes; they are committed to the inbox (and
nothing else) before the transport acknowledges.  Workers turn them into tickets later."""

from __future__ import annotations

import sqlalchemy as sa

from ticketing.services.clock import Clock
from ticketing.services.ports import RawDelivery, RawSink
from ticketing.store import inbox as inbox_store


def raw_sink(engine: sa.Engine, clock: Clock) -> RawSink:
    def accept(delivery: RawDelivery) -> bool:
        payload = inbox_store.RawPayload(channel=delivery.channel, key=delivery.key[:600],
                                         payload=delivery.payload,
                                         content_type=delivery.content_type,
                                         meta=dict(delivery.meta))
        with engine.begin() as conn:
            [stored] = inbox_store.put_many(conn, [payload], clock.now())
        return stored.inserted
    return accept
