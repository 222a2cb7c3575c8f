"""The ingest pipeline end to end on real SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from ticketing.app import App
from ticketing.services.clock import FixedClock
from ticketing.store import tickets as q
from ticketing.store.inbox import inbox
from tests.helpers import ingest, ingest_one, message

OTP = "OTP tidak masuk ke HP saya dari kemarin, tolong dibantu"


def count(app: App, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))
                   .scalar_one())


def test_same_message_ingested_twice_is_stored_once(app: App) -> None:
    msg = message(OTP, external_id="wc-1", phone="0812-3456-7890")
    first = ingest_one(app, msg)
    again = ingest_one(app, msg)
    assert first.outcome == "created"
    assert again.outcome == "duplicate"
    assert (again.ticket_id, again.message_id) == (first.ticket_id, first.message_id)
    assert count(app, q.messages) == 1
    assert count(app, inbox) == 1


def test_same_external_id_twice_in_one_batch_is_one_message(app: App) -> None:
    msg = message(OTP, external_id="wc-7", phone="0812-3456-7890")
    a, b = ingest(app, msg, dict(msg, body="edited copy"))
    assert a.outcome == "created" and b.outcome == "duplicate"
    assert b.ticket_id == a.ticket_id
    assert count(app, q.messages) == 1


def test_phone_formats_resolve_to_one_customer_in_e164(app: App) -> None:
    formats = ["0812-3456-7890", "+62 812 3456 7890", "6281234567890", "(+62) 812-3456-7890",
               "0062 812 3456 7890"]
    outcomes = ingest(app, *[message(OTP, channel="phone", phone=p) for p in formats])
    assert len({o.customer_id for o in outcomes}) == 1
    assert len({o.ticket_id for o in outcomes}) == 1
    with app.engine.connect() as conn:
        values = conn.execute(sa.select(q.identities.c.kind, q.identities.c.value)).all()
    assert values == [("phone", "+6281234567890")]


def test_reply_thread_joins_the_ticket_even_on_another_topic(app: App) -> None:
    first = ingest_one(app, message(OTP, channel="email", external_id="<a@x>",
                                    email="budi@example.id"))
    reply = message("Satu lagi, sertifikat pelatihan saya juga belum terbit", channel="email",
                    external_id="<b@x>", email="budi@example.id")
    reply["in_reply_to"] = "<a@x>"
    second = ingest_one(app, reply)
    assert second.outcome == "appended"
    assert second.ticket_id == first.ticket_id


def test_different_topics_of_one_citizen_are_different_tickets(app: App) -> None:
    a = ingest_one(app, message(OTP, phone="081234567890"))
    b = ingest_one(app, message("Insentif saya belum cair padahal sudah isi survei",
                                phone="081234567890"))
    assert a.customer_id == b.customer_id
    assert a.ticket_id != b.ticket_id


def test_same_complaint_over_three_channels_is_one_ticket(app: App) -> None:
    a = ingest_one(app, message(OTP + ". No HP saya 0812-3456-7890", channel="telegram",
                                telegram_id="5550001"))
    b = ingest_one(app, message("Kode OTP gak masuk2, sudah coba berkali kali", channel="phone",
                                phone="+62 812 3456 7890"))
    c = ingest_one(app, message("kenapa otp tidak dikirim ya? WA saya 081234567890",
                                channel="instagram", instagram_id="9988776655",
                                instagram_username="warga.satu"))
    assert a.customer_id == b.customer_id == c.customer_id
    assert a.ticket_id == b.ticket_id == c.ticket_id
    assert [a.outcome, b.outcome, c.outcome] == ["created", "appended", "appended"]


def test_same_words_from_two_citizens_are_never_merged(app: App) -> None:
    a = ingest_one(app, message(OTP, phone="081234567890"))
    b = ingest_one(app, message(OTP, phone="081298765432"))
    assert a.customer_id != b.customer_id
    assert a.ticket_id != b.ticket_id


def test_vague_follow_up_joins_the_latest_open_ticket(app: App) -> None:
    a = ingest_one(app, message(OTP, email="sari@example.id"))
    b = ingest_one(app, message("gimana kak, sudah ada kabar?", email="sari@example.id",
                                sent_at="2026-03-03T10:00:00+07:00"))
    assert b.outcome == "appended" and b.ticket_id == a.ticket_id


def test_old_ticket_outside_the_window_is_not_joined(app: App) -> None:
    a = ingest_one(app, message(OTP, email="sari@example.id"))
    b = ingest_one(app, message(OTP, email="sari@example.id",
                                sent_at="2026-04-20T10:00:00+07:00"))
    assert b.outcome == "created" and b.ticket_id != a.ticket_id


def test_customer_message_reopens_a_resolved_ticket(app: App) -> None:
    a = ingest_one(app, message(OTP, email="sari@example.id"))
    with app.engine.begin() as conn:
        conn.execute(q.tickets.update().where(q.tickets.c.id == a.ticket_id)
                     .values(status="resolved"))
    b = ingest_one(app, message("OTP masih belum masuk juga", email="sari@example.id",
                                sent_at="2026-03-04T10:00:00+07:00"))
    assert b.ticket_id == a.ticket_id
    with app.engine.connect() as conn:
        status = conn.execute(sa.select(q.tickets.c.status)
                              .where(q.tickets.c.id == a.ticket_id)).scalar_one()
        kinds = conn.execute(sa.select(q.audit.c.kind).where(q.audit.c.ticket_id == a.ticket_id)
                             ).scalars().all()
    assert status == "open"
    assert "ticket.reopened" in kinds


def test_reply_to_a_closed_ticket_opens_a_new_linked_ticket(app: App) -> None:
    a = ingest_one(app, message(OTP, channel="email", external_id="<c1@x>",
                                email="sari@example.id"))
    with app.engine.begin() as conn:
        conn.execute(q.tickets.update().where(q.tickets.c.id == a.ticket_id)
                     .values(status="closed"))
    reply = message("OTP masih belum masuk", channel="email", external_id="<c2@x>",
                    email="sari@example.id")
    reply["in_reply_to"] = "<c1@x>"
    b = ingest_one(app, reply)
    assert b.outcome == "created" and b.ticket_id != a.ticket_id
    with app.engine.connect() as conn:
        data = conn.execute(sa.select(q.audit.c.data).where(
            q.audit.c.kind == "ticket.created", q.audit.c.ticket_id == b.ticket_id)).scalar_one()
    assert data["linked_to"] == a.ticket_id


def test_nik_given_on_two_channels_merges_the_two_customers(app: App) -> None:
    a = ingest_one(app, message(OTP, email="rina@example.id"))
    b = ingest_one(app, message("Insentif belum cair", phone="081377778888"))
    assert a.customer_id != b.customer_id
    c = ingest_one(app, message("Halo, email saya rina@example.id dan HP saya 081377778888",
                                channel="phone", phone="081377778888"))
    assert c.customer_id == min(a.customer_id or 0, b.customer_id or 0)
    with app.engine.connect() as conn:
        merged = conn.execute(sa.select(q.customers.c.merged_into_id)
                              .where(q.customers.c.id == max(a.customer_id or 0,
                                                             b.customer_id or 0))).scalar_one()
        owners = set(conn.execute(sa.select(q.tickets.c.customer_id)).scalars())
        audit = conn.execute(sa.select(q.audit.c.data)
                             .where(q.audit.c.kind == "customer.merged")).scalars().all()
    assert merged == c.customer_id
    assert owners == {c.customer_id}
    assert len(audit) == 1 and audit[0]["moved"]["tickets"]


def test_malformed_payloads_are_quarantined_with_a_reason_and_others_go_on(app: App) -> None:
    good = message(OTP, phone="081234567890")
    outcomes = ingest(app, b"{not json", b"\xff\xfe invalid utf-8",
                      {"channel": "email", "external_id": "x1", "sent_at": "2026-03-02T09:00:00",
                       "sender": {"email": "a@b.id"}, "body": "no offset"},
                      {"channel": "fax", "external_id": "x2", "sent_at": "2026-03-02T09:00:00Z",
                       "sender": {"email": "a@b.id"}, "body": "?"},
                      good)
    assert [o.outcome for o in outcomes] == ["rejected"] * 4 + ["created"]
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(inbox.c.status, inbox.c.last_error).order_by(inbox.c.id)
                            ).all()
    assert [r.status for r in rows] == ["quarantined"] * 4 + ["done"]
    assert "JSON" in rows[0].last_error
    assert "UTF-8" in rows[1].last_error
    assert "offset" in rows[2].last_error
    assert "channel" in rows[3].last_error


def test_audit_trail_records_why(app: App, clock: FixedClock) -> None:
    a = ingest_one(app, message(OTP, phone="081234567890"))
    ingest_one(app, message("OTP masih belum masuk", phone="081234567890"))
    with app.engine.connect() as conn:
        events = conn.execute(sa.select(q.audit.c.kind, q.audit.c.data, q.audit.c.at)
                              .where(q.audit.c.ticket_id == a.ticket_id)
                              .order_by(q.audit.c.id)).all()
    assert [e.kind for e in events] == ["ticket.created", "message.appended"]
    assert events[0].data["topic"] == "otp"
    assert events[1].data["rule"] == "same_topic"
    assert events[0].at == clock.now()


def test_a_pipeline_crash_keeps_the_raw_payload_and_spares_the_others(app: App) -> None:
    from dataclasses import replace

    from ticketing.domain.topics import TopicMatch
    from ticketing.services.ingest import EvidencePolicy
    from ticketing.services.ingest import store_and_process
    from tests.helpers import raw

    real = app.evidence_policy.classifier

    class Exploding:
        """A classifier that fails on one message, as a bug would."""

        fallback = real.fallback
        topics = real.topics

        def classify(self, text: str) -> TopicMatch:
            if "boom" in text:
                raise RuntimeError("classifier bug")
            return real.classify(text)

    policy = replace(app.ingest_policy, evidence=EvidencePolicy(
        classifier=Exploding(), fallback_topic=real.fallback))  # type: ignore[arg-type]
    outcomes = store_and_process(app.uow, [raw(message(OTP, phone="081234567890")),
                                              raw(message("boom", phone="081200000000"))],
                                 policy=policy, clock=app.clock)
    assert [o.outcome for o in outcomes] == ["created", "failed"]
    assert "classifier bug" in (outcomes[1].error or "")
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(inbox.c.status, inbox.c.attempts, inbox.c.last_error)
                            .order_by(inbox.c.id)).all()
    assert rows[0].status == "done"
    assert rows[1].status == "pending" and rows[1].attempts == 1
    assert "classifier bug" in rows[1].last_error
