"""The Instagram parser over each payload kind, as Meta documents it (fixtures/), split into
one stored event each the way the webhook stores them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from channels.instagram.events import split
from channels.instagram.parse import parse_event
from ticketing.domain.errors import MalformedPayload
from ticketing.domain.message import Ignored, InboundMessage, RevisionKind

FIXTURES = Path(__file__).parent / "fixtures"


def events(name: str) -> list[InboundMessage | Ignored]:
    return [parse_event(d.payload, d.meta) for d in split((FIXTURES / name).read_bytes(), {})]


def one(name: str) -> InboundMessage | Ignored:
    [parsed] = events(name)
    return parsed


def test_direct_message_is_a_dm_from_the_instagram_scoped_id() -> None:
    msg = one("dm_text.json")
    assert isinstance(msg, InboundMessage)
    assert msg.instagram_kind == "dm" and msg.sender.instagram_id == "9000000000000001"
    assert msg.external_id.startswith("aWdfZAG1") and "belum cair" in msg.body
    assert msg.sent_at.isoformat() == "2026-03-02T09:00:00+00:00"


def test_attachments_are_referenced_by_their_cdn_address_and_shares_noted() -> None:
    msg = one("dm_attachments.json")
    assert isinstance(msg, InboundMessage)
    [image] = msg.attachments
    assert image.content_type == "image/jpeg" and image.locator is not None
    assert image.locator.startswith("https://lookaside.fbsbx.com/")
    assert "instagram.com/p/Cxyz" in msg.body


def test_story_reply_and_story_mention_keep_the_story() -> None:
    reply = one("dm_story_reply.json")
    assert isinstance(reply, InboundMessage)
    assert reply.extra["instagram_story"]["id"] == "17900000000000001"
    assert "membalas story" in reply.body
    mention = one("dm_story_mention.json")
    assert isinstance(mention, InboundMessage) and "story" in mention.body


def test_echo_of_our_own_message_is_never_a_citizen_message() -> None:
    echo = one("dm_echo.json")
    assert isinstance(echo, InboundMessage) and echo.from_desk
    # "sender" of an echo is whom it was sent to: the citizen, never our account
    assert echo.sender.instagram_id == "9000000000000001"
    assert echo.body == "Baik, kami cek dulu ya." and echo.extra["instagram_echo"] is True


def test_unsent_message_is_a_take_back_of_the_original() -> None:
    msg = one("dm_deleted.json")
    original = one("dm_text.json")
    assert isinstance(msg, InboundMessage) and isinstance(original, InboundMessage)
    assert msg.revision is not None and msg.revision.kind is RevisionKind.UNSEND
    assert msg.revision.of == original.external_id != msg.external_id


def test_a_mention_is_a_message_whose_text_is_fetched_later() -> None:
    msg = one("mention.json")
    assert isinstance(msg, InboundMessage) and msg.external_id == "mention:17894227972186120"
    [text] = msg.attachments
    assert text.as_body and text.locator == "graph-mention:17894227972186120:17918195224117851"
    assert "sedang diambil" in msg.body  # a loud placeholder until the worker fetched it


@pytest.mark.parametrize("name, word", [("dm_reaction.json", "reaction"),
                                        ("dm_read.json", "read receipt"),
                                        ("dashboard_test.json", "test event")])
def test_reactions_reads_mentions_and_dashboard_tests_are_recorded_not_tickets(
        name: str, word: str) -> None:
    parsed = one(name)
    assert isinstance(parsed, Ignored) and word in parsed.reason


def test_standby_messages_are_messages_too() -> None:
    msg = one("standby.json")
    assert isinstance(msg, InboundMessage) and msg.extra["instagram_standby"] is True


def test_comment_carries_its_post_and_a_reply_threads_to_its_parent() -> None:
    top = one("comment.json")
    reply = one("comment_reply.json")
    assert isinstance(top, InboundMessage) and isinstance(reply, InboundMessage)
    assert top.instagram_kind == "comment" and top.sender.instagram_username == "warga.bandung"
    assert top.extra["instagram_media"] == "17895695668004550"
    assert reply.thread.in_reply_to == top.external_id == "comment:17865799348089039"


def test_a_batched_body_is_one_stored_event_each_with_its_own_key() -> None:
    deliveries = split((FIXTURES / "batch.json").read_bytes(), {})
    assert len(deliveries) == 3 and len({d.key for d in deliveries}) == 3
    kinds = [type(parse_event(d.payload, {})).__name__ for d in deliveries]
    assert kinds == ["InboundMessage", "Ignored", "InboundMessage"]
    again = split((FIXTURES / "batch.json").read_bytes(), {})
    assert [d.key for d in again] == [d.key for d in deliveries]  # retries land on the same keys


@pytest.mark.parametrize("body", [b"not json", b"{}", b'{"object": "instagram", "entry": [{}]}',
                                  json.dumps({"object": "instagram", "entry": [
                                      {"id": "1", "messaging": [{"message": {"mid": 5}}]}]}
                                             ).encode()])
def test_what_is_not_the_documented_shape_is_kept_and_quarantined(body: bytes) -> None:
    [delivery] = split(body, {})
    with pytest.raises(MalformedPayload):
        parse_event(delivery.payload, {})


def test_our_own_comment_is_the_desks_reply_never_a_citizens() -> None:
    data = json.loads((FIXTURES / "comment_reply.json").read_bytes())
    value = data["entry"][0]["changes"][0]["value"]
    value["from"] = {"id": data["entry"][0]["id"], "username": "prakerja"}
    [delivery] = split(json.dumps(data).encode(), {})
    msg = parse_event(delivery.payload, delivery.meta)
    assert isinstance(msg, InboundMessage) and msg.from_desk
    assert msg.sender.instagram_id is None and msg.thread.in_reply_to is not None
