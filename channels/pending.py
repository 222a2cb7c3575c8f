"""PLACEHOLDER capabilities for channels that are not built yet: web chat
(issue 13) and Instagram (issue 14) (Telegram, issue 12, is ``channels/telegram``).  Each declares "cannot send yet", so no reply is ever
queued for them (and none silently fails); the channel's own issue replaces its entry here with
its package's ``capability.py`` and a sender.  What they will declare, for reference:
Telegram: no reply window, 4096 characters; Instagram: 24 hours after the citizen's last
message (Meta), 1000 characters; web chat: while the citizen's session lasts."""

from __future__ import annotations

from ticketing.domain.channels import ChannelCapability, cannot_send

_NOT_YET = "kanal ini belum bisa mengirim balasan (this channel cannot send yet: issue {})"

PENDING: tuple[ChannelCapability, ...] = (
    cannot_send("webchat", "Web chat", _NOT_YET.format(13)),
)
