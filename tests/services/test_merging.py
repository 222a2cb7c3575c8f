"""Merges and their exact undo, incident clusters and weak-signal suggestions."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ticketing.app import App
from ticketing.domain.errors import Conflict, PermissionDenied
from ticketing.services import merging, relations, updates
from ticketing.services.accounts import Principal, Role
from ticketing.store import tickets as q
from tests.helpers import ingest_one, message

SUP = Principal(user_id=1, email="sup@example.id", name="Sup", role=Role.SUPERVISOR)


def _messages_of(app: App, ticket_id: int) -> list[int]:
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(q.messages.c.id).where(
            q.messages.c.ticket_id == ticket_id).order_by(q.messages.c.id)).scalars())


def _ticket(app: App, ticket_id: int) -> sa.Row[object]:
    with app.engine.connect() as conn:
        return conn.execute(sa.select(q.tickets).where(q.tickets.c.id == ticket_id)).one()


def test_manual_merge_then_unmerge_is_an_exact_undo(app: App) -> None:
    a = ingest_one(app, message("OTP tidak masuk", phone="081234567890"))
    b = ingest_one(app, message("Insentif belum cair", phone="081234567890"))
    assert a.ticket_id and b.ticket_id
    before_a, before_b = _messages_of(app, a.ticket_id), _messages_of(app, b.ticket_id)
    with app.engine.begin() as conn:
        merging.merge_tickets(conn, b.ticket_id, a.ticket_id, by=SUP,
                              now=app.clock.now())
    assert _messages_of(app, a.ticket_id) == sorted(before_a + before_b)
    assert _ticket(app, b.ticket_id).merged_into_id == a.ticket_id
    assert _ticket(app, a.ticket_id).message_count == 2
    # A message that arrives after the merge stays where it landed.
    c = ingest_one(app, message("OTP masih belum masuk", phone="081234567890",
                                sent_at="2026-03-02T10:00:00+07:00"))
    assert c.ticket_id == a.ticket_id
    with app.engine.begin() as conn:
        merging.unmerge_ticket(conn, b.ticket_id, by=SUP, now=app.clock.now())
    assert _messages_of(app, b.ticket_id) == before_b
    assert _messages_of(app, a.ticket_id) == sorted(before_a + [c.message_id or 0])
    assert _ticket(app, b.ticket_id).merged_into_id is None
    assert _ticket(app, a.ticket_id).message_count == 2
    with app.engine.begin() as conn, pytest.raises(Conflict):
        merging.unmerge_ticket(conn, b.ticket_id, by=SUP, now=app.clock.now())


def test_tickets_of_two_citizens_are_never_merged(app: App) -> None:
    a = ingest_one(app, message("OTP tidak masuk", phone="081234567890"))
    b = ingest_one(app, message("OTP tidak masuk", phone="081298765432"))
    with app.engine.begin() as conn, pytest.raises(Conflict, match="different customers"):
        merging.merge_tickets(conn, b.ticket_id or 0, a.ticket_id or 0, by=SUP,
                              now=app.clock.now())


def test_automatic_customer_merge_can_be_undone_with_its_ticket_merge(app: App) -> None:
    a = ingest_one(app, message("OTP tidak masuk", email="rina@example.id"))
    b = ingest_one(app, message("Kode OTP tidak dikirim", phone="081377778888"))
    c = ingest_one(app, message("OTP belum masuk. Email saya rina@example.id", channel="phone",
                                phone="081377778888", sent_at="2026-03-02T11:00:00+07:00"))
    assert c.customer_id == a.customer_id and c.ticket_id == a.ticket_id
    assert _ticket(app, b.ticket_id or 0).merged_into_id == a.ticket_id
    with app.engine.begin() as conn:
        merging.unmerge_customer(conn, b.customer_id or 0, by=SUP, now=app.clock.now())
    assert _ticket(app, b.ticket_id or 0).merged_into_id is None
    assert _ticket(app, b.ticket_id or 0).customer_id == b.customer_id
    assert b.message_id in _messages_of(app, b.ticket_id or 0)
    with app.engine.connect() as conn:
        owners = dict(conn.execute(sa.select(q.identities.c.value, q.identities.c.customer_id)
                                   ).all())
        merged = conn.execute(sa.select(q.customers.c.merged_into_id).where(
            q.customers.c.id == b.customer_id)).scalar()
    assert owners["+6281377778888"] == b.customer_id
    assert owners["rina@example.id"] == a.customer_id
    assert merged is None


def test_same_complaint_from_many_citizens_is_an_incident_not_a_merge(app: App) -> None:
    texts = ["Selamat pagi, OTP tidak masuk ke HP saya dari kemarin",
             "OTP gak masuk ke hp saya dari kemarin min",
             "halo kak, otp tidak masuk ke HP saya sejak kemarin"]
    outs = [ingest_one(app, message(t, phone=f"08123456{i:04d}")) for i, t in enumerate(texts)]
    other = ingest_one(app, message("Insentif saya belum cair dari kemarin",
                                    phone="081200000999"))
    assert len({o.ticket_id for o in outs}) == 3
    incidents = {_ticket(app, o.ticket_id or 0).incident_id for o in outs}
    assert len(incidents) == 1 and None not in incidents
    assert _ticket(app, other.ticket_id or 0).incident_id is None
    with app.engine.connect() as conn:
        rel = relations.related_tickets(conn, outs[2].ticket_id or 0, SUP)
        listed = relations.list_incidents(conn)
    assert rel["incident"]["ticket_count"] == 3
    assert {t["ticket_id"] for t in rel["incident"]["tickets"]} == {outs[0].ticket_id,
                                                                   outs[1].ticket_id}
    assert all(t["score"] >= 0.85 for t in rel["incident"]["tickets"])
    assert listed[0]["topic"] == "otp"


def test_live_message_reads_incident_candidates_with_its_locks(app: App) -> None:
    """PostgreSQL, one message at a time: the candidates ride in the round trip that takes the
    locks (no statement of their own), and the clustering is the same as the batch path's."""
    if app.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL round-trip saving")
    first = ingest_one(app, message("OTP tidak masuk ke HP saya dari kemarin",
                                    phone="081200001111"))
    seen: list[str] = []

    def record(_c: object, _cur: object, statement: str, *_: object) -> None:
        seen.append(statement)
    sa.event.listen(app.engine, "before_cursor_execute", record)
    try:
        second = ingest_one(app, message("otp gak masuk ke hp saya dari kemarin min",
                                         phone="081200002222"))
    finally:
        sa.event.remove(app.engine, "before_cursor_execute", record)
    assert second.ticket_id != first.ticket_id
    incident = _ticket(app, second.ticket_id or 0).incident_id
    assert incident is not None and incident == _ticket(app, first.ticket_id or 0).incident_id
    assert not [s for s in seen if "ticket_signatures" in s and "band_key" in s]


