"""Parser: one Meta Instagram webhook event (``events.split`` stored it in Meta's own shape) →
``InboundMessage`` or ``Ignored``; ``MalformedPayload`` for anything else (quarantined with its
reason).  Pure: no clock, no socket, no database.

Kinds, as Meta documents them (Instagram Messaging and the Instagram Platform webhooks):

* ``messaging`` / ``standby`` with ``message``: a direct message (text, attachments, a reply
  to a story, a story mention, a share); ``is_echo`` is our own send (Meta echoes what the
  account sent: ``from_desk``, to the recipient; never a citizen's message); ``is_deleted`` takes the message back
  (a ``Revision``: the stored one is marked, its text kept); ``is_unsupported`` is kept as a
  note; ``message_edit`` changes it;
* ``reaction``, ``read``, ``referral``: recorded (the inbox keeps them), no ticket;
* ``postback`` (an ice-breaker or button): the citizen's choice, as a message;
* ``changes`` ``comments`` / ``live_comments``: a comment on one of our posts (grouped by post:
  ``extra["instagram_media"]``); ``mentions``: our account named in a comment or caption elsewhere (the
  webhook carries ids only: a message whose text the worker reads through the Graph API, like
  an attachment: ``Attachment.as_body``); ``messages``: the App Dashboard's test shape of a DM;
* an entry whose ``id`` is ``"0"``: the App Dashboard's "Test" button, recorded, no ticket.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from ticketing.domain.errors import MalformedPayload
from ticketing.domain.message import (MAX_BODY_CHARS, Attachment, Channel, Ignored,
                                      InboundMessage, Revision, RevisionKind, Sender, ThreadRef)

_CONTENT_TYPES = {"image": "image/jpeg", "video": "video/mp4", "audio": "audio/mp4",
                  "file": "application/octet-stream"}
# Attachments that are a link to something on Instagram, not a file we keep.
_LINKS = {"share": "dibagikan", "story_mention": "menyebut akun kita di story",
          "ig_reel": "reel", "reel": "reel", "ig_post": "postingan", "fallback": "tautan"}


def comment_id(raw: object) -> str:
    return f"comment:{raw}"


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: object, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
        raise MalformedPayload(f"{what} is missing or not a string")
    text = str(value)
    if len(text) > 500:
        raise MalformedPayload(f"{what} is longer than 500 characters")
    return text


def _text(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedPayload("text must be a string")
    if len(value) > MAX_BODY_CHARS:
        raise MalformedPayload(f"text is longer than {MAX_BODY_CHARS} characters")
    return value.replace("\x00", "\ufffd")


def _when(value: object) -> dt.datetime:
    """Meta's times: milliseconds in ``messaging``, seconds in ``entry.time`` of ``changes``,
    an ISO string in the Graph API's comment objects."""
    if isinstance(value, str) and not value.isdigit():
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("+0000",
                                                                                  "+00:00"))
        except ValueError as exc:
            raise MalformedPayload(f"timestamp is not a time: {value[:40]!r}") from exc
        return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    if isinstance(value, str):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise MalformedPayload("timestamp is missing")
    seconds = value / 1000 if value > 10**11 else value
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise MalformedPayload(f"timestamp out of range: {value}") from exc


def _one_event(data: Any) -> tuple[dict[str, Any], str, dict[str, Any]]:
    if not isinstance(data, dict) or data.get("object") not in ("instagram", "page"):
        raise MalformedPayload("not an Instagram webhook (object must be \"instagram\")")
    entries = data.get("entry")
    if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], dict):
        raise MalformedPayload("expected one entry per stored event")
    entry = entries[0]
    for kind in ("messaging", "standby", "changes"):
        events = entry.get(kind)
        if isinstance(events, list):
            if len(events) != 1 or not isinstance(events[0], dict):
                raise MalformedPayload(f"expected one {kind} event per stored event")
            return entry, kind, events[0]
    raise MalformedPayload("the entry has no messaging, standby or changes event")


