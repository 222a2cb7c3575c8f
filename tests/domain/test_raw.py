"""The idempotency keys: stable, byte for byte (the inbox's unique index holds a digest of the
key text, so a changed key would let an old delivery in again)."""

from __future__ import annotations

import hashlib

from ticketing.domain.raw import MAX_KEY_CHARS, RawDelivery, content_key, message_key
from ticketing.store.inbox import digest


def test_message_key_is_channel_and_external_id() -> None:
    assert message_key("telegram", "update:7") == "msg:telegram:update:7"
    assert message_key("webchat", 12) == "msg:webchat:12"


def test_message_key_is_cut_at_the_inbox_column_length() -> None:
    key = message_key("email", "<" + "a" * 700 + "@x>")
    assert len(key) == MAX_KEY_CHARS == 600
    assert key.startswith("msg:email:<aaa")


def test_content_key_is_the_sha256_of_the_bytes() -> None:
    data = b"From: warga@example.id\r\n\r\nhalo\r\n"
    assert content_key("email", data) == "email:sha256:" + hashlib.sha256(data).hexdigest()
    assert content_key("phone", b"") == (
        "phone:sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


def test_stored_digests_of_known_keys_do_not_change() -> None:
    # Computed before the builders moved here: existing databases hold these digests.
    assert digest(message_key("api", "ext-1")).hex() == "dbe43b72e909b8e307a81ea329440a3d"
    assert digest(content_key("jsonl", b'{"a": 1}')) == hashlib.sha256(
        ("jsonl:sha256:" + hashlib.sha256(b'{"a": 1}').hexdigest()).encode()).digest()[:16]


def test_a_delivery_without_meta_has_an_empty_one() -> None:
    d = RawDelivery(channel="api", key="k", payload=b"{}", content_type="application/json")
    assert dict(d.meta) == {}
