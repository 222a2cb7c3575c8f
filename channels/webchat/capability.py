"""What the web chat can do for a reply: plain text up to 4000 characters to the session that
wrote last (``webchat_id``), at any time: a citizen who is not connected gets it on their next
connection, or by e-mail after a while (the hand-over in ``services.webchat``).  Its own
transport delivers (``live``): the web process writes the reply to the citizen's open socket
and settles the outbox row then, so the reply counts as a response when it reached the
citizen's connection, not when it was queued."""

from __future__ import annotations

from ticketing.domain.channels import ChannelCapability

MAX_TEXT = 4000

CAPABILITY = ChannelCapability(channel="webchat", label="Web chat", can_send=True,
                               max_text=MAX_TEXT, attachments=False, reply_window=None,
                               address_key="webchat_id", live=True)
