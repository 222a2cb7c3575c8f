"""Comments grouped by post (an incident of several citizens, whatever their words; one
citizen's thread on their ticket) and an Instagram citizen who later writes by e-mail with the
same phone number being one customer.  SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from channels.instagram.events import split
from ticketing.app import App
from ticketing.services.ingest import Outcome, store_and_process
from ticketing.store import tables
from tests.helpers import ingest_one, message

FIXTURES = Path(__file__).parent / "fixtures"


def webhook(app: App, name: str) -> list[Outcome]:
    return store_and_process(app.uow, split((FIXTURES / name).read_bytes(), {}),
                             policy=app.ingest_policy, clock=app.clock)


def incident_of(app: App, ticket_id: int | None) -> int | None:
    t = tables.tickets
    with app.engine.connect() as conn:
        value: int | None = conn.execute(sa.select(t.c.incident_id)
                                          .where(t.c.id == ticket_id)).scalar_one()
    return value


def test_comments_of_several_citizens_on_one_post_are_one_incident(ig_app: App) -> None:
    [first] = webhook(ig_app, "comment.json")
    [thread] = webhook(ig_app, "comment_reply.json")
    assert thread.ticket_id == first.ticket_id  # the citizen's own thread stays on their ticket
    outcomes = webhook(ig_app, "batch.json")  # another citizen on the same post, other words
    other = outcomes[-1]
    assert other.outcome == "created" and other.customer_id != first.customer_id
    incident = incident_of(ig_app, first.ticket_id)
    assert incident is not None and incident == incident_of(ig_app, other.ticket_id)
    dm = outcomes[0]  # a DM is in no post's cluster
    assert incident_of(ig_app, dm.ticket_id) is None


def test_an_instagram_citizen_who_later_emails_with_the_same_phone_is_one_customer(
        ig_app: App) -> None:
    [dm] = webhook(ig_app, "dm_text.json")  # "... HP 0812-3456-7890"
    mail = ingest_one(ig_app, message("Selamat siang, saya yang kemarin DM di Instagram. "
                                      "No HP saya 0812 3456 7890, dana belum cair.",
                                      channel="email", email="sari.w@example.id",
                                      sent_at="2026-03-03T10:00:00+07:00"))
    assert mail.customer_id == dm.customer_id
    i = tables.identities
    with ig_app.engine.connect() as conn:
        kinds = sorted(conn.execute(sa.select(i.c.kind).where(
            i.c.customer_id == dm.customer_id)).scalars())
    assert {"instagram", "phone", "email"} <= set(kinds)
