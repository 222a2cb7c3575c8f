"""Issue 16: grouping that understands the sentence (services.ingest.grouping), on both
databases: the problem wins over its context, a message joins its citizen's open ticket by a
candidate topic, a paraphrase or a follow-up marker, and opens a new ticket only when it names a
different problem; other citizens' words never merge."""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa

from ticketing.app import App
from ticketing.services.ingest.batch import Batch
from ticketing.services.ingest.evidence import Evidence
from ticketing.services.ingest.grouping import related_ticket
from ticketing.store import tables
from ticketing.store import tickets as q
from ticketing.store.ids import IdAllocator
from tests.helpers import ingest_one, message
from tests.services.conftest import audit_rows

WIB = dt.timezone(dt.timedelta(hours=7))
RINA = {"telegram_id": "7770001", "name": "Rina"}
JOKO = {"telegram_id": "7770002", "name": "Joko"}


def _at(hours: float) -> str:
    return (dt.datetime(2026, 3, 2, 9, 0, tzinfo=WIB) + dt.timedelta(hours=hours)).isoformat()


def _ticket(app: App, ticket_id: int) -> sa.Row[tuple[object, ...]]:
    with app.engine.connect() as conn:
        return conn.execute(sa.select(tables.tickets).where(tables.tickets.c.id == ticket_id)
                            ).one()


def _topics(app: App, message_id: int) -> object:
    with app.engine.connect() as conn:
        return conn.execute(sa.select(tables.messages.c.topics).where(
            tables.messages.c.id == message_id)).scalar_one()


def test_the_problem_not_its_context_makes_the_ticket(app: App) -> None:
    first = ingest_one(app, message("Pas daftar gelombang 27 kemarin, NIK saya ditolak terus",
                                    channel="telegram", sent_at=_at(0), **RINA))
    assert _ticket(app, first.ticket_id).topic == "nik"
    # Both candidate topics are kept on the message, the problem first.
    stored = _topics(app, first.message_id)
    assert isinstance(stored, list) and [t for t, _ in stored] == ["nik", "gelombang"]
    assert stored[0][1] > stored[1][1]
    again = ingest_one(app, message("NIK saya masih ditolak sistem", channel="telegram",
                                    sent_at=_at(20), **RINA))
    assert again.ticket_id == first.ticket_id


def test_a_different_problem_named_with_the_first_as_context_is_a_new_ticket(app: App) -> None:
    first = ingest_one(app, message("Insentif tahap 2 saya belum cair", channel="telegram",
                                    sent_at=_at(0), **RINA))
    second = ingest_one(app, message("Waktu mau cek pencairan insentif, sertifikat pelatihan "
                                     "saya belum terbit", channel="telegram", sent_at=_at(3),
                                     **RINA))
    assert second.outcome == "created" and second.ticket_id != first.ticket_id
    assert _ticket(app, second.ticket_id).topic == "pelatihan"


def test_a_follow_up_naming_only_the_context_joins_the_open_ticket(app: App) -> None:
    first = ingest_one(app, message("Waktu daftar gelombang 40, kode OTP tidak pernah masuk",
                                    channel="telegram", sent_at=_at(0), **RINA))
    assert _ticket(app, first.ticket_id).topic == "otp"
    # Named by its context only ("the wave thing"), but it says it repeats itself.
    repeat = ingest_one(app, message("Saya ulangi ya min, yang soal daftar gelombang 40 itu "
                                     "sampai sekarang belum beres", channel="telegram",
                                     sent_at=_at(30), **RINA))
    assert repeat.ticket_id == first.ticket_id
    appended = audit_rows(app, "message.appended")
    assert appended[-1]["rule"] == "says_follow_up"
    assert appended[-1]["marker"] == "saya ulangi"


def test_a_marker_before_a_different_problem_does_not_outweigh_it(app: App) -> None:
    first = ingest_one(app, message("Kode OTP tidak masuk ke HP saya", channel="telegram",
                                    sent_at=_at(0), **RINA))
    other = ingest_one(app, message("Belum ada jawaban untuk keluhan saya, rekening BRI saya "
                                    "ditolak saat validasi", channel="telegram", sent_at=_at(2),
                                    **RINA))
    assert other.outcome == "created" and other.ticket_id != first.ticket_id


def test_the_same_words_from_another_citizen_are_never_merged(app: App) -> None:
    text = "Waktu daftar gelombang 12, NIK saya ditolak terus"
    rina = ingest_one(app, message(text, channel="telegram", sent_at=_at(0), **RINA))
    joko = ingest_one(app, message(text, channel="telegram", sent_at=_at(1), **JOKO))
    follow = ingest_one(app, message("Saya ulangi, yang soal gelombang 12 itu belum beres",
                                     channel="telegram", sent_at=_at(2), **JOKO))
    assert joko.ticket_id != rina.ticket_id
    assert follow.ticket_id == joko.ticket_id


def _evidence(app: App, text: str) -> Evidence:
    match = app.evidence_policy.classifier.classify(text)
    from ticketing.domain.similarity import fingerprint
    return Evidence(identifiers=(), topic=match.topic, topic_score=match.score,
                    topic_evidence=match.evidence, topic_candidates=match.candidates,
                    follow_up=match.follow_up, named=match.named, context_topics=match.context,
                    citizen_text=text, fingerprint=fingerprint(text))


def _open(tid: int, topic: str, words: str) -> q.TicketState:
    at = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    return q.TicketState(id=tid, customer_id=1, status="new", topic=topic, channel="telegram",
                         first_message_at=at, last_message_at=at, last_customer_message_at=at,
                         message_count=1, is_new=True, fingerprint=words)


def test_each_relation_rule(app: App) -> None:
    with app.engine.connect() as conn:
        batch = Batch(conn=conn, now=dt.datetime(2026, 3, 3, tzinfo=dt.UTC),
                      ids=IdAllocator(conn), policy=app.ingest_policy, works=[])
        otp = _open(1, "otp", "kode otp verifikasi nomor rekening tidak masuk")
        akun = _open(2, "akun", "tidak bisa login password salah")
        # A close paraphrase of the otp ticket that the classifier files elsewhere.
        para = dataclasses.replace(_evidence(app, "kode verifikasi nomor rekening tidak masuk"),
                                   topic="rekening", topic_candidates=(("rekening", 0.7),))
        found = related_ticket(batch, para, [akun, otp])
        assert found is not None and found[0] is otp and found[1]["rule"] == "paraphrase"
        # A second problem named outright is a candidate; named only as context it is not.
        ambiguous = dataclasses.replace(para, fingerprint="", topic_candidates=(
            ("rekening", 0.5), ("akun", 0.4)))
        found = related_ticket(batch, ambiguous, [otp, akun])
        assert found is not None and found[0] is akun and found[1]["rule"] == "candidate_topic"
        as_context = dataclasses.replace(ambiguous, context_topics=("akun",))
        assert related_ticket(batch, as_context, [otp, akun]) is None
        # Nothing relates a message to no ticket, or when the rules are switched off.
        assert related_ticket(batch, ambiguous, []) is None
        off = dataclasses.replace(batch.policy, related_grouping=False)
        batch.policy = off
        assert related_ticket(batch, ambiguous, [otp, akun]) is None
