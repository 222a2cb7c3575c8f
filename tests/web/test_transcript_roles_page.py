"""A call whose speakers' roles were inferred from the content says so on the ticket page, and a
speaker label that is a phone number (a Zoom dial-in) is masked for agents."""

from __future__ import annotations

from typing import Any

import pytest

from channels.phone.intake import transcript_delivery
from ticketing.app import App
from ticketing.services.ingest import store_and_process
from tests.channels.phone.test_ingest import RECEIVED
from tests.routing_helpers import agent
from tests.web.test_agent_pages import _sign_in

pytestmark = pytest.mark.browser
DIAL_IN = "+62 812 3456 7001"
CALL = f"""WEBVTT

00:00:00.000 --> 00:00:03.000
<v {DIAL_IN}>Halo, insentif saya belum cair, NIK saya 3273 1212 0690 0001.</v>

00:00:03.500 --> 00:00:08.000
<v Layanan Prakerja>Selamat siang, layanan pengaduan Prakerja, ada yang bisa dibantu?</v>
"""


def test_inferred_roles_are_shown_and_a_number_as_speaker_is_masked_for_agents(
        app: App, live_url: str, page: Any) -> None:
    delivery = transcript_delivery(CALL.encode(), filename="zoom.vtt", caller="081234567001",
                                   received_at=RECEIVED)
    [outcome] = store_and_process(app.uow, [delivery], policy=app.ingest_policy, clock=app.clock)
    assert outcome.outcome == "created", outcome.error
    agent(app, email="ani@example.id")
    _sign_in(page, live_url, "ani@example.id", f"/login?next=/tickets/{outcome.ticket_id}")
    shown = page.locator("#conversation .roles-inferred").inner_text()
    assert "ditebak dari isi percakapan" in shown and "Layanan Prakerja → petugas" in shown
    assert DIAL_IN not in page.content() and "+62 812 3456 7001" not in shown
    assert "→ penelepon" in shown
    subject = page.locator("#conversation .meta", has_text="Subjek").first.inner_text()
    assert "insentif saya belum cair" in subject.lower()  # the caller's, not the greeting
    assert "3273 1212 0690 0001" not in page.content()  # the NIK in it is masked for agents
