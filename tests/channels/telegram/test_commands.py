"""The bot's commands end to end (update in → answer out through the outbox and the stand-in):
/start greets with the desk's hours and first-response target, /status lists open tickets,
/bantuan helps, and a deep link links the chat only after the code sent by e-mail is typed
back.  A citizen on Telegram and e-mail with one NIK is one customer and one ticket."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import sqlalchemy as sa

from channels.telegram.parse import CONTENT_TYPE, update_key
from ticketing.app import App
from ticketing.domain.raw import RawDelivery
from ticketing.services.ingest import Outcome, store_and_process
from ticketing.services.clock import FixedClock
from ticketing.services.outbox import deliver_due
from ticketing.store import tables
from tests.channels.telegram.standin import StandIn
from tests.channels.telegram.updates import message
from tests.helpers import ingest_one
from tests.helpers import message as normalized
from tests.services.conftest import audit_rows

NIK = "3224 2819 0887 6385"


def _in(app: App, update: dict[str, Any]) -> Outcome:
    raw = RawDelivery(channel="telegram", key=update_key("123456", update["update_id"]),
                      payload=json.dumps(update).encode(), content_type=CONTENT_TYPE)
    [out] = store_and_process(app.uow, [raw], policy=app.ingest_policy, clock=app.clock)
    return out


def _outbox(app: App, kind: str | None = None) -> list[Any]:
    o = tables.outbox
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(o).where(o.c.kind == kind if kind else sa.true())
                                 .order_by(o.c.id)))


def _said(app: App) -> str:
    return str(_outbox(app, "bot_reply")[-1].payload["body"])


def test_start_status_and_help(tg: App, standin: StandIn) -> None:
    assert _in(tg, message(1, "/start")).outcome == "command"
    hello = _said(tg)
    assert "Senin-Jumat 08.00-12.00 dan 13.00-17.00 WIB" in hello
    assert "4 jam kerja" in hello and "10 MB" in hello
    _in(tg, message(2, "/start", chat=778, lang="en"))
    assert "Monday-Friday 08:00-12:00 and 13:00-17:00 WIB" in _said(tg)
    _in(tg, message(3, "/status", message_id=11))
    assert _said(tg) == "Tidak ada tiket Anda yang masih terbuka."
    complaint = _in(tg, message(4, f"Saldo JHT belum cair. NIK saya {NIK}", message_id=12))
    _in(tg, message(5, "/status", message_id=13))
    listed = _said(tg)
    assert f"T-{complaint.ticket_id:06d}" in listed and "baru diterima" in listed
    assert "3224" not in listed and "Sari" not in listed
    _in(tg, message(6, "/bantuan", message_id=14))
    assert "/status" in _said(tg)
    clock = tg.clock
    assert isinstance(clock, FixedClock)

    def sleep(seconds: float) -> None:  # the outbox holds 1 message a second per chat
        clock.at += dt.timedelta(seconds=seconds)

    for _ in range(4):
        deliver_due(tg.uow, tg.senders, clock, capabilities=tg.capabilities, sleep=sleep)
        clock.at += dt.timedelta(seconds=1)
    texts = [c.params["text"] for c in standin.calls("sendMessage")]
    assert texts[0] == hello and len(texts) == 5
    with tg.engine.connect() as conn:  # answers to commands are not ticket messages
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.messages)
                            ).scalar_one() == 1


def test_deep_link_links_only_after_the_code(tg: App) -> None:
    mail = ingest_one(tg, normalized("Sertifikat pelatihan saya belum terbit", channel="email",
                                     email="sari@example.id", name="Sari"))
    number = f"T-{mail.ticket_id:06d}"
    _in(tg, message(1, f"/start {number}", chat=900))
    assert "kode 6 angka" in _said(tg) and "sari@" not in _said(tg)
    [code_mail] = _outbox(tg, "verification")
    assert code_mail.channel == "email" and code_mail.recipient == {"email": "sari@example.id"}
    code = re.search(r": (\d{6})\n", code_mail.payload["body"]).group(1)
    _in(tg, message(2, "/status", chat=900, message_id=11))
    assert number not in _said(tg)  # the payload alone links nothing
    _in(tg, message(3, f"/start {number}", chat=900, message_id=12))
    assert "tunggu" in _said(tg) and len(_outbox(tg, "verification")) == 1
    wrong = "000000" if code != "000000" else "111111"
    _in(tg, message(4, wrong, chat=900, message_id=13))
    assert "salah" in _said(tg)
    _in(tg, message(5, code, chat=900, message_id=14))
    assert "Berhasil" in _said(tg)
    _in(tg, message(6, "/status", chat=900, message_id=15))
    assert number in _said(tg)
    linked = audit_rows(tg, "customer.linked")[-1]
    assert linked["identities"][0]["kind"] == "telegram"
    after = _in(tg, message(7, "Sudah seminggu belum ada kabar soal sertifikat", chat=900,
                            message_id=16))
    assert after.customer_id == mail.customer_id
    _in(tg, message(8, code, chat=900, message_id=17))  # used: nothing waits for a code now
    assert "Tidak ada kode" in _said(tg)


def test_telegram_and_email_with_one_nik_are_one_customer_one_ticket(tg: App) -> None:
    first = _in(tg, message(1, f"Saldo JHT saya belum cair sejak Januari. NIK saya {NIK}",
                            chat=555))
    mail = ingest_one(tg, normalized(f"Pencairan saldo JHT saya belum masuk. NIK: {NIK}",
                                     channel="email", email="budi@example.id",
                                     sent_at="2026-03-02T10:00:00+07:00"))
    assert mail.customer_id == first.customer_id
    assert mail.ticket_id == first.ticket_id
    with tg.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.tickets)
                            ).scalar_one() == 1
