"""One Meta webhook body → one raw delivery per event, each under the idempotency key that makes
Meta's retries (and the reconciliation poller's finds) a no-op.  Pure: no clock, no socket.

Meta batches events (``entry[]``, then ``messaging[]`` / ``standby[]`` / ``changes[]``); the
inbox holds one event per row, in Meta's own shape (an envelope with one entry holding one
event), so the parser sees the documented structure and a parser fix can be replayed per event.
The whole body's signature was checked before this runs (``webhook.verify_signature``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from ticketing.domain.raw import RawDelivery, content_key, message_key

CONTENT_TYPE: Final = "application/vnd.meta.instagram-event+json"
EVENT_LISTS: Final = ("messaging", "standby", "changes")


def envelope(entry: Mapping[str, Any], kind: str, event: Any) -> dict[str, Any]:
    """Meta's shape, reduced to one event of one entry."""
    return {"object": "instagram",
            "entry": [{"id": entry.get("id"), "time": entry.get("time"), kind: [event]}]}


def event_key(kind: str, event: Any, payload: bytes) -> str:
    """``msg:instagram:<mid>`` for a message, ``msg:instagram:comment:<id>`` for a comment (so a
    comment the poller finds again is the same delivery); a content hash for what has no id of
    its own (reads, reactions)."""
    if isinstance(event, dict):
        if kind == "changes":
            value = event.get("value")
            if event.get("field") in ("comments", "live_comments") and isinstance(value, dict) \
                    and isinstance(value.get("id"), (str, int)):
                return message_key("instagram", f"comment:{value['id']}")
            if event.get("field") == "mentions" and isinstance(value, dict):
                named = value.get("comment_id") or value.get("media_id")
                if isinstance(named, (str, int)) and str(named):
                    kind = "" if value.get("comment_id") else "media:"
                    return message_key("instagram", f"mention:{kind}{named}")
            if event.get("field") == "messages" and isinstance(value, dict):
                event = value
            else:
                return content_key("instagram", payload)
        message = event.get("message")
        if isinstance(message, dict) and isinstance(message.get("mid"), str):
            suffix = "#unsend" if message.get("is_deleted") else ""
            return message_key("instagram", message["mid"] + suffix)
        edit = event.get("message_edit")
        if isinstance(edit, dict) and isinstance(edit.get("mid"), str):
            return message_key("instagram", f"{edit['mid']}#edit{edit.get('num_edit', '')}")
    return content_key("instagram", payload)


def split(body: bytes, meta: Mapping[str, Any]) -> list[RawDelivery]:
    """The events of a signed webhook body.  A body that is not the documented shape is kept
    whole (one delivery, the parser quarantines it with its reason): nothing accepted is lost."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        data = None
    entries = data.get("entry") if isinstance(data, dict) else None
    out: list[RawDelivery] = []
    if isinstance(entries, list):
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            for kind in EVENT_LISTS:
                events = entry.get(kind)
                if not isinstance(events, list):
                    continue
                for event in events:
                    payload = json.dumps(envelope(entry, kind, event), ensure_ascii=False,
                                         sort_keys=True, separators=(",", ":")).encode()
                    out.append(RawDelivery(channel="instagram", key=event_key(kind, event,
                                                                              payload),
                                           payload=payload, content_type=CONTENT_TYPE,
                                           meta=dict(meta)))
    if not out:
        out.append(RawDelivery(channel="instagram", key=content_key("instagram", body),
                               payload=body, content_type=CONTENT_TYPE, meta=dict(meta)))
    return out
