"""What the Instagram channel can do for a reply: a DM to the citizen's Instagram-scoped id
within Meta's 24-hour window after their last message (7 days with the ``HUMAN_AGENT`` tag, when
the app has that permission: ``TICKETING_META_HUMAN_AGENT``), 1,000 characters, no files.  A
comment is answered by a private reply (a DM, the default) or a public reply in the comment
thread (``send.py``).  Our replies carry Meta's message id afterwards, so echoes and the citizen's
answers thread back."""

from __future__ import annotations

import datetime as dt

from ticketing.domain.channels import ChannelCapability

MAX_TEXT = 1000
WINDOW = dt.timedelta(hours=24)
HUMAN_AGENT_WINDOW = dt.timedelta(days=7)


def capability(*, human_agent: bool = False) -> ChannelCapability:
    return ChannelCapability(channel="instagram", label="Instagram", can_send=True,
                             max_text=MAX_TEXT, attachments=False,
                             reply_window=HUMAN_AGENT_WINDOW if human_agent else WINDOW,
                             address_key="instagram_id")


CAPABILITY = capability()
