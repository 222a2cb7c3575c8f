"""Reconciliation on instaloader: the comments on our accounts' recent posts that Meta's
webhooks never delivered, turned into the very events the webhook stores (same shape, same
key ``msg:instagram:comment:<id>``), so a comment seen both ways is stored once.  No database
here: the driver (``ticketing.entrypoints.instagram_poll``) holds the leader lease, the
high-water mark and the inbox.

Since late 2024 Instagram often answers ``401 Please wait a few minutes`` or ``429`` (instaloader
issue #2511).  The loader built here never sleeps on a 429 and never retries: the error comes
straight back (``throttled``) and the driver backs off for the next pass.  instaloader needs a
logged-in session for comments; it is read from ``{session_dir}/session-{login}`` (made once
with ``instaloader --login LOGIN --sessionfile ...``), under ``var/``.

Ids: a comment's id is Instagram's own (the Graph API's comment id is the same number), so the
key matches the webhook's.  A commenter's id here is their Instagram user id (pk) and a post's
its media pk and shortcode, where Meta's webhooks give an Instagram-scoped id (IGSID) and the
Graph API's media id: the driver asks the Graph API for Meta's ids of the new comments
(``graph_lookup.GraphLookup.comments``) and the event is built with those, keeping the pk,
media pk and shortcode beside them (``from.pk``, ``media.pk``, ``media.shortcode``), so a
commenter is one customer and a post one cluster whichever way their comments came.  Without an
access token (or for a comment Meta no longer returns) the commenter stays ``pk:<pk>`` — a
separate id space that never collides with an IGSID — and the post ``media:<media pk>``: such
a citizen may be two customers until staff merge them.  Usernames are never used to join them:
one can change hands.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from instaloader import Instaloader, Post, Profile
from instaloader.exceptions import TooManyRequestsException
from instaloader.instaloadercontext import InstaloaderContext, RateController

from channels.instagram.events import CONTENT_TYPE, envelope, event_key
from channels.instagram.graph_lookup import MetaComment
from ticketing.domain.raw import RawDelivery

# An account's recent posts, newest first (instaloader's ``Profile.get_posts()``).
PostsOf = Callable[[str], Iterable[Post]]


@dataclass(frozen=True, slots=True, kw_only=True)
class FoundComment:
    account: str
    owner_id: str  # the post's owner: our account
    media_id: str
    shortcode: str
    comment_id: str
    parent_id: str | None
    author_id: str
    author_username: str | None
    text: str
    created_at: dt.datetime


def _utc(naive: dt.datetime) -> dt.datetime:
    return naive.replace(tzinfo=dt.UTC) if naive.tzinfo is None else naive.astimezone(dt.UTC)


def _author(owner: Any) -> tuple[str, str | None]:
    node = getattr(owner, "_node", {})
    username = node.get("username") if isinstance(node, dict) else None
    return str(owner.userid), str(username).lower() if username else None


def comments_since(account: str, posts: Iterable[Post], since: dt.datetime | None, *,
                   max_posts: int) -> Iterator[FoundComment]:
    """Comments (and their answers) written after ``since`` on the ``max_posts`` most recent
    posts.  Lazy: instaloader's errors surface while this is iterated."""
    for n, post in enumerate(posts):
        if n >= max_posts:
            return
        owner = str(post.owner_id)
        for comment in post.get_comments():
            yield from _found(account, owner, post, comment, None, since)
            for answer in comment.answers:
                yield from _found(account, owner, post, answer, str(comment.id), since)


def _found(account: str, owner: str, post: Post, item: Any, parent: str | None,
           since: dt.datetime | None) -> Iterator[FoundComment]:
    created = _utc(item.created_at_utc)
    if since is not None and created <= since:
        return
    author_id, username = _author(item.owner)
    yield FoundComment(account=account, owner_id=owner, media_id=str(post.mediaid),
                       shortcode=str(post.shortcode), comment_id=str(item.id),
                       parent_id=parent, author_id=author_id, author_username=username,
                       text=str(item.text or ""), created_at=created)


def as_delivery(found: FoundComment, meta: Mapping[str, Any], *,
                meta_comment: MetaComment | None = None, own_id: str | None = None
                ) -> RawDelivery:
    """The comment as Meta's ``comments`` webhook event would carry it: with Meta's ids when
    the Graph API gave them (``meta_comment``, ``own_id``: our account's id), else instaloader's
    in their own id space (``pk:``); instaloader's ids are kept beside Meta's either way."""
    ours = found.author_id == found.owner_id
    entry_id = own_id if own_id and meta_comment is not None else f"pk:{found.owner_id}"
    if meta_comment is not None:
        author = entry_id if ours else meta_comment.author_id
        username = meta_comment.author_username or found.author_username
        media_id = meta_comment.media_id or f"media:{found.media_id}"
    else:
        author = entry_id if ours else f"pk:{found.author_id}"
        username, media_id = found.author_username, f"media:{found.media_id}"
    value: dict[str, Any] = {
        "id": found.comment_id, "text": found.text,
        "from": {"id": author, "username": username, "pk": found.author_id},
        "media": {"id": media_id, "shortcode": found.shortcode, "pk": found.media_id},
        "timestamp": found.created_at.isoformat()}
    if found.parent_id:
        value["parent_id"] = found.parent_id
    event = {"field": "comments", "value": value}
    entry = {"id": entry_id, "time": int(found.created_at.timestamp())}
    payload = json.dumps(envelope(entry, "changes", event), ensure_ascii=False, sort_keys=True,
                         separators=(",", ":")).encode()
    return RawDelivery(channel="instagram", key=event_key("changes", event, payload),
                       payload=payload, content_type=CONTENT_TYPE, meta=dict(meta))


def throttled(exc: BaseException) -> bool:
    """Instagram asked us to slow down: a 429, or the ``401 ... Please wait a few minutes`` it
    answers instead (instaloader wraps both in ``ConnectionException``)."""
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen)
        if isinstance(seen, TooManyRequestsException) or "429" in text or "401" in text \
                or "Please wait" in text:
            return True
        seen = seen.__cause__
    return False


class NoWaitRateController(RateController):
    """instaloader would sleep for many minutes on a 429 before retrying, inside our worker;
    instead the 429 comes back as an error at once and the poller backs off."""

    def handle_429(self, query_type: str) -> None:
        raise TooManyRequestsException(f"429 Too Many Requests ({query_type}): backing off")


def make_loader(session_dir: str, login: str, *, polite: bool = True) -> Instaloader:
    """instaloader without downloads, retries or 429 sleeps; logged in from the saved session
    file when there is one (comments need it).  ``polite``: instaloader's short random pause
    before each request (what a person's browsing looks like; off only in tests)."""
    loader = Instaloader(sleep=polite, quiet=True, download_pictures=False, download_videos=False,
                         download_video_thumbnails=False, save_metadata=False,
                         max_connection_attempts=1, request_timeout=30.0,
                         rate_controller=NoWaitRateController)
    path = Path(session_dir) / f"session-{login}"
    if login and path.exists():
        loader.load_session_from_file(login, str(path))
    return loader


def profile_posts(context: InstaloaderContext) -> PostsOf:
    def posts(account: str) -> Iterable[Post]:
        result: Iterable[Post] = Profile.from_username(context, account).get_posts()
        return result
    return posts

