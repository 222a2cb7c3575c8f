"""What a phone transport (the CLI, the upload endpoint) hands to the raw inbox: the untouched
file bytes under the transcript content type, keyed by their content (the same file delivered
again is stored once), with what the transport knows about the call in ``meta``.

Nothing is parsed here: workers do that (``parse.parse_transcript``), so a parser fix can be
replayed over the stored bytes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import PurePath
from typing import Any

from channels.phone.parse import CONTENT_TYPE
from ticketing.domain.raw import RawDelivery, content_key


def transcript_delivery(data: bytes, *, filename: str | None, caller: str | None = None,
                        started_at: dt.datetime | None = None,
                        received_at: dt.datetime, source: str = "cli") -> RawDelivery:
    meta: dict[str, Any] = {"received_at": received_at.isoformat(), "source": source}
    if filename:
        meta["filename"] = PurePath(filename.replace("\\", "/")).name[:255]
    if caller:
        meta["caller"] = caller
    if started_at is not None:
        meta["started_at"] = started_at.isoformat()
    return RawDelivery(channel="phone", key=content_key("phone", data), payload=data,
                       content_type=CONTENT_TYPE, meta=meta)
