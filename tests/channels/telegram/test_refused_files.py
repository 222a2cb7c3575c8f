"""A file the desk does not keep is told to the citizen: over the size limit, or one Telegram
will not give us (getFile fails for good).  The notice goes through the outbox as a bot reply to
the message that carried the file, in the citizen's language, with the limit in words and what
to do instead; once per refused file, and never counted as a response."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from ticketing.app import App
from ticketing.entrypoints.telegram import make_leader, poll_once
from ticketing.entrypoints.worker import drain, fetch
from ticketing.services.clock import FixedClock
from ticketing.services.outbox import deliver_due
from ticketing.store import tables
from tests.channels.telegram.standin import StandIn
from tests.channels.telegram.updates import message, photo

LIMIT = 2048  # "2 KB" in words


@pytest.fixture
def small(tg: App) -> Iterator[App]:
    core = App(settings=dataclasses.replace(tg.settings, max_attachment_bytes=LIMIT),
               clock=tg.clock)
    yield core
    core.close()


def test_refused_files_are_told_once_in_the_citizens_language(small: App, standin: StandIn,
                                                              clock: FixedClock) -> None:
    standin.push(photo(1, caption="Ini bukti transfernya", chat=801, message_id=31))
    standin.add_file("ph-1", b"\xff\xd8" + b"x" * 5000, "photos/file_1.jpg")  # too large
    standin.push(message(2, None, chat=802, message_id=32, lang="en", caption="My letter",
                         document={"file_id": "doc-gone", "file_unique_id": "d",
                                   "file_name": "surat.pdf", "mime_type": "application/pdf",
                                   "file_size": 900}))  # getFile: 400 invalid file_id
    standin.push(photo(3, caption="Foto KTP", chat=803, message_id=33))
    standin.add_file("ph-3", b"\xff\xd8 small", "photos/file_3.jpg")  # kept
    assert poll_once(small, make_leader(small, "host-a")) == 3
    assert drain(small) == 3
    assert fetch(small) == 3

    def sleep(seconds: float) -> None:
        clock.at += dt.timedelta(seconds=seconds)

    assert deliver_due(small.uow, small.senders, clock, capabilities=small.capabilities,
                       sleep=sleep) == 2
    sent = {c.params["chat_id"]: c.params for c in standin.calls("sendMessage")}
    assert set(sent) == {801, 802}  # the kept photo is not mentioned
    indonesian, english = sent[801], sent[802]
    assert "berkas \"foto.jpg\" tidak bisa kami simpan" in indonesian["text"]
    assert "maksimal 2 KB" in indonesian["text"] and "versi yang lebih kecil" in indonesian["text"]
    assert indonesian["reply_parameters"]["message_id"] == 31
    assert "could not download your file \"surat.pdf\" from Telegram" in english["text"]
    assert "at most 2 KB" in english["text"]
    assert english["reply_parameters"]["message_id"] == 32
    # Once per refused file: nothing left to fetch or to say.
    clock.at += dt.timedelta(hours=2)
    assert fetch(small) == 0
    assert deliver_due(small.uow, small.senders, clock, capabilities=small.capabilities,
                       sleep=sleep) == 0
    assert len(standin.calls("sendMessage")) == 2
    with small.engine.connect() as conn:
        rows = conn.execute(sa.select(tables.outbox.c.kind, tables.outbox.c.status,
                                      tables.outbox.c.ticket_id)).all()
        responded = conn.execute(sa.select(sa.func.count()).select_from(tables.tickets).where(
            tables.tickets.c.first_response_at.is_not(None))).scalar_one()
        notes = [m[0]["note"] for m in conn.execute(
            sa.select(tables.messages.c.attachments).order_by(tables.messages.c.id)).scalars()]
    assert sorted((r.kind, r.status) for r in rows) == [("bot_reply", "sent")] * 2
    assert all(r.ticket_id is not None for r in rows)  # on the ticket's record
    assert responded == 0  # a notice is no response
    assert notes[0].startswith("lebih dari 2 KB") and notes[1].startswith("tidak bisa diambil")
    assert notes[2] == "stored"
