"""A stored web chat delivery → ``InboundMessage``.  Pure.

The payload is the citizen's ``message`` frame exactly as received; ``meta`` is what the
transport knew (the session: its public id, the pre-chat form's name, e-mail and phone, the
topic's label, the session's first message to thread to; when it was received; the stored
attachments).  The external id is ``<session>:<client_id>``: a client sending the same message
again after a drop names the same message.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from channels.webchat.protocol import FrameError, message_frame
from ticketing.domain.errors import MalformedPayload
from ticketing.domain.message import (Attachment, Channel, InboundMessage, Sender, ThreadRef)

CONTENT_TYPE = "application/vnd.ticketing.webchat+json"


def external_id(session: str, client_id: str) -> str:
    return f"{session}:{client_id}"


def _str(meta: Mapping[str, Any], key: str, limit: int) -> str | None:
    value = meta.get(key)
    return value.strip()[:limit] or None if isinstance(value, str) else None


def _attachments(meta: Mapping[str, Any]) -> tuple[Attachment, ...]:
    out = []
    for item in meta.get("attachments") or []:
        if isinstance(item, dict) and isinstance(item.get("sha256"), str):
            out.append(Attachment(filename=str(item.get("filename") or "lampiran")[:255],
                                  content_type=str(item.get("content_type")
                                                   or "application/octet-stream")[:255],
                                  size=int(item.get("size") or 0), sha256=item["sha256"]))
    return tuple(out)


def parse_webchat(payload: bytes, meta: Mapping[str, Any]) -> InboundMessage:
    try:
        data = json.loads(payload)
        if not isinstance(data, dict):
            raise MalformedPayload("a web chat frame is a JSON object")
        frame = message_frame(data)
    except FrameError as exc:
        raise MalformedPayload(f"web chat frame refused: {exc.code} {exc.params}") from exc
    except ValueError as exc:
        raise MalformedPayload("a web chat frame is JSON") from exc
    session = _str(meta, "session", 64)
    if session is None:
        raise MalformedPayload("web chat delivery without its session")
    try:
        sent_at = dt.datetime.fromisoformat(str(meta.get("received_at")))
    except ValueError as exc:
        raise MalformedPayload("web chat delivery without its time") from exc
    if sent_at.tzinfo is None:
        raise MalformedPayload("web chat delivery time has no offset")
    # The pre-chat form's e-mail and phone are what the citizen typed: claims, not proof (an
    # address of someone else's must not link this chat to their tickets unverified).
    sender = Sender(name=_str(meta, "name", 200), email=_str(meta, "email", 320),
                    phone=_str(meta, "phone", 40), webchat_id=session,
                    unverified=frozenset({"email", "phone"}))
    first = _str(meta, "thread", 200)
    own = external_id(session, frame.client_id)
    return InboundMessage(
        channel=Channel.WEBCHAT, external_id=own, sent_at=sent_at, sender=sender,
        body=frame.text, subject=_str(meta, "topic_label", 200),
        thread=ThreadRef(in_reply_to=first if first and first != own else None),
        attachments=_attachments(meta), extra={"client_id": frame.client_id})
