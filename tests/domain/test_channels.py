"""The pure choice of reply channels from the channels' declared capabilities."""

from __future__ import annotations

import datetime as dt

from channels.email.capability import CAPABILITY as EMAIL
from channels.pending import PENDING
from channels.phone.capability import CAPABILITY as PHONE
from channels.telegram.capability import OFF as TELEGRAM_OFF
from ticketing.domain.channels import (API, ChannelCapability, ChannelUse, refusal,
                                       reply_options)

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
# What a Meta channel will declare: replies within 24 hours of the citizen's last message.
META = ChannelCapability(channel="instagram", label="Instagram", can_send=True,
                         max_text=1000, reply_window=dt.timedelta(hours=24),
                         address_key="instagram_id")
TABLE = {c.channel: c for c in (EMAIL, PHONE, *PENDING, TELEGRAM_OFF, API)}


def use(channel: str, hours_ago: float, **sender: str) -> ChannelUse:
    return ChannelUse(channel=channel, last_message_at=NOW - dt.timedelta(hours=hours_ago),
                      sender=sender)


def test_a_closed_reply_window_is_refused_naming_the_citizens_other_channel() -> None:
    table = {**TABLE, "instagram": META}
    options = reply_options(table, [use("email", 30, email="a@example.id"),
                                    use("instagram", 25, instagram_id="17")], NOW,
                            default="instagram")
    assert [(o.channel, o.possible, o.default) for o in options] == [
        ("instagram", False, False), ("email", True, False)]
    text = refusal(options[0], options)
    assert text.startswith("Instagram: lebih dari 24 jam sejak pesan terakhir warga")
    assert "warga juga menulis lewat E-mail" in text
    inside = reply_options(table, [use("instagram", 23, instagram_id="17")], NOW,
                           default="instagram")
    assert [(o.possible, o.default) for o in inside] == [(True, True)]


def test_channels_that_cannot_send_say_why_and_phone_offers_a_call_back() -> None:
    options = reply_options(TABLE, [use("phone", 1, phone="+6281234567890"),
                                    use("telegram", 2, telegram_id="5"), use("api", 3),
                                    use("fax", 4)], NOW, default="phone")
    assert [(o.channel, o.possible, o.call_back) for o in options] == [
        ("phone", False, True), ("telegram", False, False), ("api", False, False),
        ("fax", False, False)]
    assert all(o.reason for o in options)
    assert "TICKETING_TELEGRAM_TOKEN" in (options[1].reason or "")
    assert refusal(options[0], options).endswith("catat telepon balik (log a call back)")


def test_an_email_reply_needs_the_citizens_address() -> None:
    [option] = reply_options(TABLE, [use("email", 1, phone="+6281234567890")], NOW,
                             default="email")
    assert not option.possible and "alamat E-mail" in (option.reason or "")
    assert EMAIL.own_message_ids and EMAIL.reply_window is None
