"""Echoes of messages our account sent from the Instagram app (a staff member answering there,
not through the desk): the desk's outbound message on the citizen's ticket, no agent, a
response (Meta delivered it); never a citizen's message, never stored twice, and an echo of the
desk's own send is recognised by its stored mid even before the outbox settled it.
SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from channels.instagram.events import split
from ticketing.app import App
from ticketing.domain.sla import EventKind
from ticketing.services import sla
from ticketing.services.ingest import Outcome, store_and_process
from ticketing.services.outbox import deliver_due
from ticketing.store import tables
from tests.channels.instagram.graph_standin import GraphStandIn
from tests.channels.instagram.test_send import answer, webhook_event

FIXTURES = Path(__file__).parent / "fixtures"


def echo(app: App, mid: str, text: str, to: str = "9000000000000001") -> Outcome:
    data: dict[str, Any] = json.loads((FIXTURES / "dm_echo.json").read_bytes())
    event = data["entry"][0]["messaging"][0]
    event["message"].update(mid=mid, text=text)
    event["recipient"]["id"] = to
    deliveries = split(json.dumps(data).encode(), {"source": "webhook"})
    [out] = store_and_process(app.uow, deliveries, policy=app.ingest_policy, clock=app.clock)
    return out


def instagram_messages(app: App) -> list[Any]:
    m = tables.messages
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(
            m.c.id, m.c.ticket_id, m.c.direction, m.c.author_user_id, m.c.author_name,
            m.c.external_id, m.c.delivered_at, m.c.extra, m.c.body)
            .where(m.c.channel == "instagram").order_by(m.c.id)))


def test_a_reply_sent_from_the_instagram_app_is_the_desks_response(ig_app: App) -> None:
    first = webhook_event(ig_app, "dm_text.json")
    ig_app.clock.advance(minutes=30)  # type: ignore[attr-defined]
    out = echo(ig_app, "m_from_app_1", "Halo kak, sudah kami cek di sistem ya")
    assert out.outcome == "recorded" and out.ticket_id == first.ticket_id
    citizen, reply = instagram_messages(ig_app)
    assert citizen.direction == "in"
    assert reply.direction == "out" and reply.author_user_id is None
    assert reply.extra["outside_desk"] is True and "di luar desk" in reply.author_name
    assert reply.external_id == "m_from_app_1" and reply.delivered_at is not None
    t = tables.tickets
    with ig_app.engine.connect() as conn:
        row = conn.execute(sa.select(t.c.first_response_at, t.c.customer_id)
                           .where(t.c.id == first.ticket_id)).one()
        events = sla.history(conn, [first.ticket_id or 0])[first.ticket_id or 0]
        customers = conn.execute(sa.select(sa.func.count()).select_from(tables.customers)
                                 ).scalar_one()
        audit = conn.execute(sa.select(tables.audit.c.kind).where(
            tables.audit.c.kind == "message.replied_outside")).scalars().all()
    # Meta delivered it, so the citizen was served: a response for the SLA, by no agent
    assert row.first_response_at is not None
    assert [e.kind for e in events].count(EventKind.AGENT_RESPONSE) == 1
    assert customers == 1 and audit == ["message.replied_outside"]
    # Meta's retry of the same echo is the same message
    assert echo(ig_app, "m_from_app_1", "Halo kak, sudah kami cek di sistem ya"
                ).outcome == "duplicate"
    assert len(instagram_messages(ig_app)) == 2


def test_an_echo_that_overtakes_the_outbox_is_the_desks_own_reply(
        ig_app: App, graph: GraphStandIn) -> None:
    first = webhook_event(ig_app, "dm_text.json")
    queued = answer(ig_app, first.ticket_id or 0, "Baik, kami cek dulu ya.")
    # Meta's echo arrives before the outbox has written the mid it was given
    out = echo(ig_app, "m_sent_1", "Baik, kami cek dulu ya.")
    assert out.outcome == "duplicate" and out.message_id == queued["message_id"]
    assert deliver_due(ig_app.uow, ig_app.senders, ig_app.clock,
                       capabilities=ig_app.capabilities) == 1
    rows = instagram_messages(ig_app)
    assert [r.direction for r in rows] == ["in", "out"]
    assert rows[1].external_id == "m_sent_1" and rows[1].author_user_id is not None
    assert echo(ig_app, "m_sent_1", "Baik, kami cek dulu ya.").outcome == "duplicate"


def test_an_echo_to_a_stranger_opens_nothing(ig_app: App) -> None:
    out = echo(ig_app, "m_to_stranger", "Halo, ada yang bisa dibantu?", to="9555")
    assert out.outcome == "ignored" and "outside the desk" in (out.error or "")
    with ig_app.engine.connect() as conn:
        for table in (tables.customers, tables.tickets, tables.messages):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)
                                ).scalar_one() == 0
