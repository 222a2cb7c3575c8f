"""What the e-mail channel can do for a reply: send at any time (no reply window), to the
citizen's address, as plain text with an HTML alternative, a reply's files as MIME parts
(``send.py``); we assign each reply's Message-ID ourselves, so the citizen's answer threads back by it."""

from __future__ import annotations

from ticketing.domain.channels import ChannelCapability

CAPABILITY = ChannelCapability(channel="email", label="E-mail", can_send=True,
                               attachments=True, reply_window=None, address_key="email",
                               own_message_ids=True)
