"""The ticket page's statements, counted (issue 15): the page reads what it shows without a
query per related row or the same table read twice for one answer."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from ticketing.app import App
from tests.routing_helpers import agent
from tests.web.test_agent_pages import _citizen_ticket


def _statements(app: App, live_url: str, path: str) -> list[str]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        seen.append(statement)

    with httpx.Client(base_url=live_url) as client:
        signed = client.post("/login", data={"email": "ani@example.id",
                                             "password": "secret-password"})
        assert signed.status_code in (200, 303)
        assert client.get(path).status_code == 200  # warm: caches filled once
        sa.event.listen(app.engine, "before_cursor_execute", record)
        try:
            assert client.get(path).status_code == 200
        finally:
            sa.event.remove(app.engine, "before_cursor_execute", record)
    return seen


def test_the_ticket_page_reads_each_thing_once(app: App, live_url: str) -> None:
    """A citizen who wrote on two channels: the reply box's latest sender per channel is one
    read (not one per channel), the ticket is not read again for its reply options or its
    related tickets, nor the citizen's name again; 21 reads before."""
    ticket_id = _citizen_ticket(app)
    agent(app, email="ani@example.id")
    seen = [" ".join(s.split()) for s in _statements(app, live_url, f"/tickets/{ticket_id}")]
    reads = [s for s in seen if s.startswith("SELECT")]
    assert not [s for s in reads if s.startswith("SELECT messages.sender FROM messages")], reads
    assert not [s for s in reads if s.startswith("SELECT tickets.id, tickets.customer_id FROM "
                                                 "tickets WHERE tickets.id =")], reads
    assert len([s for s in reads if s.startswith("SELECT customers.")
                and "FROM customers WHERE customers.id = " in s]) == 1, reads
    assert len(reads) <= 17, "\n".join(reads)
