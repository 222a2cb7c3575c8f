"""What Instagram only references, fetched by the worker after ingest (``services.fetching``):

* attachments of DMs: Meta sends only a short-lived CDN address (``Attachment.locator``).
  Streams at most ``max_bytes`` (``TooLarge`` beyond, without reading on); an address that
  expired or is gone (403, 404, 410) is ``RecipientRejected`` (not retried);
* the text of a mention (``graph-mention:<comment>:<media>``, ``parse.mention_locator``): read
  through the Graph API's Mentions fields (``graph_lookup.GraphLookup.mention_text``) and
  returned as UTF-8 text, which becomes the message's body (``Attachment.as_body``).  Without
  an access token it cannot be read: refused with that reason, not retried."""

from __future__ import annotations

import httpx

from typing import Any

from channels.instagram.graph_lookup import GraphLookup
from channels.instagram.parse import MENTION_PENDING
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


MENTION = "graph-mention:"


def mention_body(found: dict[str, Any]) -> str:
    """A mention as the desk reads it: the words, then who wrote them and where."""
    text = str(found.get("text") or found.get("caption") or "").strip()
    media = found.get("media")
    media = media if isinstance(media, dict) else {}
    link = found.get("permalink") or media.get("permalink") or ""
    who = f"@{found['username']}" if found.get("username") else "seseorang (someone)"
    where = "keterangan postingan" if "caption" in found else "komentar"
    return (f"{text}\n\n[{who} menyebut akun kita di {where} Instagram"
            f"{': ' + str(link) if link else ''}]").strip()


class InstagramFetcher:
    """CDN attachments, and mention texts through the Graph API."""

    def __init__(self, cdn: CdnFetcher | None = None, graph: GraphLookup | None = None) -> None:
        self.cdn = cdn or CdnFetcher()
        self.graph = graph

    def __call__(self, locator: str, max_bytes: int) -> tuple[bytes, str | None]:
        if not locator.startswith(MENTION):
            return self.cdn(locator, max_bytes)
        if self.graph is None:
            raise RecipientRejected("TICKETING_META_ACCESS_TOKEN belum diisi: teks mention "
                                    "tidak bisa diambil (no access token: the mention's text "
                                    f"cannot be read; the message keeps: {MENTION_PENDING})")
        comment, _, media = locator[len(MENTION):].partition(":")
        data = mention_body(self.graph.mention_text(comment or None, media or None)).encode()
        if len(data) > max_bytes:
            raise TooLarge(f"{len(data)} bytes")
        return data, "text/plain"


def make_fetcher(*, graph_url: str = "", access_token: str = "",
                 account_id: str = "me") -> Fetcher:
    graph = GraphLookup(graph_url=graph_url, access_token=access_token,
                        account_id=account_id) if access_token and graph_url else None
    return InstagramFetcher(graph=graph)
