"""The acknowledgement promises the ticket's own first-response target and the hours of its
calendar (the SLA policy chosen at ingest), in the citizen's language: Indonesian by default,
English for a complaint written in English."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP

import sqlalchemy as sa

from channels.email.server import CONTENT_TYPE
from ticketing.app import App
from ticketing.domain.calendar import calendars_from_config
from ticketing.domain.service_hours import business_duration, moment, weekly_hours
from ticketing.entrypoints.worker import drain
from ticketing.services.intake import raw_sink
from ticketing.services.ports import RawDelivery
from ticketing.store import tables
from tests.conftest import ROOT

INDONESIAN_TEXT = "Selamat pagi, OTP tidak masuk ke HP saya. Tolong dibantu ya kak."
ENGLISH_TEXT = ("Hello, I have not received the OTP code on my phone since yesterday. "
                "Please help me with my account, thank you.")

# A second policy for e-mail: 90 business minutes on the Makassar desk (Friday 08-11:30,
# 13:30-17:00 WITA), chosen by a rule placed before the default one.
SUREL_POLICY = """
[policies.surel]
version = 1
calendar = "wita"
first_response = 90
next_response = 240
resolution = 1440

[[rules]]
when = { channel = ["email"] }
policy = "surel"

[[rules]]
default = true"""


def _surel(text: str) -> str:
    return text.replace("\n[[rules]]\ndefault = true", SUREL_POLICY, 1)


def mail(body: str, n: int = 1, subject: str = "OTP") -> RawDelivery:
    msg = EmailMessage()
    msg["From"] = f"Warga {n} <warga{n}@gmail.com>"
    msg["To"] = "pengaduan@prakerja.example.id"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<ack{n}@gmail.com>"
    msg["Date"] = "Mon, 02 Mar 2026 09:15:00 +0700"
    msg.set_content(body)
    return RawDelivery(channel="email", key=f"ack-test-{n}", payload=msg.as_bytes(policy=SMTP),
                       content_type=CONTENT_TYPE)


def acks(app: App) -> list[tuple[str, str, str | None, str | None]]:
    """(subject, body, the ticket's policy, its language) of each acknowledgement."""
    o, t = tables.outbox, tables.tickets
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(o.c.payload, t.c.sla_policy, t.c.language)
                            .join(t, t.c.id == o.c.ticket_id)
                            .where(o.c.kind == "acknowledgement").order_by(o.c.id)).all()
    return [(r.payload["subject"], r.payload["body"], r.sla_policy, r.language) for r in rows]


def ingest(app: App, *deliveries: RawDelivery) -> None:
    sink = raw_sink(app.uow, app.clock)
    for d in deliveries:
        assert sink(d)
    drain(app)


def test_standard_policy_in_indonesian_and_english(app: App) -> None:
    ingest(app, mail(INDONESIAN_TEXT, 1), mail(ENGLISH_TEXT, 2, subject="OTP not received"))
    (s_id, b_id, p_id, l_id), (s_en, b_en, p_en, l_en) = acks(app)
    assert (p_id, l_id, p_en, l_en) == ("standard", "id", "standard", "en")
    assert s_id.endswith("Pengaduan Anda telah kami terima")
    assert "paling lambat 4 jam kerja." in b_id
    assert ("Jam layanan: Senin-Jumat 08.00-12.00 dan 13.00-17.00 WIB, di luar hari libur "
            "nasional dan cuti bersama.") in b_id
    assert "Yth. Warga 1," in b_id
    assert s_en.endswith("We have received your complaint")
    assert "respond within 4 business hours." in b_en
    assert ("Service hours: Monday-Friday 08:00-12:00 and 13:00-17:00 WIB, except national "
            "public holidays and joint leave days.") in b_en
    assert "jam kerja" not in b_en and "WITA" not in b_id + b_en


def test_another_policy_and_calendar_are_stated_as_they_are(
        app: App, configured: Callable[..., App]) -> None:
    other = configured(_surel)
    ingest(other, mail(INDONESIAN_TEXT, 1), mail(ENGLISH_TEXT, 2, subject="OTP not received"))
    (_, b_id, p_id, _), (_, b_en, p_en, _) = acks(other)
    assert (p_id, p_en) == ("surel", "surel")
    assert "paling lambat 1 jam 30 menit kerja." in b_id
    assert ("Senin-Kamis 08.00-12.00 dan 13.00-17.00 WITA; Jumat 08.00-11.30 dan 13.30-17.00 "
            "WITA") in b_id
    assert "respond within 1 business hour and 30 minutes." in b_en
    assert ("Monday-Thursday 08:00-12:00 and 13:00-17:00 WITA; Friday 08:00-11:30 and "
            "13:30-17:00 WITA") in b_en
    assert "WIB" not in b_id + b_en and "4 jam" not in b_id


def test_words_for_targets_and_weeks() -> None:
    assert business_duration(240) == "4 jam kerja"
    assert business_duration(30, "en") == "30 business minutes"
    assert business_duration(60, "en") == "1 business hour"
    assert business_duration(45, "id") == "45 menit kerja"
    doc = tomllib.loads((ROOT / "config" / "sla.toml").read_text())
    wit = calendars_from_config(doc)["wit"]
    assert weekly_hours(wit).startswith(
        "Senin-Jumat 08.00-12.00 dan 13.00-17.00 WIT; Sabtu 08.00-12.00 WIT")
    no_holidays = dataclasses.replace(wit, holidays={})
    assert weekly_hours(no_holidays, "en").endswith("Saturday 08:00-12:00 WIT")
    # A moment in the desk's zone, as a citizen reads it (the web chat's next opening).
    at = dt.datetime(2026, 12, 6, 23, 0, tzinfo=dt.timezone.utc)  # Monday 08:00 in Jayapura
    assert moment(at, wit) == "Senin, 7 Desember 2026 08.00 WIT"
    assert moment(at, wit, "en") == "Monday, 7 December 2026 08:00 WIT"
