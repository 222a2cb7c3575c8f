"""Out through the Bot API: the outbox's sender (``sendMessage`` / ``sendPhoto`` /
``sendDocument``) and the attachment fetcher (``getFile`` and the file download), both on the
real python-telegram-bot, with Telegram's errors translated into the core's:

* ``RetryAfter`` (429) → ``RateLimited(retry_after)``: the outbox puts the row back due then;
* ``Forbidden`` (403: the citizen blocked the bot, deactivated) and "chat not found" →
  ``RecipientRejected(unreachable=True)``: the address is marked, the reply box offers others;
* any other ``BadRequest`` (400) → ``RecipientRejected`` (permanent: sending it again fails);
* timeouts and network errors → ``ChannelUnavailable`` (temporary: retried with backoff).

Returning means Telegram answered ``ok``: that instant is when a reply counts as a response.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot, InputFile, Message, ReplyParameters
from telegram.warnings import PTBDeprecationWarning
from telegram.error import (BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError,
                            TimedOut)

from channels.telegram.bot import BotRunner
from channels.telegram.parse import MAX_TEXT
from ticketing.domain.errors import (ChannelUnavailable, PartlySent, RateLimited,
                                     RecipientRejected, TooLarge)
from ticketing.services.ports import Delivery

# Within one delivery split into several messages, a 429 after the first part is waited out
# here (the parts already sent must not go again) when Telegram asks for at most this long.
_MAX_INLINE_WAIT = 30.0
_GONE = ("chat not found", "user not found", "peer_id_invalid", "user is deactivated")


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Telegram's limit is 4096 characters a message: cut at the last paragraph, line or word
    break before it (a hard cut only in a 4096-character word)."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # 22.x: an int retry_after is deprecated for timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def translate(exc: TelegramError) -> Exception:
    """A Bot API error as the core's error."""
    if isinstance(exc, RetryAfter):
        return RateLimited(f"Telegram: {exc}", retry_after=retry_seconds(exc))
    if isinstance(exc, Forbidden):
        return RecipientRejected(f"Telegram 403: {exc.message}", unreachable=True)
    if isinstance(exc, BadRequest):
        gone = any(g in exc.message.lower() for g in _GONE)
        return RecipientRejected(f"Telegram 400: {exc.message}", unreachable=gone)
    if isinstance(exc, (TimedOut, NetworkError)):
        return ChannelUnavailable(f"Telegram unreachable: {type(exc).__name__}: {exc}")
    return ChannelUnavailable(f"Telegram: {type(exc).__name__}: {exc}")


def _chat_and_message(value: Any) -> tuple[int, int] | None:
    head, _, tail = str(value or "").partition(":")
    try:
        return int(head), int(tail.partition(":")[0])
    except ValueError:
        return None


class TelegramSender:
    """The outbox's sender for ``telegram``.  ``files``: reads an attachment's bytes by its
    sha256 from the attachment store (for ``payload["attachments"]``: ``sha256``,
    ``filename``, ``content_type``).  A paced delivery (the outbox's) is sent one Bot API
    message a call: after the first, ``PartlySent`` says how far it got (``payload
    ["parts_sent"]`` on the next call skips those), so each message takes its own pace slot;
    ``gap``: the seconds a chat's next message waits after one was answered (unpaced: slept
    here between the parts)."""

    def __init__(self, runner: BotRunner, files: Callable[[str], bytes] | None = None, *,
                 gap: float = 1.0) -> None:
        self.runner, self.files, self.gap = runner, files, gap

    def __call__(self, delivery: Delivery) -> str | None:
        raw_chat = delivery.recipient.get("telegram_id")
        try:
            chat_id = int(str(raw_chat))
        except ValueError as exc:
            raise RecipientRejected(f"no Telegram chat id ({raw_chat!r})") from exc
        payload = delivery.payload
        thread = _chat_and_message(payload.get("in_reply_to"))
        reply_to = thread[1] if thread and thread[0] == chat_id else None
        parts = split_text(str(payload.get("body") or ""))
        files = [dict(a) for a in payload.get("attachments") or () if isinstance(a, dict)]
        steps: list[Callable[[Bot], Awaitable[Message]]] = [
            *(self._text(chat_id, p, reply_to if i == 0 else None)
              for i, p in enumerate(parts) if p or not files),
            *(self._file(chat_id, f) for f in files)]
        start = payload.get("parts_sent")
        start = start if isinstance(start, int) and 0 <= start < len(steps) else 0
        last: list[int] = []
        try:
            for n in range(start, len(steps)):
                if last:
                    if delivery.paced:
                        # Every Bot API message takes its own pace slot (per chat and overall):
                        # the outbox keeps the progress and calls again at the next one's slot,
                        # at least a per-chat gap after this answer, not holding its worker.
                        raise PartlySent(done=n, external_id=f"{chat_id}:{last[-1]}",
                                         after=self.gap)
                    time.sleep(self.gap)
                while True:
                    try:
                        message = self.runner.call(steps[n])
                        break
                    except RetryAfter as exc:
                        # Unpaced, after the first part a short 429 is waited out here: the
                        # parts already sent must not go again with a retried delivery (paced,
                        # the row keeps its progress and the outbox retries from there).
                        if not last or delivery.paced or retry_seconds(exc) > _MAX_INLINE_WAIT:
                            raise
                        time.sleep(retry_seconds(exc))
                last.append(message.message_id)
        except TelegramError as exc:
            raise translate(exc) from exc
        return f"{chat_id}:{last[-1]}" if last else None

    @staticmethod
    def _text(chat_id: int, text: str,
              reply_to: int | None) -> Callable[[Bot], Awaitable[Message]]:
        thread = (ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
                  if reply_to is not None else None)
        return lambda bot: bot.send_message(chat_id, text, reply_parameters=thread)

    def _file(self, chat_id: int, entry: dict[str, Any]) -> Callable[[Bot], Awaitable[Message]]:
        if self.files is None:
            raise RecipientRejected("no attachment store for Telegram attachments")
        data = self.files(str(entry.get("sha256")))
        name = str(entry.get("filename") or "lampiran")
        upload = InputFile(data, filename=name)
        if str(entry.get("content_type") or "").startswith("image/"):
            return lambda bot: bot.send_photo(chat_id, upload)
        return lambda bot: bot.send_document(chat_id, upload)


class TelegramFetcher:
    """``getFile`` then the download, for attachments the parser only referenced (the
    ``file_id``).  Over ``max_bytes`` (from ``getFile``'s size, else the bytes read) is
    ``TooLarge``; Telegram's own "file is too big" (bots may download 20 MB) too."""

    def __init__(self, runner: BotRunner) -> None:
        self.runner = runner

    def __call__(self, locator: str, max_bytes: int) -> tuple[bytes, str | None]:
        async def fetch(bot: Bot) -> tuple[bytes, str | None]:
            file = await bot.get_file(locator)
            if file.file_size is not None and file.file_size > max_bytes:
                raise TooLarge(f"{file.file_size} bytes")
            data = bytes(await file.download_as_bytearray())
            ctype = mimetypes.guess_type(file.file_path or "")[0]
            return data, ctype
        try:
            return self.runner.call(fetch)
        except BadRequest as exc:
            if "too big" in exc.message.lower():
                raise TooLarge(f"Telegram: {exc.message}") from exc
            raise RecipientRejected(f"Telegram: {exc.message}") from exc
        except TelegramError as exc:
            raise translate(exc) from exc

