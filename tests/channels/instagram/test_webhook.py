"""The webhook on a running server: Meta's handshake, signed and forged posts, replays, and what
the worker makes of the stored events (tickets, take-backs, echoes).  SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
import sqlalchemy as sa

from channels.instagram.webhook import sign
from ticketing.app import App
from ticketing.entrypoints.worker import drain
from ticketing.store import tables
from tests.channels.instagram.conftest import SECRET, VERIFY

FIXTURES = Path(__file__).parent / "fixtures"
URL = "/channels/instagram/webhook"


def post(base: str, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return httpx.post(base + URL, content=body, headers=headers)


def inbox_rows(app: App) -> list[tuple[str, str]]:
    with app.engine.connect() as conn:
        return [(r.status, r.last_error or "") for r in conn.execute(
            sa.select(tables.inbox.c.status, tables.inbox.c.last_error)
            .where(tables.inbox.c.channel == "instagram").order_by(tables.inbox.c.id))]


def test_handshake_echoes_the_challenge_only_for_our_token(live: str) -> None:
    ok = httpx.get(live + URL, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY,
                                       "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    wrong = httpx.get(live + URL, params={"hub.mode": "subscribe", "hub.verify_token": "nope",
                                          "hub.challenge": "1158201444"})
    assert wrong.status_code == 403 and "1158201444" not in wrong.text


def test_forged_posts_are_refused_and_nothing_is_stored(live: str, ig_app: App) -> None:
    body = (FIXTURES / "dm_text.json").read_bytes()
    assert post(live, body, sign("another-secret", body)).status_code == 403
    assert post(live, body, None).status_code == 403
    assert post(live, body, "sha256=" + "0" * 64).status_code == 403
    assert post(live, body, sign(SECRET, body).replace("sha256=", "sha1=")).status_code == 403
    tampered = body.replace(b"belum cair", b"sudah cair")
    assert post(live, tampered, sign(SECRET, body)).status_code == 403
    assert inbox_rows(ig_app) == []


def test_signed_events_are_stored_before_200_and_replays_are_absorbed(live: str,
                                                                      ig_app: App) -> None:
    body = (FIXTURES / "batch.json").read_bytes()
    for _ in range(3):  # Meta retries when it did not see our 200
        answer = post(live, body, sign(SECRET, body))
        assert answer.status_code == 200
    assert [s for s, _ in inbox_rows(ig_app)] == ["pending"] * 3
    drain(ig_app)
    assert [s for s, _ in inbox_rows(ig_app)] == ["done", "ignored", "done"]
    with ig_app.engine.connect() as conn:
        kinds = sorted(r.extra.get("instagram_kind") for r in conn.execute(
            sa.select(tables.messages.c.extra).where(tables.messages.c.channel == "instagram")))
    assert kinds == ["comment", "dm"]


def test_an_unsent_message_is_marked_with_its_text_kept_and_an_echo_is_not_a_citizen_message(
        live: str, ig_app: App) -> None:
    for name in ("dm_text.json", "dm_echo.json", "dm_reaction.json", "dm_deleted.json"):
        body = (FIXTURES / name).read_bytes()
        assert post(live, body, sign(SECRET, body)).status_code == 200
        drain(ig_app)
    m = tables.messages
    with ig_app.engine.connect() as conn:
        rows = conn.execute(sa.select(m.c.body, m.c.retracted_at, m.c.direction,
                                      m.c.author_user_id, m.c.ticket_id)
                            .where(m.c.channel == "instagram").order_by(m.c.id)).all()
        revised = conn.execute(sa.select(sa.func.count()).select_from(
            tables.message_revisions)).scalar_one()
        tickets = conn.execute(sa.select(sa.func.count()).select_from(tables.tickets)
                               ).scalar_one()
    # the echo (sent from the Instagram app) is the desk's reply on the citizen's ticket; the
    # reaction opened nothing
    row, echo = rows
    assert row.retracted_at is not None and "belum cair" in row.body and revised == 1
    assert echo.direction == "out" and echo.author_user_id is None
    assert echo.ticket_id == row.ticket_id and tickets == 1
    assert [s for s, _ in inbox_rows(ig_app)] == ["done", "done", "ignored", "done"]
