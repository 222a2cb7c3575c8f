"""What each channel can do for a reply, declared by the channel (``channels/<name>/``) and
wired by the composition root, and the pure choice of the channels an agent may answer on now.

A channel's differences are data here (can it send, why not, text limit, attachments, reply
window, a call back instead, whether we thread with our own message ids), so the core never
branches on a channel's name.  Pure: the caller passes ``now``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelCapability:
    channel: str
    label: str  # as people read it: "E-mail", "Instagram"
    can_send: bool
    # Why a reply cannot go out on this channel (Indonesian first, then English).
    cannot_send_reason: str | None = None
    max_text: int | None = None  # characters; None: no limit of the channel's own
    attachments: bool = False
    # Replies are allowed this long after the citizen's last message on the channel
    # (Meta: 24 hours); None: any time.
    reply_window: dt.timedelta | None = None
    # Which key of the citizen's sender identity a reply is addressed to ("email", "telegram_id").
    address_key: str | None = None
    # We assign the message id of what we send (an e-mail's Message-ID), stored on the message,
    # so that the citizen's answer threads back to the ticket by it.
    own_message_ids: bool = False
    # No outbound message: the desk calls the citizen back and logs the call instead.
    call_back: bool = False
    # Pacing the provider demands, enforced by the outbox across every worker: minimum seconds
    # between two sends to one recipient (Telegram: 1 per chat per second) and between any two
    # sends on the channel (Telegram: 30 per second).  None: no pacing.
    pace_per_recipient: float | None = None
    pace_overall: float | None = None
    # The channel's own transport delivers its rows (web chat: the socket the citizen holds
    # open in the web process); the outbox worker leaves them alone.
    live: bool = False


def cannot_send(channel: str, label: str, reason: str, *,
                call_back: bool = False) -> ChannelCapability:
    return ChannelCapability(channel=channel, label=label, can_send=False,
                             cannot_send_reason=reason, call_back=call_back)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelUse:
    """The citizen's latest message on one channel: when, and who it came from."""

    channel: str
    last_message_at: dt.datetime
    sender: Mapping[str, object]
    # The channel said this address cannot be reached any more (why), until the citizen writes
    # from it again.
    unreachable: str | None = None
    # The address is linked to the citizen only by an identifier written in a message, and this
    # ticket holds messages from elsewhere: nothing of it goes there until staff check the link.
    unverified: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyOption:
    channel: str
    label: str
    possible: bool
    reason: str | None = None
    call_back: bool = False
    default: bool = False
    # The channel carries files with a reply (the capability's ``attachments``).
    attachments: bool = False


def _unknown(channel: str) -> ChannelCapability:
    return cannot_send(channel, channel, "kanal ini tidak dikenal; tidak ada pengirim "
                       "(unknown channel: no sender)")


def option_for(capability: ChannelCapability, use: ChannelUse | None,
               now: dt.datetime) -> ReplyOption:
    label = capability.label
    if not capability.can_send:
        reason = capability.cannot_send_reason or "tidak bisa mengirim (cannot send)"
        return ReplyOption(channel=capability.channel, label=label, possible=False,
                           reason=reason, call_back=capability.call_back)
    if use is None:
        return ReplyOption(channel=capability.channel, label=label, possible=False,
                           reason="warga belum pernah menulis lewat kanal ini (the citizen has "
                                  "not written on this channel)")
    if capability.address_key and not use.sender.get(capability.address_key):
        return ReplyOption(channel=capability.channel, label=label, possible=False,
                           reason=f"alamat {label} warga tidak diketahui (no {label} address "
                                  "for the citizen)")
    if use.unreachable is not None:
        return ReplyOption(channel=capability.channel, label=label, possible=False,
                           reason=f"warga tidak bisa dihubungi lewat {label} ({use.unreachable}) "
                                  f"sampai mereka menulis lagi dari sana (the citizen cannot be "
                                  f"reached on {label} until they write from it again)")
    if use.unverified:
        return ReplyOption(channel=capability.channel, label=label, possible=False,
                           reason=f"alamat {label} ini terhubung ke warga hanya lewat NIK/nomor "
                                  "yang ditulis di pesan dan belum diverifikasi; tiket ini memuat "
                                  "pesan dari alamat lain (linked only by an identifier written "
                                  "in a message, not verified: this ticket holds messages from "
                                  "other addresses)")
    window = capability.reply_window
    if window is not None and now - use.last_message_at > window:
        hours = int(window.total_seconds() // 3600)
        return ReplyOption(channel=capability.channel, label=label, possible=False,
                           reason=f"lebih dari {hours} jam sejak pesan terakhir warga (more "
                                  f"than {hours} hours since the citizen's last message)")
    return ReplyOption(channel=capability.channel, label=label, possible=True,
                       attachments=capability.attachments)


def reply_options(capabilities: Mapping[str, ChannelCapability], uses: Iterable[ChannelUse],
                  now: dt.datetime, *, default: str | None) -> list[ReplyOption]:
    """One option per channel the citizen has written on (latest first), possible or not with
    the reason; ``default`` (the channel of the citizen's last message) is marked when it is
    possible."""
    out = []
    for use in sorted(uses, key=lambda u: u.last_message_at, reverse=True):
        capability = capabilities.get(use.channel) or _unknown(use.channel)
        option = option_for(capability, use, now)
        if option.possible and use.channel == default:
            option = ReplyOption(channel=option.channel, label=option.label, possible=True,
                                 default=True, attachments=option.attachments)
        out.append(option)
    return out


def refusal(option: ReplyOption, options: Iterable[ReplyOption]) -> str:
    """A readable reason for refusing a reply on ``option``, naming the other ways to reach the
    citizen: "Instagram: lebih dari 24 jam ...; warga juga menulis lewat E-mail"."""
    others = [o.label for o in options if o.possible and o.channel != option.channel]
    call_back = [o.label for o in options if o.call_back and o.channel != option.channel]
    text = f"{option.label}: {option.reason or 'tidak bisa mengirim'}"
    if others:
        text += f"; warga juga menulis lewat {', '.join(others)} (also reachable by " \
                f"{', '.join(others)})"
    elif option.call_back or call_back:
        text += "; catat telepon balik (log a call back)"
    return text


# Messages posted to ``/api/v1/inbound`` come from another system, not from a channel we can
# answer on: no return path.
API = cannot_send("api", "API", "pesan dari API tidak punya jalur balasan (messages posted to "
                  "the API have no return path)")