def parse_event(payload: bytes, meta: Mapping[str, Any]) -> InboundMessage | Ignored:
    try:
        data = json.loads(payload)
    except UnicodeDecodeError as exc:
        raise MalformedPayload(f"not valid UTF-8 at byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise MalformedPayload(f"not valid JSON: {exc.msg} at column {exc.colno}") from exc
    entry, kind, event = _one_event(data)
    if str(entry.get("id")) == "0":
        return Ignored(reason="test event from the Meta App Dashboard")
    if kind == "changes":
        return _change(entry, event)
    return _messaging(event, standby=kind == "standby")


# ---------------------------------------------------------------- direct messages


def _messaging(event: dict[str, Any], *, standby: bool) -> InboundMessage | Ignored:
    sender = _obj(event.get("sender"))
    for known, reason in (("reaction", "reaction"), ("read", "read receipt"),
                          ("referral", "referral (ig.me link)"), ("optin", "opt-in")):
        value = event.get(known)
        if isinstance(value, dict):
            what = value.get("emoji") or value.get("reaction") or ""
            return Ignored(reason=f"{reason} {value.get('action', '')} {what} "
                                  f"(message {value.get('mid', '-')})".replace("  ", " ")[:200])
    if isinstance(event.get("message_edit"), dict):
        return _edit(event, sender)
    if isinstance(event.get("postback"), dict):
        return _postback(event, sender)
    message = event.get("message")
    if not isinstance(message, dict):
        raise MalformedPayload("a messaging event without message, postback, reaction or read")
    mid = _str(message.get("mid"), "message.mid")
    echo = bool(message.get("is_echo"))
    if echo and message.get("is_deleted"):
        return Ignored(reason=f"our account took back its message {mid[:60]}")
    # An echo is what our account sent: to the recipient (the citizen), ours, never theirs.
    # The desk's own sends are recognised by their stored mid (the outbox wrote it); one
    # written in the Instagram app is stored as the desk's outbound message
    # (services.ingest.from_desk).
    who = Sender(instagram_id=_str(_obj(event.get("recipient" if echo else "sender")).get("id"),
                                   "recipient.id" if echo else "sender.id"))
    sent_at = _when(event.get("timestamp"))
    if message.get("is_deleted"):
        return InboundMessage(channel=Channel.INSTAGRAM, external_id=f"{mid}#unsend",
                              sent_at=sent_at, sender=who, body="", instagram_kind="dm",
                              revision=Revision(kind=RevisionKind.UNSEND, of=mid))
    body = _text(message.get("text"))
    attachments, notes = _attachments(message.get("attachments"))
    extra: dict[str, Any] = {"instagram_standby": True} if standby else {}
    reply_to = _obj(message.get("reply_to"))
    story = _obj(reply_to.get("story"))
    if story:
        extra["instagram_story"] = {"id": story.get("id"), "url": story.get("url")}
        notes.insert(0, "[membalas story kita]")
    if message.get("is_unsupported"):
        notes.append("[jenis pesan yang tidak didukung Instagram API]")
    if notes:
        extra["instagram_links"] = notes
    in_reply_to = reply_to.get("mid") if isinstance(reply_to.get("mid"), str) else None
    text = "\n".join([body, *notes]).strip() if notes else body
    if echo:
        extra["instagram_echo"] = True
        if attachments:  # ours: the files stay with Meta, only noted
            text = "\n".join([text, *(f"[{a.filename}]" for a in attachments)]).strip()
    return InboundMessage(channel=Channel.INSTAGRAM, external_id=mid, sent_at=sent_at,
                          sender=who, body=text, instagram_kind="dm",
                          thread=ThreadRef(in_reply_to=in_reply_to),
                          attachments=() if echo else tuple(attachments), extra=extra,
                          from_desk=echo)


def _attachments(raw: object) -> tuple[list[Attachment], list[str]]:
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        raise MalformedPayload("message.attachments must be a list")
    files: list[Attachment] = []
    notes: list[str] = []
    for n, item in enumerate(raw[:20]):
        if not isinstance(item, dict):
            raise MalformedPayload("an attachment must be an object")
        kind = str(item.get("type") or "file")
        payload = _obj(item.get("payload"))
        url = payload.get("url")
        if kind in _CONTENT_TYPES and isinstance(url, str) and url.startswith(("https://",
                                                                                "http://")):
            files.append(Attachment(filename=f"instagram-{kind}-{n + 1}",
                                    content_type=_CONTENT_TYPES[kind], size=0,
                                    locator=url[:2000]))
        else:
            label = _LINKS.get(kind, kind)
            notes.append(f"[{label}: {url}]" if isinstance(url, str) else f"[{label}]")
    return files, notes


def _edit(event: dict[str, Any], sender: dict[str, Any]) -> InboundMessage:
    edit = event["message_edit"]
    mid = _str(edit.get("mid"), "message_edit.mid")
    return InboundMessage(channel=Channel.INSTAGRAM,
                          external_id=f"{mid}#edit{edit.get('num_edit', '')}",
                          sent_at=_when(event.get("timestamp")),
                          sender=Sender(instagram_id=_str(sender.get("id"), "sender.id")),
                          body=_text(edit.get("text")), instagram_kind="dm",
                          revision=Revision(kind=RevisionKind.EDIT, of=mid))


def _postback(event: dict[str, Any], sender: dict[str, Any]) -> InboundMessage | Ignored:
    postback = event["postback"]
    mid = postback.get("mid")
    if not isinstance(mid, str):
        return Ignored(reason="postback without a message id")
    title = _text(postback.get("title")) or _text(postback.get("payload"))
    return InboundMessage(channel=Channel.INSTAGRAM, external_id=mid,
                          sent_at=_when(event.get("timestamp")),
                          sender=Sender(instagram_id=_str(sender.get("id"), "sender.id")),
                          body=title, instagram_kind="dm",
                          extra={"instagram_postback": postback.get("payload")})


# ---------------------------------------------------------------- comments and mentions


def _change(entry: dict[str, Any], change: dict[str, Any]) -> InboundMessage | Ignored:
    field = change.get("field")
    value = change.get("value")
    if not isinstance(value, dict):
        raise MalformedPayload("a change without a value object")
    if field == "messages":  # the App Dashboard's sample of a DM uses the changes shape
        return _messaging(value, standby=False)
    if field == "mentions":
        return _mention(entry, value)
    if field not in ("comments", "live_comments"):
        return Ignored(reason=f"webhook field {str(field)[:40]} is not handled")
    cid = _str(value.get("id"), "comment id")
    author = _obj(value.get("from"))
    author_id = _str(author.get("id"), "comment from.id")
    media = _obj(value.get("media"))
    media_id = _str(media.get("id"), "comment media.id")
    username = author.get("username")
    parent = value.get("parent_id")
    in_reply_to = comment_id(parent) if isinstance(parent, (str, int)) and str(parent) else None
    if author_id == str(entry.get("id")):
        # Our account's own comment: a public reply of the desk (already stored under this id:
        # a duplicate) or one written in the Instagram app — the desk's outbound message on the
        # ticket of the comment it answers (services.ingest.from_desk), never a citizen's.
        return InboundMessage(
            channel=Channel.INSTAGRAM, external_id=comment_id(cid),
            sent_at=_when(value.get("timestamp") or entry.get("time")), sender=Sender(),
            body=_text(value.get("text")), instagram_kind="comment", from_desk=True,
            thread=ThreadRef(in_reply_to=in_reply_to),
            extra={"instagram_media": media_id, "instagram_comment": cid, "instagram_public": True})
    extra: dict[str, Any] = {"instagram_media": media_id, "instagram_comment": cid}
    for key in ("media_product_type", "shortcode"):
        if isinstance(media.get(key), str):
            extra[f"instagram_{key}"] = media[key]
    # The poller's comments keep instaloader's ids beside Meta's (reconcile.as_delivery)
    for key, where in (("instagram_user_pk", author), ("instagram_media_pk", media)):
        if isinstance(where.get("pk"), (str, int)):
            extra[key] = str(where["pk"])
    if value.get("ad_id"):
        extra["instagram_ad"] = {"id": value.get("ad_id"), "title": value.get("ad_title")}
    if field == "live_comments":
        extra["instagram_live"] = True
    return InboundMessage(
        channel=Channel.INSTAGRAM, external_id=comment_id(cid),
        sent_at=_when(value.get("timestamp") or entry.get("time")),
        sender=Sender(instagram_id=author_id,
                      instagram_username=str(username)[:100] if isinstance(username, str)
                      else None),
        body=_text(value.get("text")), instagram_kind="comment",
        cluster=f"instagram:media:{media_id}",
        thread=ThreadRef(in_reply_to=in_reply_to), extra=extra)


MENTION_PENDING = ("[menyebut akun kita di Instagram; teks sedang diambil dari Instagram] "
                   "(mentioned our account; its text is being fetched)")


def mention_locator(comment: str | None, media: str | None) -> str:
    """What the Instagram fetcher reads a mention's text by (``fetch.InstagramFetcher``)."""
    return f"graph-mention:{comment or ''}:{media or ''}"


def _mention(entry: dict[str, Any], value: dict[str, Any]) -> InboundMessage:
    """Our account named in someone's comment (``comment_id``) or caption (``media_id`` only).
    Meta's webhook says nothing else — not the text, not who: the message holds a placeholder
    and a reference the worker fetches (the Mentions API), which then becomes its body."""
    comment = value.get("comment_id")
    media = value.get("media_id")
    comment = _str(comment, "mention comment_id") if comment not in (None, "") else None
    media = _str(media, "mention media_id") if media not in (None, "") else None
    if comment is None and media is None:
        raise MalformedPayload("a mention without comment_id or media_id")
    return InboundMessage(
        channel=Channel.INSTAGRAM,
        external_id=f"mention:{comment}" if comment else f"mention:media:{media}",
        sent_at=_when(entry.get("time")), sender=Sender(), body=MENTION_PENDING,
        instagram_kind="comment",
        attachments=(Attachment(filename="instagram-mention.txt", content_type="text/plain",
                                size=0, locator=mention_locator(comment, media), as_body=True),),
        extra={"instagram_mention": {"comment_id": comment, "media_id": media}})
