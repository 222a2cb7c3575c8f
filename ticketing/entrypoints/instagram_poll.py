"""The Instagram reconciliation poller (a driver): every ``TICKETING_INSTAGRAM_POLL_SECONDS``
the worker that holds the ``instagram-reconcile`` lease reads the recent posts of
``TICKETING_INSTAGRAM_ACCOUNTS`` through instaloader and stores the comments the webhooks
missed, in the inbox under the webhook's own keys (nothing twice), with the account's new
high-water mark in the same transaction (``store.cursors``): a crash replays into the keys.

Throttling (429, ``401 Please wait a few minutes``) or any other failure never crashes the
worker: what was found before it is kept, the high-water mark stays where it was, and the next
pass waits (exponential, capped), recorded in the cursor so every worker host honours it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any

from channels.instagram.conversations import GraphConversations
from channels.instagram.graph_lookup import GraphLookup, MetaComment
from channels.instagram.reconcile import (PostsOf, as_delivery, comments_since, make_loader,
                                          profile_posts, throttled)
from ticketing.app import App
from ticketing.domain.raw import message_key
from ticketing.services.leader import Leader
from ticketing.store import cursors
from ticketing.store import inbox as inbox_store

log = logging.getLogger(__name__)

NAME = "instagram-reconcile"
DM_NAME = "instagram-dm-reconcile"
# Comments a little older than the mark are read again (clock skew, late indexing by
# Instagram); their keys make that harmless.
OVERLAP = dt.timedelta(minutes=10)
THROTTLE_BACKOFF = dt.timedelta(minutes=10)
ERROR_BACKOFF = dt.timedelta(minutes=2)
MAX_BACKOFF = dt.timedelta(hours=6)
KEY_CHUNK = 500


@dataclass(slots=True)
class PassResult:
    ran: bool = False  # False: not the leader, or still backing off
    found: int = 0
    stored: int = 0
    known: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    backoff_until: dt.datetime | None = None


def _when(text: object) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if isinstance(text, str) and text else None


def reconcile_once(app: App, posts_of: PostsOf, *, leader: Leader | None = None,
                   graph: GraphLookup | None = None) -> PassResult:
    """One pass over every configured account (only by the lease's holder).  With ``graph``,
    the comments not yet in the inbox are rebuilt with Meta's ids for their author and post
    (one Graph API request per 50), so they join the webhook's customer and cluster."""
    result, state, now = _begin(app, NAME, leader)
    if not result.ran:
        return result
    marks: dict[str, Any] = dict(state.get("accounts") or {})
    failed_throttled = failed_other = False
    for account in app.settings.instagram_accounts:
        mark = _when(marks.get(account))
        found = []
        try:
            for comment in comments_since(account, posts_of(account),
                                          mark - OVERLAP if mark else None,
                                          max_posts=app.settings.instagram_max_posts):
                found.append(comment)
        except Exception as exc:  # instaloader's errors: back off, never crash the worker
            result.failures[account] = f"{type(exc).__name__}: {exc}"[:300]
            if throttled(exc):
                failed_throttled = True
            else:
                failed_other = True
                log.warning("instagram reconcile of %s failed: %s", account, exc)
        else:
            newest = max((c.created_at for c in found), default=mark)
            if newest is not None:
                marks[account] = newest.isoformat()
        result.found += len(found)
        meta = {"source": "reconcile", "account": account, "received_at": now.isoformat()}
        fresh = _fresh(app, found)
        ids, own = _meta_ids(graph, fresh)
        deliveries = [as_delivery(c, meta, meta_comment=ids.get(c.comment_id), own_id=own)
                      for c in fresh]
        result.stored += _store(app, deliveries, NAME, {**state, "accounts": marks}, now)
        if failed_throttled:
            break  # Instagram throttles the whole login: the other accounts wait too
    result.known = result.found - result.stored
    failures = int(state.get("failures") or 0)
    if failed_throttled or failed_other:
        base = THROTTLE_BACKOFF if failed_throttled else ERROR_BACKOFF
        result.backoff_until = now + _backoff(base, failures)
        log.warning("instagram reconcile backs off until %s (%s)", result.backoff_until,
                    "; ".join(result.failures.values()))
    _save(app, NAME, {**state, "accounts": marks,
                "failures": failures + 1 if result.backoff_until else 0,
                "backoff_until": result.backoff_until.isoformat()
                if result.backoff_until else None,
                "last_pass_at": now.isoformat()}, now)
    return result


def reconcile_dms_once(app: App, source: GraphConversations, *,
                       leader: Leader | None = None) -> PassResult:
    """One pass over the Graph API's recent conversations (the DMs the webhook missed), by
    the lease's holder; its own mark and back-off in the ``instagram-dm-reconcile`` cursor."""
    result, state, now = _begin(app, DM_NAME, leader)
    if not result.ran:
        return result
    mark = _when(state.get("mark"))
    failures = int(state.get("failures") or 0)
    meta = {"source": "reconcile-dm", "received_at": now.isoformat()}
    try:
        found = source.since(mark - OVERLAP if mark else None, meta)
    except Exception as exc:  # token, rate limit, Meta down: back off, never crash
        result.failures["conversations"] = f"{type(exc).__name__}: {exc}"[:300]
        result.backoff_until = now + _backoff(ERROR_BACKOFF, failures)
        log.warning("instagram DM reconcile backs off until %s: %s", result.backoff_until, exc)
        _save(app, DM_NAME, {**state, "failures": failures + 1,
                                "backoff_until": result.backoff_until.isoformat()}, now)
        return result
    newest = max((when for when, _ in found), default=mark)
    value = {**state, "mark": newest.isoformat() if newest else None, "failures": 0,
             "backoff_until": None, "last_pass_at": now.isoformat()}
    result.found = len(found)
    result.stored = _store(app, [d for _, d in found], DM_NAME, value, now)
    result.known = result.found - result.stored
    return result


def _fresh(app: App, found: list[Any]) -> list[Any]:
    """The comments whose key is not in the inbox yet (the webhook or an earlier pass stored
    the others): one read per 500 keys."""
    keys = [message_key("instagram", f"comment:{c.comment_id}") for c in found]
    known: set[str] = set()
    with app.uow.read() as conn:
        for start in range(0, len(keys), KEY_CHUNK):
            known.update(inbox_store.stored_keys(conn, keys[start:start + KEY_CHUNK]))
    return [c for c, key in zip(found, keys, strict=True) if key not in known]


def _meta_ids(graph: GraphLookup | None, fresh: list[Any]
              ) -> tuple[dict[str, MetaComment], str | None]:
    """Meta's ids for the new comments and our account's, or nothing (no token, Meta down:
    the comments keep instaloader's ids, in their own ``pk:`` space, and say so in the log)."""
    if graph is None or not fresh:
        return {}, None
    try:
        return graph.comments([c.comment_id for c in fresh]), graph.own_id()
    except Exception as exc:
        log.warning("instagram reconcile: Meta's ids for %d comments not read (%s); they keep "
                    "instaloader's", len(fresh), exc)
        return {}, None


def _begin(app: App, name: str,
           leader: Leader | None) -> tuple[PassResult, dict[str, Any], dt.datetime]:
    """A pass's start: only the lease's holder runs, and not before its back-off ends
    (``result.ran`` says whether to go on); the poller's cursor as it is now."""
    result = PassResult()
    now = app.clock.now()
    if leader is not None and not leader.hold():
        return result, {}, now
    with app.uow.read() as conn:
        state: dict[str, Any] = cursors.get(conn, name) or {}
    until = _when(state.get("backoff_until"))
    if until is not None and now < until:
        result.backoff_until = until
        return result, state, now
    result.ran = True
    return result, state, now


def _backoff(base: dt.timedelta, failures: int) -> dt.timedelta:
    return min(base * (1 << min(failures, 10)), MAX_BACKOFF)


def _store(app: App, deliveries: list[Any], name: str, value: dict[str, Any],
           now: dt.datetime) -> int:
    """The new items and the poller's cursor ``value``, in one transaction; keys already in the
    inbox (delivered by the webhook) are skipped without writing."""
    stored = 0
    with app.uow.write() as conn:
        for start in range(0, len(deliveries), KEY_CHUNK):
            chunk = deliveries[start:start + KEY_CHUNK]
            known = set(inbox_store.stored_keys(conn, [d.key for d in chunk]))
            fresh = [d for d in chunk if d.key not in known]
            if fresh:
                stored += sum(s.inserted for s in inbox_store.put_many(conn, fresh, now))
        cursors.put(conn, name, value, now)
    return stored


def _save(app: App, name: str, value: dict[str, Any], now: dt.datetime) -> None:
    with app.uow.write() as conn:
        cursors.put(conn, name, value, now)


def poll_forever(app: App, stop: threading.Event, posts_of: PostsOf | None = None,
                 conversations: GraphConversations | None = None,
                 graph: GraphLookup | None = None) -> None:
    """The worker's poller thread: every ``instagram_poll_seconds``, while this process holds
    the leases (their time to live outlasts a slow pass), the comments of
    ``instagram_accounts`` (instaloader, with a saved session) and, with
    ``instagram_reconcile_dms`` and an access token, the recent DMs (Graph API)."""
    s = app.settings
    if posts_of is None and s.instagram_accounts:
        session = Path(s.instagram_session_dir) / f"session-{s.instagram_login}"
        if s.instagram_login and session.exists():
            posts_of = profile_posts(make_loader(s.instagram_session_dir,
                                                 s.instagram_login).context)
        else:
            log.warning("instagram comment reconcile is off: comments need a logged-in "
                        "session; save one with `instaloader --login LOGIN --sessionfile %s` "
                        "and set TICKETING_INSTAGRAM_LOGIN", session)
    if conversations is None and s.instagram_reconcile_dms and s.meta_access_token:
        conversations = GraphConversations(graph_url=s.meta_graph_url,
                                           access_token=s.meta_access_token,
                                           account_id=s.instagram_account_id)
    if posts_of is None and conversations is None:
        return
    if graph is None and s.meta_access_token:
        graph = GraphLookup(graph_url=s.meta_graph_url, access_token=s.meta_access_token,
                            account_id=s.instagram_account_id)
    ttl = dt.timedelta(seconds=max(2 * s.instagram_poll_seconds, 600))
    leaders = [Leader(app.uow, name, None, app.clock, ttl=ttl) for name in (NAME, DM_NAME)]
    while not stop.is_set():
        try:
            if posts_of is not None:
                reconcile_once(app, posts_of, leader=leaders[0], graph=graph)
            if conversations is not None:
                reconcile_dms_once(app, conversations, leader=leaders[1])
        except Exception:  # a database blip: try again next time
            log.exception("instagram reconcile pass failed")
        stop.wait(s.instagram_poll_seconds)
    for leader in leaders:
        try:
            leader.release()
        except Exception:
            log.warning("instagram reconcile lease not released", exc_info=True)
