"""The pure parser, one Bot API update kind at a time."""

from __future__ import annotations

import json
from typing import Any

import pytest

from channels.telegram.parse import parse_update
from ticketing.domain.claimed import claimed_identifiers
from ticketing.domain.errors import MalformedPayload
from ticketing.domain.message import Command, Ignored, InboundMessage, RevisionKind
from tests.channels.telegram.updates import T0, message, photo


def parse(update: dict[str, Any]) -> Any:
    return parse_update(json.dumps(update).encode(), {})


def test_text_message_from_a_private_chat() -> None:
    msg = parse(message(1, "Saldo saya belum masuk", chat=777, message_id=10))
    assert isinstance(msg, InboundMessage)
    assert msg.external_id == "777:10" and msg.sender.telegram_id == "777"
    assert msg.sender.name == "Sari Wulandari" and msg.body == "Saldo saya belum masuk"
    assert msg.sent_at.timestamp() == T0


def test_media_with_captions_become_attachment_locators() -> None:
    msg = parse(photo(2, caption="Ini buktinya"))
    assert msg.body == "[Foto]\nIni buktinya"
    [att] = msg.attachments
    assert att.locator == "ph-2" and att.content_type == "image/jpeg" and att.size == 2000
    doc = parse(message(3, None, document={"file_id": "d1", "file_unique_id": "u",
                                            "file_name": "ktp.pdf", "mime_type":
                                            "application/pdf", "file_size": 5},
                        caption="KTP saya"))
    assert doc.body == "[Dokumen: ktp.pdf]\nKTP saya"
    assert doc.attachments[0].filename == "ktp.pdf"
    voice = parse(message(4, None, voice={"file_id": "v1", "file_unique_id": "u",
                                          "duration": 3}))
    assert voice.attachments[0].content_type == "audio/ogg" and voice.body == "[Pesan suara]"
    video = parse(message(5, None, video={"file_id": "vid", "file_unique_id": "u",
                                          "duration": 3, "width": 1, "height": 1}))
    assert video.attachments[0].locator == "vid"


def test_location_and_own_contact_given_by_the_citizen() -> None:
    loc = parse(message(6, None, location={"latitude": -6.2, "longitude": 106.816666}))
    assert "[Lokasi] -6.200000, 106.816666" in loc.body and "maps.google.com" in loc.body
    own = parse(message(7, None, contact={"phone_number": "6281234567890",
                                          "first_name": "Sari", "user_id": 777}))
    found = {(str(i.kind), i.value, i.source) for i in claimed_identifiers(own.body)}
    assert ("phone", "+6281234567890", "text") in found
    other = parse(message(8, None, contact={"phone_number": "6281299990000",
                                            "first_name": "Budi", "user_id": 999}))
    assert "6281299990000" not in other.body
    assert not claimed_identifiers(other.body)


def test_edit_is_a_revision_and_a_reply_threads() -> None:
    edit = parse(message(9, "Saldo saya belum masuk sejak Senin", kind="edited_message",
                         edit_date=T0 + 60))
    assert edit.revision.kind is RevisionKind.EDIT and edit.revision.of == "777:10"
    assert edit.external_id == f"777:10:edit:{T0 + 60}"
    reply = parse(message(10, "Sudah saya coba", message_id=12,
                          reply_to_message={"message_id": 1001, "date": T0,
                                            "chat": {"id": 777, "type": "private"}}))
    assert reply.thread.in_reply_to == "777:1001"


@pytest.mark.parametrize("update", [
    message(11, "halo grup", chat=-100123, chat_type="supergroup"),
    message(12, "halo", chat=-5, chat_type="group"),
    {"update_id": 13, "channel_post": {"message_id": 1, "date": T0,
                                       "chat": {"id": -100, "type": "channel"}, "text": "x"}},
    message(14, "saya bot", is_bot=True),
    {"update_id": 15, "callback_query": {"id": "1"}},
    message(16, None, sticker={"file_id": "s"}),
])
def test_groups_channels_bots_and_non_messages_are_ignored(update: dict[str, Any]) -> None:
    assert isinstance(parse(update), Ignored)


def test_commands_and_codes() -> None:
    start = parse(message(20, "/start T-000123abc", lang="en"))
    assert isinstance(start, Command) and start.name == "start"
    assert start.argument == "T-000123abc" and start.language == "en"
    assert parse(message(21, "/status@pengaduan_bot")).name == "status"
    assert parse(message(22, "/bantuan")).name == "help"
    code = parse(message(23, " 482913 "))
    assert code.name == "code" and code.argument == "482913" and code.language == "id"
    assert isinstance(parse(message(24, "/lainnya apa ini")), InboundMessage)


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"update_id": "x"}',
                                 b'{"update_id": 1, "message": {"chat": {"type": "private"}}}',
                                 b'\xff\xfe'])
def test_malformed_updates_are_refused_with_a_reason(raw: bytes) -> None:
    with pytest.raises(MalformedPayload):
        parse_update(raw, {})
