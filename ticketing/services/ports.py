"""Ports the channels talk to.  A channel transport hands over the raw bytes it received (a
``domain.raw.RawDelivery``) through ``RawSink`` and never touches the database; this module
imports nothing from the store, so a channel may depend on it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ticketing.domain.message import Attachment
from ticketing.domain.raw import RawDelivery


class RawSink(Protocol):
    def __call__(self, delivery: RawDelivery) -> bool:
        """Commit the delivery durably; True if new, False if the key was stored before.
        Raises if it could not be stored (the transport then answers "try again later")."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """What a channel sender gets from the outbox: who to, what, and the ids that thread it."""

    outbox_id: int
    channel: str
    kind: str
    recipient: Mapping[str, Any]
    payload: Mapping[str, Any]


class AttachmentSink(Protocol):
    def put(self, sha256: str, data: bytes) -> None:
        """Keep these bytes under their digest (idempotent)."""
        ...


# content type → the attachments of a raw payload with their bytes
AttachmentExtractor = Callable[[bytes], list[tuple[Attachment, bytes]]]
