"""What a channel transport received, untouched, and the idempotency keys that make a redelivery
a no-op.

``RawDelivery`` is the one raw-delivery type: a transport builds it (SMTP listener, transcript
upload and folder, API, CLI), the raw inbox stores it.  The keys are built here and nowhere else,
because the inbox's unique index holds a digest of the exact key text: a key that changed by one
byte would let a replay of an old delivery in as new.  Pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

MAX_KEY_CHARS: Final = 600


@dataclass(frozen=True, slots=True, kw_only=True)
class RawDelivery:
    channel: str  # the inbox's channel column: "email", "phone", "api" ...
    key: str  # from ``message_key`` or ``content_key``
    payload: bytes
    content_type: str
    meta: Mapping[str, Any] = field(default_factory=dict)


def message_key(channel: str, external_id: str | int) -> str:
    """A message that names itself (normalized JSON): its channel and the channel's own id."""
    return f"msg:{channel}:{external_id}"[:MAX_KEY_CHARS]


def content_key(source: str, payload: bytes) -> str:
    """Bytes that carry no reliable id of their own (a mail, a transcript file, a JSONL line):
    the same bytes delivered again are the same delivery."""
    return f"{source}:sha256:{hashlib.sha256(payload).hexdigest()}"
