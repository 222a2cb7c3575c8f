"""The dev mailbox: where outgoing mail goes when no SMTP relay is configured
(``TICKETING_OUTBOUND_SMTP_URL`` empty, the default of ``make run``), like Mailpit built in.

Each message is one ``.eml`` file (RFC 5322 bytes, as a relay would have received them) in a
folder; written to a temporary name and renamed, so a reader never sees half a message.  A
message "delivered" here reached no citizen: the pages say "dev mailbox" wherever it shows.
Blocking file I/O: the outbox worker calls ``send`` from its thread; the pages read it in the
thread pool."""

from __future__ import annotations

import datetime as dt
import email.policy
import os
import re
import uuid
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path

from ticketing.domain.errors import ChannelUnavailable

_NAME = re.compile(r"^[0-9]{8}T[0-9]{12}-[0-9a-f]{32}\.eml$")
MAX_SHOWN = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class MailItem:
    name: str
    received_at: dt.datetime
    sender: str
    to: str
    subject: str
    body: str
    message_id: str
    auto_submitted: str
    # The attached files (name, type, size in bytes), as the citizen's mail program lists them.
    attachments: tuple[tuple[str, str, int], ...] = ()


class DevMailbox:
    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)

    def send(self, message: EmailMessage) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        name = f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex}.eml"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = self.folder / f".{name}.part"
            partial.write_bytes(message.as_bytes(policy=email.policy.SMTP))
            os.replace(partial, self.folder / name)
        except OSError as exc:  # a full disk or a read-only folder: try again later
            raise ChannelUnavailable(f"dev mailbox not writable: {exc}") from exc

    def names(self, limit: int = MAX_SHOWN) -> list[str]:
        """Newest first."""
        try:
            found = [p.name for p in self.folder.iterdir() if _NAME.match(p.name)]
        except OSError:
            return []
        return sorted(found, reverse=True)[:limit]

    def get(self, name: str) -> MailItem | None:
        """One message by its file name; None for a name that is not one of ours."""
        if not _NAME.match(name):
            return None
        try:
            raw = (self.folder / name).read_bytes()
        except OSError:
            return None
        return _item(name, raw)

    def messages(self, limit: int = MAX_SHOWN) -> list[MailItem]:
        return [m for n in self.names(limit) if (m := self.get(n)) is not None]


def _text_body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        return str(part.get_content())
    except (LookupError, ValueError):
        return ""


def _item(name: str, raw: bytes) -> MailItem:
    msg = message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    stamp = dt.datetime.strptime(name.split("-")[0], "%Y%m%dT%H%M%S%f").replace(tzinfo=dt.timezone.utc)
    return MailItem(name=name, received_at=stamp, sender=str(msg.get("From", "")),
                    to=str(msg.get("To", "")), subject=str(msg.get("Subject", "")),
                    body=_text_body(msg), message_id=str(msg.get("Message-ID", "")),
                    auto_submitted=str(msg.get("Auto-Submitted", "")),
                    attachments=tuple(
                        (str(p.get_filename() or ""), p.get_content_type(),
                         len(p.get_payload(decode=True) or b""))
                        for p in msg.iter_attachments()))
