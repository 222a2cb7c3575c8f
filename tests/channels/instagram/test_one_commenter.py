"""A comment seen by both the webhook and the poller is one message, its author one customer
and its post one cluster: the poller asks the Graph API (stand-in) for Meta's ids of what it
found (IGSID, media id) and keeps instaloader's (pk, media pk, shortcode) beside them; without
the Graph API the poller's ids stay in their own ``pk:`` space.  SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from instaloader import Instaloader

from channels.instagram.events import split
from channels.instagram.graph_lookup import GraphLookup
from ticketing.app import App
from ticketing.entrypoints.instagram_poll import reconcile_once
from ticketing.entrypoints.worker import drain
from ticketing.store import inbox as inbox_store
from ticketing.store import tables
from tests.channels.instagram.graph_standin import ACCOUNT, GraphStandIn
from tests.channels.instagram.test_reconcile import (FIXTURES, Network, accounts,  # noqa: F401
                                                     loader, network, stored_posts)

MEDIA = "17895695668004550"  # the Graph API's id of post DAbcPencairan (the webhook's)
SAME_CITIZEN = {"id": "17865799348089044", "created_at": 1772446000,
                "text": "Min, sertifikat saya masih belum terbit juga",
                "owner": {"id": "777001", "username": "warga.bandung"},
                "edge_liked_by": {"count": 0},
                "edge_threaded_comments": {"count": 0, "edges": []}}


@pytest.fixture
def poll_app(ig_app: App) -> Iterator[App]:
    core = accounts(ig_app)
    yield core
    core.close()


def meta_knows(graph: GraphStandIn) -> None:
    def comment(cid: str, igsid: str, username: str, media: str) -> None:
        graph.comment_objects[cid] = {"id": cid, "from": {"id": igsid, "username": username},
                                      "media": {"id": media}}
    comment("17865799348089039", "9000000000000005", "warga.bandung", MEDIA)
    comment("17865799348089044", "9000000000000005", "warga.bandung", MEDIA)
    comment("17865799348089050", ACCOUNT, "prakerja", MEDIA)
    comment("17865799348089042", "9000000000000006", "sari.dewi", MEDIA)
    comment("17865799348089043", "9000000000000007", "andi_p", "17895695668004551")


def rows(app: App) -> list[Any]:
    m, t = tables.messages, tables.tickets
    with app.engine.connect() as conn:
        return list(conn.execute(
            sa.select(m.c.external_id, m.c.direction, m.c.customer_id, m.c.ticket_id,
                      t.c.incident_id, m.c.extra)
            .select_from(m.join(t, t.c.id == m.c.ticket_id))
            .where(m.c.channel == "instagram").order_by(m.c.external_id)))


def test_a_comment_seen_both_ways_is_one_message_one_customer_one_cluster(
        poll_app: App, loader: Instaloader, graph: GraphStandIn) -> None:
    meta_knows(graph)
    webhook = split((FIXTURES / "comment.json").read_bytes(), {"source": "webhook"})
    with poll_app.uow.write() as conn:
        inbox_store.put_many(conn, webhook, poll_app.clock.now())
    drain(poll_app)
    poll_app.clock.advance(hours=2)  # type: ignore[attr-defined]
    lookup = GraphLookup(graph_url=graph.url, access_token="token-1")
    result = reconcile_once(poll_app, lambda _: stored_posts(loader, SAME_CITIZEN),
                            graph=lookup)
    assert (result.found, result.stored, result.known) == (5, 4, 1)
    # the new comments were looked up together, once
    assert sum("ids=" in r["path"] for r in graph.requests) == 1
    drain(poll_app)
    by_id = {r.external_id: r for r in rows(poll_app)}
    assert sorted(by_id) == ["comment:17865799348089039", "comment:17865799348089042",
                             "comment:17865799348089043", "comment:17865799348089044",
                             "comment:17865799348089050"]
    first, again = by_id["comment:17865799348089039"], by_id["comment:17865799348089044"]
    assert first.customer_id == again.customer_id  # one citizen, one customer
    assert again.extra["instagram_user_pk"] == "777001"
    assert again.extra["instagram_shortcode"] == "DAbcPencairan"
    other = by_id["comment:17865799348089042"]
    assert other.customer_id != first.customer_id
    # one post, one cluster: the other citizen's comment on it is in the same incident
    assert first.incident_id is not None and other.incident_id == first.incident_id
    assert by_id["comment:17865799348089043"].incident_id != first.incident_id
    # our own answer, written in the Instagram app, is the desk's reply on that ticket
    ours = by_id["comment:17865799348089050"]
    assert ours.direction == "out" and ours.ticket_id == first.ticket_id
    with poll_app.engine.connect() as conn:
        customers = conn.execute(sa.select(sa.func.count()).select_from(tables.customers)
                                 ).scalar_one()
    assert customers == 3


def test_without_the_graph_api_the_pollers_ids_stay_apart(poll_app: App,
                                                         loader: Instaloader) -> None:
    assert reconcile_once(poll_app, lambda _: stored_posts(loader)).stored == 4
    drain(poll_app)
    by_id = {r.external_id: r for r in rows(poll_app)}
    assert by_id["comment:17865799348089039"].extra["instagram_media"] == \
        "media:3500000000000000001"
    with poll_app.engine.connect() as conn:
        values = set(conn.execute(sa.select(tables.identities.c.value).where(
            tables.identities.c.kind == "instagram")).scalars())
    assert values == {"pk:777001", "pk:777002", "pk:777003"}
    # our own answer is still ours (the account is recognised in the pk space too)
    assert by_id["comment:17865799348089050"].direction == "out"
