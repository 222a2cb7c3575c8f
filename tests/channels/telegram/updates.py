"""Bot API update payloads as Telegram sends them, one builder per event kind."""

from __future__ import annotations

from typing import Any

T0 = 1772416800  # 2026-03-02 02:00 UTC (09:00 WIB)


def person(user: int = 777, first: str = "Sari", lang: str = "id",
           is_bot: bool = False) -> dict[str, Any]:
    return {"id": user, "is_bot": is_bot, "first_name": first, "last_name": "Wulandari",
            "username": f"user{user}", "language_code": lang}


def message(update_id: int, text: str | None = "Saldo saya belum masuk", *, chat: int = 777,
            message_id: int = 10, date: int = T0, chat_type: str = "private",
            lang: str = "id", is_bot: bool = False, kind: str = "message",
            **more: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {"message_id": message_id, "date": date,
                           "chat": {"id": chat, "type": chat_type, "first_name": "Sari"},
                           "from": person(chat if chat > 0 else 777, lang=lang, is_bot=is_bot),
                           **more}
    if text is not None:
        msg["text"] = text
    return {"update_id": update_id, kind: msg}


def photo(update_id: int, caption: str = "Ini buktinya", **kw: Any) -> dict[str, Any]:
    sizes = [{"file_id": f"ph-small-{update_id}", "file_unique_id": "s", "width": 90,
              "height": 90, "file_size": 1000},
             {"file_id": f"ph-{update_id}", "file_unique_id": "b", "width": 1280,
              "height": 960, "file_size": 2000}]
    return message(update_id, None, photo=sizes, caption=caption, **kw)
