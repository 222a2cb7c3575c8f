"""Hostile and odd input through the whole pipeline: handled, stored, never a crash, never a
wrong link (issue 3's list), on both databases."""

from __future__ import annotations

import json

import sqlalchemy as sa

from ticketing.app import App
from ticketing.store import tickets as q
from ticketing.store.inbox import inbox
from tests.helpers import ingest_one, message


def _identities(app: App) -> set[tuple[str, str]]:
    with app.engine.connect() as conn:
        return {(r.kind, r.value) for r in conn.execute(
            sa.select(q.identities.c.kind, q.identities.c.value))}


def _body(app: App, message_id: int | None) -> str:
    with app.engine.connect() as conn:
        return str(conn.execute(sa.select(q.messages.c.body)
                                .where(q.messages.c.id == message_id)).scalar_one())


def test_empty_body_is_a_vague_ticket(app: App) -> None:
    out = ingest_one(app, message("", phone="081234567890"))
    assert out.outcome == "created"
    assert _body(app, out.message_id) == ""


def test_megabyte_body_is_stored_whole(app: App) -> None:
    body = ("OTP tidak masuk. " * 60_000)[:999_999]
    out = ingest_one(app, message(body, phone="081234567890"))
    assert out.outcome == "created"
    assert len(_body(app, out.message_id)) == len(body)


def test_body_over_the_limit_is_quarantined_with_the_reason(app: App) -> None:
    out = ingest_one(app, message("x" * 1_000_001, phone="081234567890"))
    assert out.outcome == "rejected" and "longer than" in (out.error or "")
    with app.engine.connect() as conn:
        assert conn.execute(sa.select(inbox.c.status)).scalar_one() == "quarantined"


def test_emoji_only_and_mixed_scripts(app: App) -> None:
    a = ingest_one(app, message("😡😡😡🙏🙏", telegram_id="1001"))
    b = ingest_one(app, message("OTP 不能 masuk ошибка كود 😡", telegram_id="1002"))
    assert a.outcome == b.outcome == "created"
    assert _body(app, b.message_id) == "OTP 不能 masuk ошибка كود 😡"


def test_nul_and_lone_surrogates_from_a_parser_are_replaced_not_fatal(app: App) -> None:
    # What a parser that decoded with surrogateescape would hand over.
    broken = b"OTP tidak masuk \xff\xfe".decode("utf-8", "surrogateescape") + "\x00 end"
    payload = json.dumps(message(broken, phone="081234567890")).encode()
    out = ingest_one(app, payload)
    assert out.outcome == "created"
    assert _body(app, out.message_id) == "OTP tidak masuk \ufffd\ufffd\ufffd end"


def test_bank_account_number_is_not_taken_for_a_nik(app: App) -> None:
    ingest_one(app, message("Insentif belum masuk ke no rekening saya 1234567890123456",
                            phone="081234567890"))
    ingest_one(app, message("Insentif belum masuk ke rekening 1234567890123456",
                            phone="081298765432"))
    kinds = {k for k, _ in _identities(app)}
    assert "nik" not in kinds
    with app.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(q.customers)).scalar() == 2


def test_foreign_phone_numbers_are_kept_apart(app: App) -> None:
    a = ingest_one(app, message("OTP tidak masuk", phone="+60 12-345 6789"))
    b = ingest_one(app, message("OTP tidak masuk", phone="012-345 6789"))
    c = ingest_one(app, message("OTP tidak masuk, No HP saya +1 202 555 0143", email="x@ex.id"))
    assert len({a.customer_id, b.customer_id, c.customer_id}) == 3
    values = {v for k, v in _identities(app) if k == "phone"}
    assert "+60123456789" in values and "+12025550143" in values
    assert "+62123456789" not in values


def test_garbage_sender_phone_still_keeps_the_message(app: App) -> None:
    out = ingest_one(app, message("OTP tidak masuk", phone="not-a-number"))
    assert out.outcome == "created" and out.customer_id
    assert _identities(app) == set()
