"""Telegram's parser: one Bot API ``Update`` (the raw JSON the webhook or ``getUpdates`` gave)
→ an ``InboundMessage``, a ``Command`` for the bot, ``Ignored``, or ``MalformedPayload``.

Pure: bytes in, dataclasses out; no network, no database, no python-telegram-bot objects (the
core never sees SDK types).  What it understands:

* private chats only: groups, supergroups, channels (``channel_post``) and other bots are
  ``Ignored`` with the reason (the pipeline audits it);
* text; captions of photos, documents, voice notes and videos, whose files become attachment
  *locators* (the ``file_id``) fetched after ingest with ``getFile``;
* locations (a map link in the body) and shared contacts: the citizen's *own* contact (the
  "share my number" button, ``contact.user_id == from.id``) is written into the body as
  "nomor HP saya …", so the evidence rules take the phone as an identifier given by the
  citizen (source ``text``, a claim), never as the channel's proof;
* ``edited_message`` → a ``Revision`` of the stored message (the old text kept by the core);
* ``reply_to_message`` → ``in_reply_to``, so a reply to one of the bot's messages threads onto
  that ticket (our sent messages are stored with the same ``<chat>:<message>`` ids);
* ``/start [payload]``, ``/status``, ``/bantuan`` (``/help``) and a 6-digit code typed back
  (``/kode 123456`` or the bare code) → ``Command``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any, Final

from ticketing.domain.errors import MalformedPayload
from ticketing.domain.message import (Attachment, Channel, Command, Ignored, InboundMessage,
                                      Revision, RevisionKind, Sender, ThreadRef)

CONTENT_TYPE: Final = "application/vnd.telegram.update+json"
MAX_TEXT: Final = 4096  # a Telegram message's limit, in and out

_COMMANDS: Final = {"start": "start", "mulai": "start", "status": "status", "bantuan": "help",
                    "help": "help", "kode": "code", "code": "code"}
_COMMAND_RE: Final = re.compile(r"^/([A-Za-z_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?:\s+(.*))?$",
                                re.DOTALL)
_CODE_RE: Final = re.compile(r"^\s*(\d{6})\s*$")
# The kinds of update that carry a message; anything else (callback queries, member updates,
# polls ...) is ignored.
_MESSAGE_KINDS: Final = ("message", "edited_message", "channel_post", "edited_channel_post",
                         "business_message", "edited_business_message")


def update_id(data: Any) -> int:
    """The update's id, checked (the transport needs it for the inbox key before anything)."""
    if not isinstance(data, dict):
        raise MalformedPayload("an update must be a JSON object")
    value = data.get("update_id")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedPayload("update_id must be a non-negative integer")
    return value


def bot_id(token: str) -> str:
    """The bot's id is the token's part before the colon (``123456:ABC…``)."""
    head = token.partition(":")[0]
    return head if head.isdigit() else "0"


def update_key(bot: str, update: int) -> str:
    """The idempotency key of an update: the same update from a webhook retry or a replayed
    ``getUpdates`` is stored once."""
    return f"telegram:{bot}:{update}"


