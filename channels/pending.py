"""PLACEHOLDER capabilities for channels that are not built yet: Telegram (issue 12) and
Instagram (issue 14) (web chat, issue 13, declares its own in ``channels/webchat``).  Each declares "cannot send yet", so no reply is ever
queued for them (and none silently fails); the channel's own issue replaces its entry here with
its package's ``capability.py`` and a sender.  What they will declare, for reference:
Telegram: no reply window, 4096 characters; Instagram: 24 hours after the citizen's last
message (Meta), 1000 characters; web chat: while the citizen's session lasts."""

from __future__ import annotations

from ticketing.domain.channels import ChannelCapability, cannot_send

_NOT_YET = "kanal ini belum bisa mengirim balasan (this channel cannot send yet: issue {})"

PENDING: tuple[ChannelCapability, ...] = (
    cannot_send("telegram", "Telegram", _NOT_YET.format(12)),
    cannot_send("instagram", "Instagram", _NOT_YET.format(14)),
)