def test_similar_names_only_suggest(app: App) -> None:
    a = ingest_one(app, message("OTP tidak masuk", phone="081234567890", name="Siti Aminah"))
    b = ingest_one(app, message("Kode OTP belum masuk", email="siti@example.id",
                                name="Ibu Siti Aminah"))
    assert a.customer_id != b.customer_id
    with app.engine.connect() as conn:
        rel = relations.related_tickets(conn, b.ticket_id or 0, SUP)
    [suggestion] = rel["possible_same_citizen"]
    assert suggestion["customer_id"] == a.customer_id and suggestion["score"] > 0.8
    assert suggestion["ticket_id"] == a.ticket_id


def test_topic_correction_is_audited_and_checked(app: App) -> None:
    a = ingest_one(app, message("OTP tidak masuk", phone="081234567890"))
    topics = app.evidence_policy.classifier.topics
    with app.engine.begin() as conn:
        updates.update_ticket(conn, a.ticket_id or 0, {"topic": "akun"}, by=SUP, topics=topics,
                              now=app.clock.now())
    with app.engine.connect() as conn:
        data = conn.execute(sa.select(q.audit.c.data, q.audit.c.actor).where(
            q.audit.c.kind == "ticket.topic_changed")).one()
    assert data.data == {"previous": "otp", "topic": "akun", "reason": "corrected by staff"}
    assert data.actor == "user:1"
    assert _ticket(app, a.ticket_id or 0).topic == "akun"
    from ticketing.domain.errors import InvalidInput
    with app.engine.begin() as conn, pytest.raises(InvalidInput):
        updates.update_ticket(conn, a.ticket_id or 0, {"topic": "cuaca"}, by=SUP,
                              topics=topics, now=app.clock.now())


def test_agents_may_not_merge_or_unmerge_admins_may(app: App) -> None:
    a = ingest_one(app, message("OTP tidak masuk", phone="081234567890"))
    b = ingest_one(app, message("Insentif belum cair", phone="081234567890"))
    agent = Principal(user_id=2, email="agen@example.id", name="Agen", role=Role.AGENT)
    admin = Principal(user_id=3, email="admin@example.id", name="Admin", role=Role.ADMIN)
    with app.engine.begin() as conn, pytest.raises(PermissionDenied):
        merging.merge_tickets(conn, b.ticket_id or 0, a.ticket_id or 0, by=agent,
                              now=app.clock.now())
    assert _ticket(app, b.ticket_id or 0).merged_into_id is None
    with app.engine.begin() as conn:
        merging.merge_tickets(conn, b.ticket_id or 0, a.ticket_id or 0, by=admin,
                              now=app.clock.now())
    with app.engine.begin() as conn, pytest.raises(PermissionDenied):
        merging.unmerge_ticket(conn, b.ticket_id or 0, by=agent, now=app.clock.now())
    with app.engine.begin() as conn, pytest.raises(PermissionDenied):
        merging.unmerge_customer(conn, a.customer_id or 0, by=agent, now=app.clock.now())
    assert _ticket(app, b.ticket_id or 0).merged_into_id == a.ticket_id
    with app.engine.connect() as conn:
        actors = conn.execute(sa.select(q.audit.c.actor).where(
            q.audit.c.kind == "ticket.merged", q.audit.c.ticket_id == a.ticket_id)).scalars()
        assert list(actors) == ["user:3"]
