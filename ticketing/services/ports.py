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
    # The outbox paces this channel's provider messages: a sender that sends a delivery as
    # several messages (a long text split, then its attachments) sends ONE message a call and
    # raises ``PartlySent``; the outbox keeps the progress (``payload["parts_sent"]``) and
    # calls again at the next message's own pace slot.  False: the sender sends them all.
    paced: bool = False


class Sender(Protocol):
    """A channel's outbound adapter, called by the outbox worker (blocking, never on an event
    loop).  Returning means the channel's provider accepted the message (SMTP relay 250, Bot API
    ``ok``, Graph API 200): that instant is when a reply counts as a response.  Returns the
    channel's own id for what was sent, if any; raises ``RecipientRejected`` (permanent),
    ``RateLimited`` or any other error (temporary: retried)."""

    def __call__(self, delivery: Delivery) -> str | None: ...


class AttachmentSink(Protocol):
    def put(self, sha256: str, data: bytes) -> None:
        """Keep these bytes under their digest (idempotent)."""
        ...


# content type → the attachments of a raw payload with their bytes
AttachmentExtractor = Callable[[bytes], list[tuple[Attachment, bytes]]]


class Fetcher(Protocol):
    """A channel's way to fetch an attachment it only referenced (``Attachment.locator``),
    called by the worker outside any transaction.  Returns the bytes and their content type if
    the provider said; raises ``TooLarge`` over ``max_bytes`` (without reading on),
    ``RecipientRejected`` when the file is gone for good, anything else to be retried."""

    def __call__(self, locator: str, max_bytes: int) -> tuple[bytes, str | None]: ...