def parse_update(payload: bytes, meta: Mapping[str, Any]) -> InboundMessage | Command | Ignored:
    try:
        data = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise MalformedPayload(f"not valid UTF-8 at byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise MalformedPayload(f"not valid JSON: {exc.msg}") from exc
    uid = update_id(data)
    kind = next((k for k in _MESSAGE_KINDS if k in data), None)
    if kind is None:
        other = next((k for k in data if k != "update_id"), "nothing")
        return Ignored(reason=f"telegram update {uid}: {str(other)[:40]} is not a message")
    msg = data[kind]
    if not isinstance(msg, dict):
        raise MalformedPayload(f"{kind} must be an object")
    chat = _obj(msg, "chat")
    chat_type = str(chat.get("type") or "")
    if kind.startswith(("channel_post", "edited_channel_post")) or chat_type != "private":
        return Ignored(reason=f"telegram update {uid}: a {chat_type or 'channel'} chat, not a "
                              "private chat with the bot")
    sender = _obj(msg, "from")
    if sender.get("is_bot") is True:
        return Ignored(reason=f"telegram update {uid}: sent by another bot")
    chat_id, message_id = _int(chat, "id"), _int(msg, "message_id")
    external_id = f"{chat_id}:{message_id}"
    who = _sender(sender, chat_id)
    language = "en" if str(sender.get("language_code") or "").lower().startswith("en") else "id"
    text = _str(msg, "text")
    edited = kind.startswith("edited")
    sent_at = _when(msg, "edit_date" if edited else "date")
    if not edited and text is not None:
        command = _command(text, external_id, sent_at, who, language)
        if command is not None:
            return command
    body, attachments = _content(msg, text, sender)
    if not body and not attachments:
        what = next((k for k in ("sticker", "poll", "dice", "game", "new_chat_members")
                     if k in msg), "an empty message")
        return Ignored(reason=f"telegram update {uid}: {what}, nothing for the desk")
    reply = msg.get("reply_to_message")
    in_reply_to = (f"{chat_id}:{_int(reply, 'message_id')}" if isinstance(reply, dict)
                   else None)
    revision = None
    if edited:
        revision = Revision(kind=RevisionKind.EDIT, of=external_id)
        external_id = f"{external_id}:edit:{int(sent_at.timestamp())}"
    return InboundMessage(
        channel=Channel.TELEGRAM, external_id=external_id, sent_at=sent_at, sender=who,
        body=body, thread=ThreadRef(in_reply_to=in_reply_to), attachments=attachments,
        revision=revision,
        extra={"telegram": {"update_id": uid, "chat_id": chat_id, "message_id": message_id,
                            "username": sender.get("username"), "language": language}})


def _command(text: str, external_id: str, sent_at: dt.datetime, who: Sender,
             language: str) -> Command | None:
    code = _CODE_RE.match(text)
    if code:
        return Command(channel=Channel.TELEGRAM, external_id=external_id, sent_at=sent_at,
                       sender=who, name="code", argument=code.group(1), language=language)
    found = _COMMAND_RE.match(text.strip())
    if not found:
        return None
    name = _COMMANDS.get(found.group(1).lower())
    if name is None:
        return None  # "/anything else" is a message like any other
    return Command(channel=Channel.TELEGRAM, external_id=external_id, sent_at=sent_at,
                   sender=who, name=name, argument=(found.group(2) or "").strip()[:200],
                   language=language)


def _content(msg: dict[str, Any], text: str | None,
             sender: dict[str, Any]) -> tuple[str, tuple[Attachment, ...]]:
    lines: list[str] = []
    attachments: list[Attachment] = []
    photos = msg.get("photo")
    if isinstance(photos, list) and photos:
        # Telegram sends several sizes of one photo; the largest is the last.
        best = photos[-1] if isinstance(photos[-1], dict) else {}
        attachments.append(_file(best, "foto.jpg", "image/jpeg"))
        lines.append("[Foto]")
    for key, label, name, ctype in (("document", "Dokumen", "dokumen", "application/octet-stream"),
                                    ("voice", "Pesan suara", "suara.ogg", "audio/ogg"),
                                    ("video", "Video", "video.mp4", "video/mp4"),
                                    ("video_note", "Video", "video.mp4", "video/mp4"),
                                    ("audio", "Audio", "audio.mp3", "audio/mpeg")):
        item = msg.get(key)
        if isinstance(item, dict):
            att = _file(item, name, ctype)
            attachments.append(att)
            lines.append(f"[{label}: {att.filename}]" if key == "document" else f"[{label}]")
    location = msg.get("location")
    if isinstance(location, dict):
        lat, lon = _float(location, "latitude"), _float(location, "longitude")
        lines.append(f"[Lokasi] {lat:.6f}, {lon:.6f} https://maps.google.com/?q={lat:.6f},{lon:.6f}")
    contact = msg.get("contact")
    if isinstance(contact, dict):
        lines.append(_contact(contact, sender))
    caption = _str(msg, "caption")
    for part in (text, caption):
        if part:
            lines.append(part)
    return "\n".join(lines).strip(), tuple(attachments)


def _contact(contact: dict[str, Any], sender: dict[str, Any]) -> str:
    phone = re.sub(r"[^\d+]", "", str(contact.get("phone_number") or ""))[:20]
    name = " ".join(str(contact.get(k) or "") for k in ("first_name", "last_name")).strip()[:100]
    if contact.get("user_id") is not None and contact.get("user_id") == sender.get("id") and phone:
        if not phone.startswith("+") and phone.startswith("62"):
            phone = "+" + phone
        return f"[Kontak dibagikan] {name}: nomor HP saya {phone}"
    # Someone else's card: shown to the agent, never an identifier of the writer.
    return f"[Kartu kontak orang lain] {name}"


def _file(item: dict[str, Any], default_name: str, default_type: str) -> Attachment:
    file_id = item.get("file_id")
    if not isinstance(file_id, str) or not file_id or len(file_id) > 300:
        raise MalformedPayload("a file without a file_id")
    size = item.get("file_size", 0)
    name = item.get("file_name")
    ctype = item.get("mime_type")
    return Attachment(
        filename=(name if isinstance(name, str) and name.strip() else default_name)[:255],
        content_type=(ctype if isinstance(ctype, str) and ctype else default_type)[:255],
        size=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else 0,
        locator=file_id)


def _sender(sender: dict[str, Any], chat_id: int) -> Sender:
    name = " ".join(str(sender.get(k) or "") for k in ("first_name", "last_name")).strip()
    # In a private chat the chat is the citizen: replies go to this id.
    return Sender(name=name[:200] or None, telegram_id=str(chat_id))


def _obj(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise MalformedPayload(f"{key} must be an object")
    return value


def _int(data: Any, key: str) -> int:
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedPayload(f"{key} must be an integer")
    return value


def _float(data: dict[str, Any], key: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MalformedPayload(f"{key} must be a number")
    return float(value)


def _str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedPayload(f"{key} must be a string")
    return value.replace("\x00", "\ufffd")[:MAX_TEXT * 4]


def _when(msg: dict[str, Any], key: str) -> dt.datetime:
    value = msg.get(key, msg.get("date"))
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**33:
        raise MalformedPayload(f"{key} must be a Unix time")
    return dt.datetime.fromtimestamp(value, dt.UTC)
