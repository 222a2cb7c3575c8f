"""What the Instagram channel can do for a reply.

* A DM goes to the citizen's Instagram-scoped id within Meta's 24-hour window after their last
  message (7 days with the ``HUMAN_AGENT`` tag, when the app has that permission:
  ``TICKETING_META_HUMAN_AGENT``), 1,000 characters, no files.
* A comment is answered by a private reply (a DM to the commenter through
  ``recipient.comment_id``, the default) or a public reply in the comment thread
  (``send.py``).  The DM window does not apply to these: Meta's Private Replies documentation
  (https://developers.facebook.com/docs/instagram-platform/private-replies, "Send a Private
  Reply to a Commenter", Step 4 and Limitations) says a private reply "can be sent within 7 days
  of the creation time of the comment" (during the broadcast only, for Instagram Live) and that
  only one message can be sent to the commenter; a public reply (``POST /{comment-id}/replies``,
  Instagram Platform comment moderation) has no window.  So a reply that answers a comment is
  possible privately for 7 days after that comment and publicly at any time
  (``KindWindow``), whatever the 24-hour DM window says.
Our replies carry Meta's message id afterwards, so echoes and the citizen's answers thread
back."""

from __future__ import annotations

import datetime as dt

from ticketing.domain.channels import ChannelCapability, KindWindow

MAX_TEXT = 1000
WINDOW = dt.timedelta(hours=24)
HUMAN_AGENT_WINDOW = dt.timedelta(days=7)
PRIVATE_REPLY_WINDOW = dt.timedelta(days=7)

COMMENT = KindWindow(label="komentar warga (the citizen's comment)",
                     private=PRIVATE_REPLY_WINDOW, public=None, public_reply=True,
                     private_once=True)


def capability(*, human_agent: bool = False) -> ChannelCapability:
    return ChannelCapability(channel="instagram", label="Instagram", can_send=True,
                             max_text=MAX_TEXT, attachments=False,
                             reply_window=HUMAN_AGENT_WINDOW if human_agent else WINDOW,
                             address_key="instagram_id", kind_windows={"comment": COMMENT})


CAPABILITY = capability()
