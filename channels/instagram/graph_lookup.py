"""What Meta's Graph API says about objects the webhook named only by id, or the poller found
through instaloader under other ids.  Blocking, for the worker (never in a request or a parser).

* **Comments the poller found** (``comments``): instaloader knows a commenter by their Instagram
  user id (pk) and a post by its media pk and shortcode; Meta's webhooks know the same commenter
  by an Instagram-scoped id (IGSID) and the post by the Graph API's media id.  The comment id is
  the same number both ways, and the IG Comment's ``from`` (IGSID and username) and ``media``
  (id) fields give Meta's ids for it (IG Comment reference,
  https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment;
  ``from`` since the 2021-10-20 out-of-cycle change).  Read 50 at a time with the Graph API's
  multiple-id read (``GET /?ids=a,b,...&fields=...``), so a poller pass costs one request per 50
  new comments, not one each.
* **Mentions** (``mention_text``): the ``mentions`` webhook carries only a comment id and a media
  id; the text is read through the account's ``mentioned_comment`` / ``mentioned_media`` fields
  (Instagram Mentions API: ``GET /{ig-user-id}?fields=mentioned_comment.comment_id(ID){...}``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from channels.instagram.graph_reader import GraphReader
from ticketing.domain.errors import RecipientRejected

BATCH = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class MetaComment:
    comment_id: str
    author_id: str  # the Instagram-scoped id (IGSID) the webhooks use
    author_username: str | None
    media_id: str | None  # the Graph API's media id


class GraphLookup(GraphReader):
    def comments(self, ids: Sequence[str]) -> dict[str, MetaComment]:
        """Meta's ids for these comments; one missing from the answer (deleted, hidden) is
        left out."""
        out: dict[str, MetaComment] = {}
        for start in range(0, len(ids), BATCH):
            chunk = list(dict.fromkeys(ids[start:start + BATCH]))
            data = self._get(f"{self.root}/", {"ids": ",".join(chunk),
                                               "fields": "id,from,media"})
            for cid in chunk:
                item = data.get(cid)
                if not isinstance(item, dict):
                    continue
                author, media = item.get("from"), item.get("media")
                if not isinstance(author, dict) or not author.get("id"):
                    continue
                media = media if isinstance(media, dict) else {}
                out[cid] = MetaComment(comment_id=cid, author_id=str(author["id"]),
                                       author_username=str(author["username"]).lower()
                                       if author.get("username") else None,
                                       media_id=str(media["id"]) if media.get("id") else None)
        return out

    def mention_text(self, comment_id: str | None, media_id: str | None) -> dict[str, Any]:
        """The mentioning comment (its text, author's username, time, post link) or, for a
        caption mention, the media's caption.  ``RecipientRejected`` when Meta no longer has it."""
        if comment_id:
            field = (f"mentioned_comment.comment_id({comment_id})"
                     "{id,text,timestamp,username,media{id,permalink}}")
            key = "mentioned_comment"
        elif media_id:
            field = (f"mentioned_media.media_id({media_id})"
                     "{id,caption,timestamp,username,permalink}")
            key = "mentioned_media"
        else:
            raise RecipientRejected("a mention without a comment or media id")
        found = self._get(f"{self.root}/{self.account}", {"fields": field}).get(key)
        if not isinstance(found, dict):
            raise RecipientRejected(f"Meta has no {key} {comment_id or media_id}")
        return found
