"""Issue 16: an identifier written in a message is a claim.  "NIK saya <someone's NIK>" from a
new address links it to that citizen for the staff's view, but nothing of the citizen's other
tickets is sent to the new address until staff check the link (audited).  Both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ticketing.app import App
from ticketing.domain.errors import PermissionDenied
from ticketing.entrypoints.api import create_api
from ticketing.services import identities, replies, views
from ticketing.services.accounts import Principal, Role
from ticketing.store import tables
from tests.api.test_api import _auth, _token
from tests.helpers import ingest_one, message
from tests.services.conftest import audit_rows, user

NIK = "3201231508900003"


def _options(app: App, ticket_id: int) -> dict[str, dict[str, object]]:
    with app.engine.connect() as conn:
        shown = replies.reply_channels(conn, ticket_id, capabilities=app.capabilities,
                                       now=app.clock.now())
    return {o["channel"]: o for o in shown["options"]}


def _identity(app: App, kind: str) -> sa.Row[tuple[object, ...]]:
    i = tables.identities
    with app.engine.connect() as conn:
        return conn.execute(sa.select(i).where(i.c.kind == kind)).one()


def _victim_and_claimant(app: App) -> tuple[int, int]:
    victim = ingest_one(app, message(f"Saldo insentif belum cair. NIK saya {NIK}",
                                     channel="email", email="sari@example.id"))
    claimant = ingest_one(app, message(f"Saldo insentif saya belum cair juga. NIK saya {NIK}",
                                       channel="email", email="orang.lain@example.net",
                                       sent_at="2026-03-02T10:00:00+07:00"))
    assert claimant.customer_id == victim.customer_id  # linked for the staff's view
    assert victim.ticket_id is not None and claimant.ticket_id is not None
    return victim.ticket_id, claimant.ticket_id


def test_a_written_nik_from_a_new_address_is_a_claim(app: App) -> None:
    victim_ticket, _ = _victim_and_claimant(app)
    i = tables.identities
    with app.engine.connect() as conn:
        rows = {r.value: r.claimed_link_at for r in conn.execute(
            sa.select(i.c.value, i.c.claimed_link_at).where(i.c.kind == "email"))}
    assert rows["sari@example.id"] is None
    assert rows["orang.lain@example.net"] is not None
    [linked] = [e for e in audit_rows(app, "customer.linked") if e.get("claimed")]
    assert linked["identities"][0]["kind"] == "email"
    # Same complaint: one ticket, holding the victim's message: a reply on e-mail goes to the
    # victim's own address, never to the claimed one (the latest e-mail on the ticket).
    assert _options(app, victim_ticket)["email"]["possible"] is True
    uid = user(app, "agen@example.id", "agent")
    agent = Principal(user_id=uid, email="agen@example.id", name="Agen", role=Role.AGENT)
    with app.engine.begin() as conn:
        replies.reply_to_ticket(conn, victim_ticket, "Data akun Anda ...", by=agent,
                                now=app.clock.now(), from_address="p@example.id",
                                capabilities=app.capabilities, channel="email")
        recipients = [r["email"] for r in conn.execute(
            sa.select(tables.outbox.c.recipient).where(tables.outbox.c.kind == "reply")
        ).scalars()]
    assert recipients == ["sari@example.id"]
    with app.engine.connect() as conn:
        senders = {s["email"] for s in conn.execute(sa.select(tables.messages.c.sender).where(
            tables.messages.c.ticket_id == victim_ticket,
            tables.messages.c.direction == "in")).scalars()}
    assert "sari@example.id" in senders


def test_the_reply_box_refuses_the_claimed_address_where_others_wrote(app: App) -> None:
    victim = ingest_one(app, message(f"Kode OTP tidak masuk. NIK saya {NIK}", channel="phone",
                                     phone="081234567890"))
    claimant = ingest_one(app, message(f"Akun saya terblokir, tolong. NIK saya {NIK}",
                                       channel="email", email="orang.lain@example.net",
                                       sent_at="2026-03-02T10:00:00+07:00"))
    assert claimant.customer_id == victim.customer_id
    assert claimant.ticket_id != victim.ticket_id
    on_victims = _options(app, victim.ticket_id)
    assert on_victims["email"]["possible"] is False
    assert "belum diverifikasi" in str(on_victims["email"]["reason"])
    on_own = _options(app, claimant.ticket_id)
    assert on_own["email"]["possible"] is True  # its own complaint: answered where it came from
    uid = user(app, "agen@example.id", "agent")
    agent = Principal(user_id=uid, email="agen@example.id", name="Agen", role=Role.AGENT)
    with app.engine.begin() as conn, pytest.raises(Exception) as refused:
        replies.reply_to_ticket(conn, victim.ticket_id, "Data akun Anda ...", by=agent,
                                now=app.clock.now(), from_address="p@example.id",
                                capabilities=app.capabilities, channel="email")
    assert "belum diverifikasi" in str(refused.value)


def test_a_staff_check_verifies_the_link_over_http(app: App) -> None:
    victim = ingest_one(app, message(f"Kode OTP tidak masuk. NIK saya {NIK}", channel="phone",
                                     phone="081234567890"))
    ingest_one(app, message(f"Akun saya terblokir, tolong. NIK saya {NIK}", channel="email",
                            email="orang.lain@example.net", sent_at="2026-03-02T10:00:00+07:00"))
    claimed = _identity(app, "email")
    with TestClient(create_api(app)) as client:
        path = f"/api/v1/identities/{claimed.id}/verify"
        assert client.post(path, headers=_auth(_token(app, "agent"))).status_code == 403
        boss = _auth(_token(app, "supervisor"))
        assert client.post(path, headers=boss,
                           json={"note": "ditelepon balik, cocok"}).status_code == 200
        assert client.post(path, headers=boss).status_code == 409
        assert client.post("/api/v1/identities/99999/verify", headers=boss).status_code == 404
        shown = client.get(f"/api/v1/customers/{victim.customer_id}", headers=boss).json()
    assert all(not i["claimed"] for i in shown["identities"])
    assert _options(app, victim.ticket_id)["email"]["possible"] is True
    [event] = audit_rows(app, "identity.verified")
    assert event["method"] == "staff_check" and "orang.lain" not in event["identity"]


def test_an_address_writing_its_own_nik_is_not_a_claim(app: App) -> None:
    ingest_one(app, message("Kode OTP tidak masuk", channel="email", email="sari@example.id"))
    ingest_one(app, message(f"Masih belum masuk. NIK saya {NIK}", channel="email",
                            email="sari@example.id", sent_at="2026-03-02T10:00:00+07:00"))
    assert _identity(app, "email").claimed_link_at is None
    uid = user(app, "agen@example.id", "agent")
    agent = Principal(user_id=uid, email="agen@example.id", name="Agen", role=Role.AGENT)
    with app.engine.begin() as conn, pytest.raises(PermissionDenied):
        identities.verify_identity(conn, 1, by=agent, now=app.clock.now())
