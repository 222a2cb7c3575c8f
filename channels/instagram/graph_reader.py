"""Reading Meta's Graph API as our professional account (the base of the DM reconciliation and
of the id and mention look-ups): authenticated GETs, their errors mapped like the sender's, and
our own account's id.  Blocking, for the worker."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from channels.instagram.send import graph_error
from ticketing.domain.errors import ChannelUnavailable


class GraphReader:
    def __init__(self, *, graph_url: str, access_token: str, account_id: str = "me",
                 client: httpx.Client | None = None) -> None:
        self.root, self.token, self.account = graph_url.rstrip("/"), access_token, account_id
        self.client = client or httpx.Client(timeout=30.0)
        self._own: str | None = None

    def _get(self, url: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        try:
            response = self.client.get(url, params=params,
                                       headers={"Authorization": f"Bearer {self.token}"})
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(f"Graph API unreachable: {exc}") from exc
        if response.status_code != 200:
            raise graph_error(response)
        data = response.json()
        return data if isinstance(data, dict) else {}

    def own_id(self) -> str:
        """Our professional account's id (what ``entry.id`` of its webhooks carries)."""
        if self._own is None:
            self._own = str(self._get(f"{self.root}/{self.account}", {"fields": "id"})
                            .get("id") or "")
        return self._own
