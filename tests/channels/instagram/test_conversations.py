"""DMs the webhook missed, found through the Graph API's conversations endpoint (stand-in):
stored once under the webhook's keys, our own messages as echoes, an expired token backs off.
SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from channels.instagram.conversations import GraphConversations
from channels.instagram.events import split
from ticketing.app import App
from ticketing.entrypoints.instagram_poll import reconcile_dms_once
from ticketing.entrypoints.worker import drain
from ticketing.store import inbox as inbox_store
from ticketing.store import tables
from tests.channels.instagram.graph_standin import ACCOUNT, GraphStandIn

FIXTURES = Path(__file__).parent / "fixtures"
CITIZEN = {"id": "9000000000000001", "username": "sari.w"}
US = {"id": ACCOUNT, "username": "prakerja"}
DELIVERED = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAxOjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI1OTU2ODc4ODg4MDAwMDAwMA"


def conversation(*messages: tuple[str, str, dict[str, str], str]) -> dict[str, object]:
    return {"id": "aWdfZAG1conv1", "updated_time": "2026-03-02T09:10:00+0000",
            "messages": {"data": [
                {"id": mid, "created_time": at, "from": who,
                 "to": {"data": [CITIZEN if who is US else US]}, "message": text}
                for mid, at, who, text in messages]}}


def test_missed_dms_are_stored_once_and_our_own_as_echoes(ig_app: App,
                                                          graph: GraphStandIn) -> None:
    with ig_app.uow.write() as conn:  # the webhook delivered the first DM
        inbox_store.put_many(conn, split((FIXTURES / "dm_text.json").read_bytes(), {}),
                             ig_app.clock.now())
    graph.conversations = [conversation(
        ("aWdfZAG1missed1", "2026-03-02T09:08:00+0000", CITIZEN, "Halo min, ada kabar?"),
        ("aWdfZAG1ours1", "2026-03-02T09:05:00+0000", US, "Baik, kami cek."),
        (DELIVERED, "2026-03-02T09:00:00+0000", CITIZEN, "Min, dana saya belum cair"))]
    source = GraphConversations(graph_url=graph.url, access_token="token-1")
    first = reconcile_dms_once(ig_app, source)
    assert (first.ran, first.found, first.stored, first.known) == (True, 3, 2, 1)
    drain(ig_app)
    m = tables.messages
    with ig_app.engine.connect() as conn:
        rows = conn.execute(sa.select(m.c.external_id, m.c.ticket_id, m.c.direction).where(
            m.c.channel == "instagram").order_by(m.c.external_id)).all()
    # ours, unknown to the desk (sent in the Instagram app): the desk's reply, not a citizen's
    assert {(r.external_id, r.direction) for r in rows} == {
        (DELIVERED, "in"), ("aWdfZAG1missed1", "in"), ("aWdfZAG1ours1", "out")}
    assert len({r.ticket_id for r in rows}) == 1
    ig_app.clock.advance(minutes=30)  # type: ignore[attr-defined]
    assert reconcile_dms_once(ig_app, source).stored == 0


def test_an_expired_token_backs_off_without_crashing(ig_app: App, graph: GraphStandIn) -> None:
    source = GraphConversations(graph_url=graph.url, access_token="expired")
    first = reconcile_dms_once(ig_app, source)
    assert first.ran and first.backoff_until is not None and "token" in first.failures[
        "conversations"]
    asked = len(graph.requests)
    assert reconcile_dms_once(ig_app, source).ran is False and len(graph.requests) == asked
