"""Attachments of DMs fetched from a CDN stand-in after ingest: stored, too large (not read on),
expired (not retried)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from channels.instagram.events import split
from channels.instagram.fetch import CdnFetcher
from ticketing.app import App
from ticketing.domain.errors import RecipientRejected, TooLarge
from ticketing.services.fetching import fetch_pending
from ticketing.services.ingest import store_and_process
from ticketing.store import tables

FIXTURES = Path(__file__).parent / "fixtures"
IMAGE = b"\xff\xd8\xff\xe0" + b"j" * 5000


@pytest.fixture
def cdn() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def do_GET(self) -> None:
            if "expired" in self.path:
                self.send_response(403)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("content-type", "image/jpeg")
            self.send_header("content-length", str(len(IMAGE)))
            self.end_headers()
            self.wfile.write(IMAGE)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetcher_limits_and_expired_addresses(cdn: str) -> None:
    fetch = CdnFetcher()
    data, content_type = fetch(cdn + "/img?asset_id=1", 10_000)
    assert data == IMAGE and content_type == "image/jpeg"
    with pytest.raises(TooLarge):
        fetch(cdn + "/img?asset_id=1", 1000)
    with pytest.raises(RecipientRejected):
        fetch(cdn + "/expired", 10_000)


def test_a_dm_image_is_fetched_into_the_attachment_store(ig_app: App, cdn: str) -> None:
    body = (FIXTURES / "dm_attachments.json").read_bytes().replace(
        b"https://lookaside.fbsbx.com", cdn.encode())
    [out] = store_and_process(ig_app.uow, split(body, {}), policy=ig_app.ingest_policy,
                              clock=ig_app.clock)
    assert out.outcome == "created"
    assert fetch_pending(ig_app.uow, ig_app.fetchers, ig_app.attachment_store, ig_app.clock,
                         max_bytes=ig_app.settings.max_attachment_bytes) == 1
    with ig_app.engine.connect() as conn:
        [attachment] = conn.execute(sa.select(tables.messages.c.attachments).where(
            tables.messages.c.id == out.message_id)).scalar_one()
    assert attachment.get("sha256") and attachment.get("size") == len(IMAGE)
