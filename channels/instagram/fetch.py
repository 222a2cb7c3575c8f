"""Attachments of Instagram DMs: Meta sends only a short-lived CDN address
(``Attachment.locator``); the worker fetches the bytes after ingest (``services.fetching``).
Streams at most ``max_bytes`` (``TooLarge`` beyond, without reading on); an address that
expired or is gone (403, 404, 410) is ``RecipientRejected`` (not retried)."""

from __future__ import annotations

import httpx

from ticketing.domain.errors import RecipientRejected, TooLarge
from ticketing.services.ports import Fetcher


class CdnFetcher:
    def __init__(self, client: httpx.Client | None = None, timeout: float = 30.0) -> None:
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=True)

    def __call__(self, locator: str, max_bytes: int) -> tuple[bytes, str | None]:
        if not locator.startswith(("https://", "http://")):
            raise RecipientRejected(f"not a web address: {locator[:60]!r}")
        with self.client.stream("GET", locator) as response:
            if response.status_code in (403, 404, 410):
                raise RecipientRejected(f"CDN answered {response.status_code} (expired or gone)")
            response.raise_for_status()
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise TooLarge(f"{declared} bytes declared")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(f"over {max_bytes} bytes")
                chunks.append(chunk)
            content_type = response.headers.get("content-type")
        return b"".join(chunks), content_type.split(";")[0].strip() if content_type else None


def make_fetcher() -> Fetcher:
    return CdnFetcher()
