"""Comment replies have Meta's own windows, not the DM's 24 hours: a private reply within 7 days
of the comment, a public reply any time (Meta's Private Replies documentation, cited in
channels/instagram/capability.py).  The capability model says so, the reply box explains it,
the desk refuses before queueing, and the Graph API stand-in refuses a late private reply."""

from __future__ import annotations

import datetime as dt

import pytest

from channels.instagram.capability import capability
from channels.instagram.send import GraphSender
from ticketing.app import App
from ticketing.domain.channels import ChannelUse, option_for
from ticketing.domain.errors import RecipientRejected, ReplyRefused
from ticketing.services import replies
from ticketing.services.outbox import deliver_due
from ticketing.services.ports import Delivery
from tests.channels.instagram.graph_standin import GraphStandIn
from tests.channels.instagram.test_send import answer, webhook_event

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
COMMENT_ID = "17865799348089039"


def use(kind: str, hours: float) -> ChannelUse:
    at = AT - dt.timedelta(hours=hours)
    return ChannelUse(channel="instagram", last_message_at=at,
                      sender={"instagram_id": "9000000000000005"}, kind=kind, kind_at=at)


def test_the_capability_gives_comments_their_own_windows() -> None:
    cap = capability()
    dm = option_for(cap, use("dm", 25), AT)
    assert not dm.possible and "24 jam" in (dm.reason or "")
    fresh = option_for(cap, use("comment", 48), AT)  # past the DM window, inside 7 days
    assert fresh.possible and fresh.private and fresh.public
    assert "5 hari lagi" in (fresh.note or "") and "publik kapan saja" in (fresh.note or "")
    old = option_for(cap, use("comment", 24 * 8), AT)
    assert old.possible and not old.private and old.public
    assert "tidak bisa lagi" in (old.note or "") and "7 hari" in (old.note or "")
    # a DM the citizen wrote has no public place
    assert not option_for(cap, use("dm", 1), AT).public


def test_a_comment_is_answered_privately_for_7_days_and_publicly_after(
        ig_app: App, graph: GraphStandIn) -> None:
    graph.now = ig_app.clock.now
    comment = webhook_event(ig_app, "comment.json")
    tid = comment.ticket_id or 0
    graph.comments[COMMENT_ID] = dt.datetime(2026, 3, 2, 9, 9, tzinfo=dt.UTC)
    ig_app.clock.advance(days=2)  # type: ignore[attr-defined]
    with ig_app.engine.connect() as conn:
        box = replies.reply_channels(conn, tid, capabilities=ig_app.capabilities,
                                     now=ig_app.clock.now())
    [option] = box["options"]
    assert option["possible"] and option["private"] and option["public"]
    assert "balasan pribadi masih bisa" in option["note"]
    answer(ig_app, tid, "Kami kirim DM ya")  # past the DM's 24 hours: still fine
    # Meta allows one private reply per comment: the next may only be public
    with ig_app.engine.connect() as conn:
        [again] = replies.reply_channels(conn, tid, capabilities=ig_app.capabilities,
                                         now=ig_app.clock.now())["options"]
    assert again["possible"] and not again["private"] and again["public"]
    assert "sudah dikirim sekali" in again["note"]
    with pytest.raises(ReplyRefused, match="sekali"):
        answer(ig_app, tid, "Satu lagi ya")
    ig_app.clock.advance(days=6)  # type: ignore[attr-defined]
    with pytest.raises(ReplyRefused) as refused:
        answer(ig_app, tid, "Kami kirim DM lagi ya")
    assert "7 hari" in str(refused.value)
    answer(ig_app, tid, "Sudah kami tindak lanjuti, cek DM ya", public=True)
    assert deliver_due(ig_app.uow, ig_app.senders, ig_app.clock,
                       capabilities=ig_app.capabilities) == 2
    assert [r["path"].rsplit("/", 1)[-1] for r in graph.requests] == ["messages", "replies"]


def test_the_stand_in_refuses_a_private_reply_after_7_days(graph: GraphStandIn) -> None:
    graph.comments["178"] = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
    sender = GraphSender(graph_url=graph.url, access_token="token-1")
    late = Delivery(outbox_id=1, channel="instagram", kind="reply", recipient={},
                    payload={"body": "Halo", "in_reply_to": "comment:178"})
    with pytest.raises(RecipientRejected, match="7 hari"):
        sender(late)
    graph.comments.clear()
    assert sender(late) is not None  # a first private reply is taken ...
    with pytest.raises(RecipientRejected, match="one private reply"):
        sender(late)  # ... a second one is not
    public = Delivery(outbox_id=2, channel="instagram", kind="reply", recipient={},
                      payload={"body": "Sudah kami balas", "in_reply_to": "comment:178",
                               "public": True})
    assert sender(public) is not None


def test_the_reply_box_explains_the_comment_windows(ig_app: App) -> None:
    from fastapi.testclient import TestClient

    from ticketing.entrypoints.server import create_http_app
    from ticketing.services import accounts

    tid = webhook_event(ig_app, "comment.json").ticket_id or 0
    with ig_app.engine.begin() as conn:
        accounts.create_user(conn, email="spv@example.id", name="Supervisor",
                             role="supervisor", password="kata-sandi-rahasia",
                             clock=ig_app.clock)
    ig_app.clock.advance(days=8)  # type: ignore[attr-defined]
    with TestClient(create_http_app(ig_app), follow_redirects=False) as client:
        assert client.post("/login", data={"email": "spv@example.id",
                                           "password": "kata-sandi-rahasia"}
                           ).status_code == 303
        page = client.get(f"/tickets/{tid}").text
    assert 'id="reply-note-instagram"' in page
    assert "balasan pribadi tidak bisa lagi" in page and "publik kapan saja" in page
    # only a public reply can go now: the box is ticked and required
    assert 'name="public" value="1" checked required' in page
