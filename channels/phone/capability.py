"""What the phone channel can do for a reply: nothing outbound.  Calls arrive as transcripts;
the desk answers by calling the citizen back and logging the call's outcome ("catat telepon
balik"), which counts as a response when the call reached the citizen."""

from __future__ import annotations

from ticketing.domain.channels import ChannelCapability, cannot_send

CAPABILITY: ChannelCapability = cannot_send(
    "phone", "Telepon",
    "tidak ada pesan keluar lewat telepon; catat telepon balik (the phone channel has no "
    "outbound message: log a call back)", call_back=True)
