"""Files an agent attaches to a reply: which kinds are accepted (decided by the bytes, never by
the name or the browser's claimed type), how large, and a file name safe to send on.

Pure: the caller reads the upload (at most ``MAX_FILE + 1`` bytes of each) and stores what is
accepted in the attachment store."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ticketing.domain.errors import InvalidInput

MAX_FILE = 10 * 1024 * 1024  # Telegram's sendPhoto limit; mail relays commonly take 10–25 MB
MAX_FILES = 5
MAX_TOTAL = 20 * 1024 * 1024
# What a citizen can open anywhere: photos and PDF documents.
KINDS = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif",
         "image/webp": ".webp", "application/pdf": ".pdf"}
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f/\\:*?\"<>|\u2028\u2029]")


class FileTooLarge(InvalidInput):
    """Over ``MAX_FILE`` (one file) or ``MAX_TOTAL`` (all of them): HTTP 413."""

    code = "too_large"


class FileTypeRefused(InvalidInput):
    """Not one of ``KINDS`` by its content: HTTP 415."""

    code = "unsupported_type"


@dataclass(frozen=True, slots=True)
class ReplyFile:
    filename: str
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def described(self) -> dict[str, Any]:
        """As a message's ``attachments`` item and the outbox payload's."""
        return {"filename": self.filename, "content_type": self.content_type,
                "size": len(self.data), "sha256": self.sha256, "stored": True}


def sniff(data: bytes) -> str | None:
    """The file's type from its first bytes (magic numbers), or None if not an accepted one."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:1024].lstrip(b"\x00\t\n\r ").startswith(b"%PDF-"):
        return "application/pdf"
    return None


def safe_name(name: str, content_type: str) -> str:
    """The name without any folder part or control characters, at most 100 characters, with
    the extension of its real type (a ``.exe`` that is a PNG is sent as ``….exe.png``)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = " ".join(_UNSAFE.sub(" ", base).split()).strip(". ") or "lampiran"
    ext = KINDS[content_type]
    alias = {".jpg": (".jpg", ".jpeg")}.get(ext, (ext,))
    if not base.lower().endswith(alias):
        base += ext
    if len(base) > 100:
        base = base[:100 - len(ext)] + ext
    return base


def accept(uploads: Sequence[tuple[str, bytes]]) -> list[ReplyFile]:
    """The uploads (name, bytes; empty file inputs already dropped) checked: each at most
    ``MAX_FILE``, together at most ``MAX_TOTAL``, at most ``MAX_FILES``, each an accepted type
    by its content.  The refusal names the file and the limit."""
    if len(uploads) > MAX_FILES:
        raise InvalidInput(f"paling banyak {MAX_FILES} lampiran per balasan (at most "
                           f"{MAX_FILES} files)")
    out: list[ReplyFile] = []
    for name, data in uploads:
        if len(data) > MAX_FILE:
            raise FileTooLarge(f"{_UNSAFE.sub(' ', name)[:100]}: lebih dari "
                               f"{MAX_FILE // (1024 * 1024)} MB (file over "
                               f"{MAX_FILE // (1024 * 1024)} MB)")
        kind = sniff(data)
        if kind is None:
            raise FileTypeRefused(f"{_UNSAFE.sub(' ', name)[:100]}: hanya gambar (PNG, JPEG, "
                                  "GIF, WebP) dan PDF yang bisa dilampirkan (only images and "
                                  "PDF can be attached)")
        out.append(ReplyFile(filename=safe_name(name, kind), content_type=kind, data=data))
    if sum(len(f.data) for f in out) > MAX_TOTAL:
        raise FileTooLarge(f"lampiran bersama lebih dari {MAX_TOTAL // (1024 * 1024)} MB "
                           f"(files together over {MAX_TOTAL // (1024 * 1024)} MB)")
    return out
