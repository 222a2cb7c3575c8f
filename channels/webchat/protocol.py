"""The web chat's frames (JSON text), checked at the edge: what a citizen's client may send and
what the server answers.  Pure: no clock, no socket, no database.

Citizen → server (the contract's ``message`` and more):
``{"type": "message", "client_id", "text", "attachments"?: [upload ids]}``,
``{"type": "typing", "on": bool}``, ``{"type": "read", "id": <last agent message read>}``,
``{"type": "rating", "value": 1-5}``, ``{"type": "end", "transcript": bool}``,
``{"type": "ping"}``.  Unknown types are ignored (the contract says so).

Server → citizen: ``ack``, ``message`` (from ``agent``), ``history``, ``typing``, ``read``,
``queue``, ``error`` (``code`` and a message in Indonesian and English), ``pong``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

MAX_FRAME_BYTES: Final = 16 * 1024
MAX_TEXT_CHARS: Final = 4000
MAX_ATTACHMENTS: Final = 5
_CLIENT_ID: Final = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
_UPLOAD_ID: Final = re.compile(r"^[A-Za-z0-9_-]{8,80}$")
_CONTROLS: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# What the citizen reads when a frame is refused (Indonesian, then English).
MESSAGES: Final = {
    "too_large": ("Pesan terlalu panjang (maksimal {limit} karakter). Bagi menjadi beberapa "
                  "pesan.", "The message is too long (at most {limit} characters). Split it "
                  "into several messages."),
    "rate_limited": ("Anda mengirim terlalu cepat. Tunggu {wait} detik lalu kirim lagi; "
                     "pesan ini belum terkirim.", "You are sending too fast. Wait {wait} "
                     "seconds and send again; this message was not sent."),
    "bad_frame": ("Pesan tidak dapat dibaca ({why}).", "The message could not be read ({why})."),
    "session_expired": ("Sesi obrolan Anda sudah berakhir. Mulai obrolan baru.",
                        "Your chat session has ended. Start a new chat."),
    "no_session": ("Sesi obrolan tidak ditemukan. Mulai obrolan baru.",
                   "No chat session was found. Start a new chat."),
    "session_moved": ("Obrolan ini dibuka di perangkat lain lewat tautan masuk; di sini "
                      "obrolan sudah ditutup.", "This chat was opened on another device with a "
                      "sign-in link; it is closed here."),
    "store_failed": ("Pesan belum tersimpan karena gangguan server; akan dikirim ulang.",
                     "The message was not stored (server trouble); it will be sent again."),
    "bad_attachment": ("Lampiran tidak dikenal: {why}.", "Unknown attachment: {why}."),
}


class FrameError(ValueError):
    """A frame we refuse, with the code the client gets and the words' parameters."""

    def __init__(self, code: str, client_id: str | None = None, **params: object) -> None:
        super().__init__(code)
        self.code, self.client_id, self.params = code, client_id, params


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageFrame:
    client_id: str
    text: str
    attachments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TypingFrame:
    on: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadFrame:
    message_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RatingFrame:
    value: int


@dataclass(frozen=True, slots=True, kw_only=True)
class EndFrame:
    transcript: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PingFrame:
    pass


Frame = MessageFrame | TypingFrame | ReadFrame | RatingFrame | EndFrame | PingFrame


def clean_text(text: str) -> str:
    """Control characters out (tab and line breaks stay), ends trimmed."""
    return _CONTROLS.sub("", text).strip()


def message_frame(data: dict[str, Any]) -> MessageFrame:
    raw_id = data.get("client_id")
    client_id = raw_id if isinstance(raw_id, str) and _CLIENT_ID.match(raw_id) else None
    if client_id is None:
        raise FrameError("bad_frame", why="client_id: 1-100 letters, digits or _.:-")
    text = data.get("text", "")
    if not isinstance(text, str):
        raise FrameError("bad_frame", client_id, why="text must be a string")
    if len(text) > MAX_TEXT_CHARS:
        raise FrameError("too_large", client_id, limit=MAX_TEXT_CHARS)
    uploads = data.get("attachments") or []
    if not isinstance(uploads, list) or len(uploads) > MAX_ATTACHMENTS or not all(
            isinstance(u, str) and _UPLOAD_ID.match(u) for u in uploads):
        raise FrameError("bad_attachment", client_id,
                         why=f"at most {MAX_ATTACHMENTS} upload ids")
    text = clean_text(text)
    if not text and not uploads:
        raise FrameError("bad_frame", client_id, why="the message is empty")
    return MessageFrame(client_id=client_id, text=text, attachments=tuple(uploads))


def _int(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FrameError("bad_frame", why=f"{key} must be a whole number")
    return value


def parse_frame(text: str | bytes) -> Frame | None:
    """A citizen's frame, or None for a type we do not know (ignored); ``FrameError`` for one
    we refuse (too large, not JSON, missing fields)."""
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FRAME_BYTES:
        raise FrameError("too_large", limit=MAX_TEXT_CHARS)
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FrameError("bad_frame", why="not JSON") from exc
    if not isinstance(data, dict):
        raise FrameError("bad_frame", why="a frame is a JSON object")
    kind = data.get("type")
    if kind == "message":
        return message_frame(data)
    if kind == "typing":
        return TypingFrame(on=bool(data.get("on", True)))
    if kind == "read":
        return ReadFrame(message_id=_int(data, "id"))
    if kind == "rating":
        value = _int(data, "value")
        if not 1 <= value <= 5:
            raise FrameError("bad_frame", why="rating is 1 to 5")
        return RatingFrame(value=value)
    if kind == "end":
        return EndFrame(transcript=bool(data.get("transcript")))
    if kind == "ping":
        return PingFrame()
    return None


def error(code: str, *, client_id: str | None = None, language: str = "id",
          **params: object) -> dict[str, Any]:
    """An ``error`` frame: the code, the message in the citizen's language and the other."""
    idn, eng = MESSAGES.get(code, MESSAGES["bad_frame"])
    fill = {"why": code, **{k: str(v) for k, v in params.items()}}
    first, other = (eng, idn) if language == "en" else (idn, eng)
    out: dict[str, Any] = {"type": "error", "code": code, "message": first.format(**fill),
                           "message_other": other.format(**fill)}
    if client_id is not None:
        out["client_id"] = client_id
    out.update({k: v for k, v in params.items() if k in ("retry_after", "limit")})
    return out


def refused(exc: FrameError, language: str = "id") -> dict[str, Any]:
    return error(exc.code, client_id=exc.client_id, language=language, **exc.params)
