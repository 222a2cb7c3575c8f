"""Manual merge of a "possible same citizen" from the ticket page's customer panel (issue 15):
the confirmation shows both citizens (masked for agents), only a supervisor merges, in one
audited step, and the undo on the panel restores exactly what moved.  Both databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ticketing.app import App
from ticketing.entrypoints.server import create_http_app
from ticketing.services import accounts
from ticketing.services.clock import FixedClock
from ticketing.store import tables
from tests.helpers import ingest_one, message

PASSWORD = "kata-sandi-rahasia"
PHONE = "081298765432"


def _client(app: App, clock: FixedClock, email: str, role: str) -> TestClient:
    with app.engine.begin() as conn:
        accounts.create_user(conn, email=email, name=email, role=role, password=PASSWORD,
                             clock=clock)
    client = TestClient(create_http_app(app), follow_redirects=False,
                        raise_server_exceptions=False)
    client.__enter__()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 303
    return client


@pytest.fixture
def two(app: App, clock: FixedClock) -> Iterator[tuple[TestClient, TestClient]]:
    agent = _client(app, clock, "ani@example.id", "agent")
    boss = _client(app, clock, "sri@example.id", "supervisor")
    yield agent, boss
    agent.__exit__(None, None, None)
    boss.__exit__(None, None, None)


def _customer_of(app: App, ticket_id: int) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(sa.select(tables.tickets.c.customer_id)
                                .where(tables.tickets.c.id == ticket_id)).scalar_one())


def _audit(app: App, kind: str) -> list[Any]:
    with app.engine.connect() as conn:
        a = tables.audit
        return list(conn.execute(sa.select(a).where(a.c.kind == kind).order_by(a.c.id)))


def test_a_supervisor_merges_a_possible_same_citizen_and_undoes_it(
        app: App, two: tuple[TestClient, TestClient]) -> None:
    agent, boss = two
    a = ingest_one(app, message("OTP tidak masuk ke HP saya", channel="email",
                                name="Sari <i>Dewi</i>", email="sari1@example.id"))
    b = ingest_one(app, message("Kode OTP belum masuk juga", channel="email",
                                sent_at="2026-03-02T10:00:00+07:00", name="Sari <i>Dewi</i>",
                                email="sari2@example.id", phone=PHONE))
    ta, tb = int(a.ticket_id or 0), int(b.ticket_id or 0)
    ca, cb = _customer_of(app, ta), _customer_of(app, tb)
    assert ca != cb
    page = agent.get(f"/tickets/{ta}").text
    link = f"/tickets/{ta}/customers/merge?other={cb}"
    assert link.replace("?", "?") in page.replace("&amp;", "&") and "<i>" not in page
    # The agent may look (masked) but not merge.
    shown = agent.get(link)
    assert shown.status_code == 200
    assert PHONE[1:] not in shown.text and "sari2@example.id" not in shown.text
    assert 'id="merge-not-allowed"' in shown.text and "customer-merge-form" not in shown.text
    refused = agent.post(f"/tickets/{ta}/customers/merge", data={"other": str(cb)})
    assert refused.status_code == 403 and _customer_of(app, tb) == cb
    # The supervisor sees both whole, and merges.
    shown = boss.get(link)
    assert "sari2@example.id" in shown.text and 'id="customer-merge-form"' in shown.text
    done = boss.post(f"/tickets/{ta}/customers/merge", data={"other": str(cb)})
    assert done.status_code == 303
    assert done.headers["location"] == f"/tickets/{ta}?done=customer_merged#citizen"
    assert _customer_of(app, tb) == ca  # the ticket moved; tickets are not merged
    [merged] = _audit(app, "customer.merged")
    assert merged.data["rule"] == "manual" and merged.data["source"] == cb
    assert merged.actor.startswith("user:")
    page = boss.get(f"/tickets/{ta}").text
    assert f'<li data-customer="{cb}">' in page and "unmerge-citizen" in page
    assert boss.post(f"/tickets/{ta}/customers/merge",
                     data={"other": str(cb)}).status_code == 409  # already merged
    undone = boss.post(f"/tickets/{ta}/customers/unmerge", data={"customer": str(cb)})
    assert undone.status_code == 303 and _customer_of(app, tb) == cb
    assert len(_audit(app, "customer.unmerged")) == 1
    assert 'id="merged-citizens"' not in boss.get(f"/tickets/{ta}").text


def test_merge_forms_are_refused_from_another_site_and_for_nonsense(
        app: App, two: tuple[TestClient, TestClient]) -> None:
    _, boss = two
    t = int(ingest_one(app, message("OTP tidak masuk", channel="email",
                                    email="x@example.id")).ticket_id or 0)
    c = _customer_of(app, t)
    foreign = boss.post(f"/tickets/{t}/customers/merge", data={"other": "1"},
                        headers={"origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert boss.post(f"/tickets/{t}/customers/merge", data={"other": str(c)}).status_code == 409
    assert boss.post(f"/tickets/{t}/customers/merge", data={"other": "x"}).status_code == 404
    assert boss.get(f"/tickets/{t}/customers/merge?other=99999999").status_code == 404
    assert boss.post(f"/tickets/{t}/customers/unmerge",
                     data={"customer": str(c)}).status_code == 409
