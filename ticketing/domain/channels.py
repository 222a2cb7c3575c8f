"""What each channel can do for a reply, declared by the channel (``channels/<name>/``) and
wired by the composition root, and the pure choice of the channels an agent may answer on now.

A channel's differences are data here (can it send, why not, text limit, attachments, reply
window, a call back instead, whether we thread with our own message ids), so the core never
branches on a channel's name.  Pure: the caller passes ``now``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace


@dataclass(frozen=True, slots=True, kw_only=True)
class KindWindow:
    """How long after the citizen's message of one kind (an Instagram comment) a reply to *that
    message* may go, counted from it: privately (to the citizen alone) and publicly (where
    everyone reads it); None: any time.  ``public_reply``: the channel has such a public place.
    It replaces the channel's ``reply_window`` when the reply answers a message of this kind."""

    label: str  # the kind as people read it, Indonesian then English: "komentar (comment)"
    private: dt.timedelta | None
    public: dt.timedelta | None = None
    public_reply: bool = False
    # The provider allows one private reply per message of this kind (Instagram: one per comment)
    private_once: bool = False
    # What else the provider limits, said in the reply box ("satu balasan pribadi per komentar")
    remark: str | None = None


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
    # Other windows for replies that answer a message of a given kind (``ChannelUse.kind``):
    # Instagram answers a comment by a private reply within 7 days or a public one any time.
    kind_windows: Mapping[str, KindWindow] = field(default_factory=dict)


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
    # The citizen's message a reply on this channel answers (the ticket's latest from them
    # there): its kind on the channel ("comment", "dm") and when it was written.
    kind: str | None = None
    kind_at: dt.datetime | None = None
    # The desk has already answered that message privately (see ``KindWindow.private_once``).
    answered_privately: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyOption:
    channel: str
    label: str
    possible: bool
    reason: str | None = None
    call_back: bool = False
    default: bool = False
    private: bool = True  # a reply to the citizen alone can go now
    public: bool = False  # a public reply (where everyone reads it) can go now
    # What the reply box explains about this channel's windows now (kind windows).
    note: str | None = None
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
    kind = capability.kind_windows.get(use.kind) if use.kind else None
    if kind is not None:
        return _kind_option(capability, kind, use.kind_at or use.last_message_at, now,
                            answered=use.answered_privately)
    window = capability.reply_window
    if window is not None and now - use.last_message_at > window:
        hours = int(window.total_seconds() // 3600)
        return ReplyOption(channel=capability.channel, label=label, possible=False,
                           reason=f"lebih dari {hours} jam sejak pesan terakhir warga (more "
                                  f"than {hours} hours since the citizen's last message)")
    return ReplyOption(channel=capability.channel, label=label, possible=True,
                       attachments=capability.attachments)


def _dur(span: dt.timedelta) -> tuple[str, str]:
    """A span as people say it, Indonesian and English: ("7 hari", "7 days")."""
    if span >= dt.timedelta(days=1):
        return f"{span.days} hari", f"{span.days} days"
    hours = max(1, int(span.total_seconds() // 3600))
    return f"{hours} jam", f"{hours} hours"


def _kind_option(capability: ChannelCapability, kind: KindWindow, at: dt.datetime,
                 now: dt.datetime, *, answered: bool = False) -> ReplyOption:
    """A reply that answers a message of a kind with its own windows (an Instagram comment):
    possible while a private or a public reply is, with a note saying which and until when."""
    since = now - at
    private = kind.private is None or since <= kind.private
    public = kind.public_reply and (kind.public is None or since <= kind.public)
    ids, ens = [], []
    if kind.private is None:
        ids.append("balasan pribadi kapan saja")
        ens.append("a private reply any time")
    elif private:
        left, span = _dur(kind.private - since), _dur(kind.private)
        ids.append(f"balasan pribadi masih bisa {left[0]} lagi (batas {span[0]})")
        ens.append(f"a private reply is possible for {left[1]} more ({span[1]} at most)")
    else:
        span = _dur(kind.private)
        ids.append(f"balasan pribadi tidak bisa lagi, sudah lebih dari {span[0]}")
        ens.append(f"a private reply is no longer possible after {span[1]}")
    if private and answered and kind.private_once:
        private = False
        ids[-1] = "balasan pribadi sudah dikirim sekali; hanya satu yang diizinkan"
        ens[-1] = "a private reply was already sent; only one is allowed"
    if kind.public_reply and kind.public is None:
        ids.append("balasan publik kapan saja, tanpa data pribadi")
        ens.append("a public reply any time, without personal data")
    elif kind.public_reply and kind.public is not None:
        span = _dur(kind.public)
        ids.append(f"balasan publik sampai {span[0]}" if public else
                   f"balasan publik tidak bisa lagi, sudah lebih dari {span[0]}")
        ens.append(f"a public reply within {span[1]}")
    if kind.remark:
        ids.append(kind.remark)
    note = f"Membalas {kind.label}: {'; '.join(ids)} ({'; '.join(ens)})"
    if not private and not public:
        return ReplyOption(channel=capability.channel, label=capability.label, possible=False,
                           reason=note, private=False, note=note)
    return ReplyOption(channel=capability.channel, label=capability.label, possible=True,
                       private=private, public=public, note=note)


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
            option = replace(option, default=True)
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
