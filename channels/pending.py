"""Capabilities for channels that are declared but not built yet.  None is left: e-mail, phone,
Telegram, web chat and Instagram each declare their own in their package's ``capability.py``.
A future channel starts here with ``cannot_send(...)`` so no reply is ever queued for it (and
none silently fails) until its sender exists."""

from __future__ import annotations

from ticketing.domain.channels import ChannelCapability

PENDING: tuple[ChannelCapability, ...] = ()
