"""Mentions: Meta's webhook carries only ids; the worker reads the mentioning comment (or
caption) through the Graph API (stand-in), like an attachment, and it becomes the message's
body; Meta's retry is the same message; a mention Meta no longer has keeps its placeholder and
says why.  SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from channels.instagram.events import split
from ticketing.app import App
from ticketing.services.fetching import fetch_pending
from ticketing.services.ingest import Outcome, store_and_process
from ticketing.store import tables
from tests.channels.instagram.graph_standin import GraphStandIn

FIXTURES = Path(__file__).parent / "fixtures"
COMMENT = "17894227972186120"


def mention(app: App) -> Outcome:
    deliveries = split((FIXTURES / "mention.json").read_bytes(), {"source": "webhook"})
    [out] = store_and_process(app.uow, deliveries, policy=app.ingest_policy, clock=app.clock)
    return out


def fetch(app: App) -> int:
    return fetch_pending(app.uow, app.fetchers, app.attachment_store, app.clock,
                         max_bytes=app.settings.max_attachment_bytes)


def stored(app: App, message_id: int | None) -> Any:
    m = tables.messages
    with app.engine.connect() as conn:
        return conn.execute(sa.select(m.c.body, m.c.attachments).where(m.c.id == message_id)
                            ).one()


def test_the_mentioning_comment_is_fetched_and_becomes_the_message(
        ig_app: App, graph: GraphStandIn) -> None:
    graph.mentioned[COMMENT] = {
        "id": COMMENT, "text": "@prakerja insentif saya belum cair sejak Januari",
        "username": "budi.s", "timestamp": "2026-03-02T09:11:00+0000",
        "media": {"id": "17918195224117851", "permalink": "https://www.instagram.com/p/Cmnop/"}}
    out = mention(ig_app)
    assert out.outcome == "created"
    assert "sedang diambil" in stored(ig_app, out.message_id).body
    assert fetch(ig_app) == 1
    [asked] = [r["path"] for r in graph.requests]
    assert f"mentioned_comment.comment_id%28{COMMENT}%29" in asked or \
        f"mentioned_comment.comment_id({COMMENT})" in asked
    row = stored(ig_app, out.message_id)
    assert row.body.startswith("@prakerja insentif saya belum cair")
    assert "@budi.s" in row.body and "instagram.com/p/Cmnop" in row.body
    assert row.attachments[0]["stored"] is True
    assert mention(ig_app).outcome == "duplicate"  # Meta's retry


def test_a_mention_meta_no_longer_has_keeps_its_placeholder_and_says_why(
        ig_app: App, graph: GraphStandIn) -> None:
    out = mention(ig_app)
    assert fetch(ig_app) == 1
    row = stored(ig_app, out.message_id)
    assert "sedang diambil" in row.body
    assert row.attachments[0]["stored"] is False and "tidak bisa diambil" in \
        row.attachments[0]["note"]
