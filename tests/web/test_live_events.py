"""``GET /events`` through a real HTTP client reading the stream from the app served by uvicorn,
on both databases: events committed by another connection (another App, as a worker on another
host would be) arrive — a citizen's message on my ticket (masked for an agent), a ticket taken
by someone else, my notification count — and a reconnect with ``Last-Event-ID`` gets what it
missed; the stream is refused without a session and to other sites."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ticketing.app import App
from ticketing.services import accounts
from ticketing.services.clock import FixedClock
from ticketing.services.notifications import notify
from ticketing.settings import Settings
from ticketing.store import tables
from tests.conftest import ROOT
from tests.helpers import ingest_one, message
from tests.routing_helpers import agent

NIK = "3224281908876385"


@pytest.fixture
def other(db_url: str, clock: FixedClock, tmp_path: Path) -> Iterator[App]:
    """Another process's view of the same database: its own engine and connections."""
    core = App(settings=Settings(database_url=db_url, config_dir=str(ROOT / "config"),
                                 attachment_dir=str(tmp_path / "other")), clock=clock)
    yield core
    core.close()


def _session(app: App, user_id: int) -> dict[str, str]:
    with app.engine.begin() as conn:
        return {"ticketing_session": accounts.create_session(conn, user_id=user_id,
                                                             now=app.clock.now())}


class Stream:
    """Reads server-sent events off a real HTTP response, one event at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.iter_lines()

    def next(self) -> dict[str, Any]:
        event: dict[str, Any] = {}
        for n, line in enumerate(self.lines):
            if n > 200:  # pings only: the awaited event is not coming
                break
            if not line:
                if "event" in event:
                    return event
                event = {}
            elif line.startswith(":") or line.startswith("retry:"):
                continue
            else:
                key, _, value = line.partition(": ")
                event[key] = json.loads(value) if key == "data" else value
        raise AssertionError("the stream ended or carried nothing")

    def until(self, kind: str, **want: Any) -> dict[str, Any]:
        for _ in range(50):
            event = self.next()
            if event["event"] == kind and all(event["data"].get(k) == v
                                              for k, v in want.items()):
                return event
        raise AssertionError(f"no {kind} {want}")


def _open(base: str, cookies: dict[str, str], path: str = "/events",
          headers: dict[str, str] | None = None) -> Any:
    # A read timeout bounds every wait: a missing event fails the test, never hangs it.
    client = httpx.Client(base_url=base, cookies=cookies, timeout=httpx.Timeout(15.0))
    return client, client.stream("GET", path, headers=headers or {})


def test_events_committed_elsewhere_reach_the_open_stream(app: App, other: App,
                                                          live_url: str) -> None:
    me = agent(app, email="siti@example.id")
    colleague = agent(app, email="andi@example.id")
    mine = ingest_one(app, message("OTP tidak masuk", channel="webchat", phone="0812-3456-7890"))
    with app.engine.begin() as conn:
        conn.execute(tables.tickets.update().where(tables.tickets.c.id == mine.ticket_id)
                     .values(assignee_id=me))
    client, request = _open(live_url, _session(app, me))
    with client, request as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        hello = stream.until("hello")
        assert hello["data"] == {"user_id": me, "unread": 0}
        # A citizen writes again (committed by another connection): it is on my ticket.
        again = ingest_one(other, message(f"Masih belum masuk. NIK saya {NIK}",
                                          channel="webchat", phone="0812-3456-7890",
                                          sent_at="2026-03-02T09:30:00+07:00"))
        assert again.ticket_id == mine.ticket_id
        got = stream.until("message.created", ticket_id=mine.ticket_id)
        assert got["data"]["yours"] is True and "Masih belum masuk" in got["data"]["body"]
        assert NIK not in json.dumps(got), "masked for an agent"
        first_id = int(got["id"])
        # Someone else takes a new ticket; I am notified.
        theirs = ingest_one(other, message("Sertifikat belum terbit", channel="email",
                                           email="warga2@example.id"))
        stream.until("ticket.created", ticket_id=theirs.ticket_id)
        with other.engine.begin() as conn:
            conn.execute(tables.tickets.update().where(tables.tickets.c.id == theirs.ticket_id)
                         .values(assignee_id=colleague))
            notify(conn, [me], ticket_id=mine.ticket_id, kind="sla.warning", data={},
                   now=other.clock.now())
        taken = stream.until("ticket.assigned", ticket_id=theirs.ticket_id)
        assert taken["data"]["yours"] is False and taken["data"]["assignee"] == "andi@example.id"
        assert stream.until("notification")["data"] == {"ticket_id": mine.ticket_id,
                                                        "unread": 1}
    # Back after a break: what came after the last event seen is replayed, in order.
    client, request = _open(live_url, _session(app, me),
                            headers={"Last-Event-ID": str(first_id)})
    with client, request as response:
        stream = Stream(response)
        kinds = [stream.next()["event"] for _ in range(4)]
        assert kinds == ["hello", "ticket.created", "ticket.assigned", "notification"]


def test_a_supervisor_watching_a_ticket_sees_its_messages_whole(app: App, other: App,
                                                                 live_url: str) -> None:
    boss = agent(app, role="supervisor", email="sup@example.id")
    first = ingest_one(app, message("Dana insentif belum cair", channel="webchat",
                                    phone="0813-1111-2222"))
    client, request = _open(live_url, _session(app, boss), f"/events?ticket={first.ticket_id}")
    with client, request as response:
        stream = Stream(response)
        stream.until("hello")
        ingest_one(other, message(f"NIK saya {NIK}", channel="webchat", phone="0813-1111-2222",
                                  sent_at="2026-03-02T09:10:00+07:00"))
        got = stream.until("message.created", ticket_id=first.ticket_id)
        assert NIK in got["data"]["body"]


def test_the_stream_needs_a_session_and_this_site(app: App, live_url: str) -> None:
    me = agent(app, email="rina@example.id")
    with httpx.Client(base_url=live_url, timeout=10) as client:
        assert client.get("/events").status_code == 401
        client.cookies.update(_session(app, me))
        assert client.get("/events", headers={"Origin": "https://evil.example"}
                          ).status_code == 403
        assert client.get("/events", headers={"Sec-Fetch-Site": "cross-site"}
                          ).status_code == 403
        assert client.get("/events?ticket=abc").status_code == 422
        script = client.get("/static/live.js")
        assert script.status_code == 200 and "EventSource" in script.text
        assert script.headers["content-type"].startswith("text/javascript")
