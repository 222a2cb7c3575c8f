"""The reconciliation poller over instaloader structures loaded from stored JSON, with the
network blocked (every request instaloader makes is answered here, or fails the test): what the
webhook missed is stored once, a restart resumes from the high-water mark without duplicates,
one leader polls, and Instagram's 429 / "401 Please wait a few minutes" back off without a crash.
SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import dataclasses
import json
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from instaloader import Instaloader, Post
from instaloader.structures import load_structure

from channels.instagram.events import split
from channels.instagram.reconcile import make_loader, profile_posts
from ticketing.app import App
from ticketing.entrypoints.instagram_poll import (NAME, THROTTLE_BACKOFF, poll_forever,
                                                  reconcile_once)
from ticketing.entrypoints.worker import drain
from ticketing.services.leader import Leader
from ticketing.store import cursors, leases, tables
from ticketing.store import inbox as inbox_store

FIXTURES = Path(__file__).parent / "fixtures"
STORED = [json.loads((FIXTURES / "instaloader" / n).read_text())
          for n in ("post_pencairan.json", "post_pelatihan.json")]


class Network:
    """Every HTTP request of ``requests`` (instaloader's client): recorded and answered with
    ``status`` (a real ``Response``, so instaloader's own error handling runs), or refused."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.status: int | None = None
        self.body = b"{}"

    def send(self, adapter: Any, request: requests.PreparedRequest, **_: Any) -> Any:
        self.urls.append(str(request.url))
        if self.status is None:
            raise AssertionError(f"network blocked: {request.url}")
        response = requests.Response()
        response.status_code, response._content = self.status, self.body
        response.url, response.request = str(request.url), request
        response.headers["content-type"] = "application/json"
        return response


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> Network:
    net = Network()
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send",
                        lambda adapter, request, **kw: net.send(adapter, request, **kw))
    return net


@pytest.fixture
def loader(network: Network) -> Instaloader:
    loaded = Instaloader(quiet=True)
    loaded.context.load_session("desk.prakerja", {"csrftoken": "t", "sessionid": "s"})
    return loaded


def stored_posts(loader: Instaloader, extra_comment: dict[str, Any] | None = None
                 ) -> Iterable[Post]:
    structures = copy.deepcopy(STORED)
    if extra_comment is not None:
        node = structures[0]["node"]
        node["edge_media_to_parent_comment"]["edges"].append({"node": extra_comment})
        node["edge_media_to_parent_comment"]["count"] += 1
        node["edge_media_to_comment"]["count"] += 1
    return [load_structure(loader.context, s) for s in structures]


def accounts(app: App) -> App:
    return App(settings=dataclasses.replace(app.settings, instagram_accounts=("prakerja",)),
               clock=app.clock)


@pytest.fixture
def poll_app(ig_app: App) -> Iterator[App]:
    core = accounts(ig_app)
    yield core
    core.close()


def comment_messages(app: App) -> list[str]:
    m = tables.messages
    with app.engine.connect() as conn:
        return sorted(conn.execute(sa.select(m.c.external_id).where(
            m.c.channel == "instagram")).scalars())


def test_missed_comments_are_stored_once_and_a_restart_resumes_without_duplicates(
        poll_app: App, loader: Instaloader, network: Network) -> None:
    webhook = split((FIXTURES / "comment.json").read_bytes(), {"source": "webhook"})
    with poll_app.uow.write() as conn:
        inbox_store.put_many(conn, webhook, poll_app.clock.now())
    poll_app.clock.advance(hours=2)  # type: ignore[attr-defined]
    first = reconcile_once(poll_app, lambda _: stored_posts(loader))
    # 4 comments on 2 posts, one of them ours; the webhook had delivered one already
    assert (first.ran, first.found, first.stored, first.known) == (True, 4, 3, 1)
    drain(poll_app)
    # ours (answered in the Instagram app) is the desk's reply on the citizen's ticket
    assert comment_messages(poll_app) == ["comment:17865799348089039",
                                          "comment:17865799348089042",
                                          "comment:17865799348089043",
                                          "comment:17865799348089050"]
    with poll_app.engine.connect() as conn:
        mark = (cursors.get(conn, NAME) or {})["accounts"]["prakerja"]
    assert mark.startswith("2026-03-02T09:18:20")

    restarted = accounts(poll_app)  # a new process over the same database
    try:
        late = {"id": "17865799348089044", "created_at": 1772446000, "text": "Sama, belum cair",
                "owner": {"id": "777004", "username": "rina"}, "edge_liked_by": {"count": 0},
                "edge_threaded_comments": {"count": 0, "edges": []}}
        again = reconcile_once(restarted, lambda _: stored_posts(loader, late))
        # Re-read: what is newer than the mark less ten minutes' overlap; stored: the new one
        assert (again.found, again.stored, again.known) == (5, 1, 4)
        drain(restarted)
        assert len(comment_messages(restarted)) == 5
        assert reconcile_once(restarted, lambda _: stored_posts(loader, late)).stored == 0
    finally:
        restarted.close()
    assert network.urls == []


def test_only_the_lease_holder_polls(poll_app: App, loader: Instaloader) -> None:
    other = Leader(poll_app.uow, NAME, "host-b:1", poll_app.clock)
    assert other.hold()
    mine = Leader(poll_app.uow, NAME, "host-a:1", poll_app.clock)
    assert reconcile_once(poll_app, lambda _: stored_posts(loader), leader=mine).ran is False
    assert comment_messages(poll_app) == []


@pytest.mark.parametrize("status, body", [
    (429, b'{"message": "rate limited", "status": "fail"}'),
    (401, b'{"message": "Please wait a few minutes before you try again.", "status": "fail"}')])
def test_throttling_backs_off_without_crashing_and_resumes(
        poll_app: App, network: Network, tmp_path: Path, status: int, body: bytes) -> None:
    network.status, network.body = status, body
    real = profile_posts(make_loader(str(tmp_path / "var" / "instagram"), "",
                                     polite=False).context)
    first = reconcile_once(poll_app, real)
    assert first.ran and "prakerja" in first.failures and first.backoff_until is not None
    assert first.backoff_until - poll_app.clock.now() >= THROTTLE_BACKOFF  # read as throttling
    asked = len(network.urls)
    assert asked >= 1
    assert reconcile_once(poll_app, real).ran is False  # still waiting: nothing asked
    assert len(network.urls) == asked
    poll_app.clock.advance(hours=1)  # type: ignore[attr-defined]
    network.status = 404  # Instagram answers again (the profile is not found, here)
    later = reconcile_once(poll_app, real)
    assert later.ran and len(network.urls) > asked


def test_the_worker_thread_polls_as_leader_and_hands_the_lease_over_on_stop(
        poll_app: App, loader: Instaloader) -> None:
    stop = threading.Event()

    def posts_then_stop(account: str) -> Iterable[Post]:
        stop.set()  # one pass, then the worker is asked to stop
        return stored_posts(loader)
    thread = threading.Thread(target=poll_forever, args=(poll_app, stop, posts_then_stop))
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    with poll_app.engine.connect() as conn:
        assert leases.holder(conn, NAME, poll_app.clock.now()) is None  # released at once
        assert (cursors.get(conn, NAME) or {})["accounts"]["prakerja"]
        pending = conn.execute(sa.select(sa.func.count()).select_from(tables.inbox)).scalar_one()
    assert pending == 4  # our own answer too (the desk's reply, written in the app)
