"""What the Telegram channel can do for a reply: send at any time (a private chat with the bot
has no reply window), to the citizen's chat id, text split at Telegram's 4096 characters, photos
and documents; the Bot API's limits are declared as pacing the outbox holds across every worker
(1 message a second per chat, 30 a second overall).  Our messages get their ids from Telegram
(returned by the sender as ``<chat>:<message>``), so a citizen's reply to one threads back."""

from __future__ import annotations

from ticketing.domain.channels import ChannelCapability, cannot_send

# Telegram allows about 30 messages a second overall.  Slots are reserved 1/28 s apart: the
# sends leave their slots with a few ms of jitter (two workers, the network), and at exactly
# 1/30 s some 1-second windows of arrivals held 31-32 (bench/telegram_outbox.py).
OVERALL = 1 / 28
# A reply longer than this is refused in the reply box (it would be four Telegram messages).
MAX_REPLY = 4 * 4096

CAPABILITY = ChannelCapability(channel="telegram", label="Telegram", can_send=True,
                               max_text=MAX_REPLY, attachments=True, reply_window=None,
                               address_key="telegram_id", own_message_ids=False,
                               pace_per_recipient=1.0, pace_overall=OVERALL)

OFF = cannot_send("telegram", "Telegram", "bot Telegram belum dikonfigurasi (no bot token: "
                  "set TICKETING_TELEGRAM_TOKEN)")
