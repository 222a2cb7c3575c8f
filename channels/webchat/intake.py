"""What the web chat transport hands to the raw inbox for one accepted ``message`` frame: the
frame's bytes, keyed by the session and the client's id (sent again after a drop or a reload,
it is the same delivery, stored once), with the session's facts in ``meta``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from channels.webchat.parse import CONTENT_TYPE, external_id
from ticketing.domain.raw import RawDelivery, message_key


def frame_delivery(frame_bytes: bytes, *, session: str, client_id: str,
                   received_at: dt.datetime, sender: Mapping[str, str | None],
                   topic_label: str | None, thread: str | None,
                   attachments: Sequence[Mapping[str, Any]] = ()) -> RawDelivery:
    meta: dict[str, Any] = {"session": session, "received_at": received_at.isoformat(),
                            **{k: v for k, v in sender.items() if v}}
    if topic_label:
        meta["topic_label"] = topic_label
    if thread:
        meta["thread"] = thread
    if attachments:
        meta["attachments"] = [dict(a) for a in attachments]
    return RawDelivery(channel="webchat", key=message_key("webchat", external_id(session,
                                                                                 client_id)),
                       payload=frame_bytes, content_type=CONTENT_TYPE, meta=meta)
