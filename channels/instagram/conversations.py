"""Reconciliation of direct messages through the Graph API's conversations endpoint: the DMs of
recent conversations, rebuilt as the webhook's own ``messaging`` events (same key
``msg:instagram:<mid>``), so a DM Meta never delivered is stored and one it did is not stored
twice.  No database here (the driver keeps the mark and the inbox).

``GET /{account}/conversations?platform=instagram&fields=updated_time,messages{...}`` with field
expansion: one request per page of conversations.  What our account wrote comes back as an
echo (recorded, never a citizen's message)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import httpx

from channels.instagram.events import CONTENT_TYPE, envelope, event_key
from channels.instagram.graph_reader import GraphReader
from ticketing.domain.raw import RawDelivery

FIELDS = ("updated_time,messages.limit(25){id,created_time,from,to,message}")


def _time(text: object) -> dt.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("+0000", "+00:00").replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


class GraphConversations(GraphReader):
    def __init__(self, *, graph_url: str, access_token: str, account_id: str = "me",
                 client: httpx.Client | None = None, max_pages: int = 5) -> None:
        super().__init__(graph_url=graph_url, access_token=access_token, account_id=account_id,
                         client=client)
        self.max_pages = max_pages

    def since(self, mark: dt.datetime | None, meta: Mapping[str, Any]
              ) -> list[tuple[dt.datetime, RawDelivery]]:
        """Messages of the conversations updated after ``mark`` (all recent ones without it),
        newest conversations first, at most ``max_pages`` pages."""
        own = self.own_id()
        out: list[tuple[dt.datetime, RawDelivery]] = []
        url: str | None = f"{self.root}/{self.account}/conversations"
        params: Mapping[str, str] | None = {"platform": "instagram", "fields": FIELDS}
        for _ in range(self.max_pages):
            if url is None:
                break
            page = self._get(url, params)
            params = None  # the next page's address carries them
            stop = False
            for conversation in page.get("data") or []:
                updated = _time(conversation.get("updated_time"))
                if mark is not None and updated is not None and updated <= mark:
                    stop = True  # conversations come most recently updated first
                    break
                for message in (conversation.get("messages") or {}).get("data") or []:
                    found = as_delivery(message, own, mark, meta)
                    if found is not None:
                        out.append(found)
            url = None if stop else (page.get("paging") or {}).get("next")
        return out


def as_delivery(message: Mapping[str, Any], own: str, mark: dt.datetime | None,
                meta: Mapping[str, Any]) -> tuple[dt.datetime, RawDelivery] | None:
    created = _time(message.get("created_time"))
    mid = message.get("id")
    sender = (message.get("from") or {}).get("id")
    recipients = (message.get("to") or {}).get("data") or [{}]
    if created is None or not isinstance(mid, str) or not sender:
        return None
    if mark is not None and created <= mark:
        return None
    ms = int(created.timestamp() * 1000)
    body: dict[str, Any] = {"mid": mid, "text": message.get("message") or ""}
    if str(sender) == own:
        body["is_echo"] = True
    event = {"sender": {"id": str(sender)}, "recipient": {"id": str(recipients[0].get("id"))},
             "timestamp": ms, "message": body}
    payload = json.dumps(envelope({"id": own, "time": ms}, "messaging", event),
                         ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    return created, RawDelivery(channel="instagram", key=event_key("messaging", event, payload),
                                payload=payload, content_type=CONTENT_TYPE, meta=dict(meta))
