"""Several ingest workers at once (on PostgreSQL truly in parallel) never create two customers or two tickets for
one thing (advisory locks + SKIP LOCKED), and every raw payload is processed exactly once."""

from __future__ import annotations

import random
import threading

import sqlalchemy as sa

from ticketing.app import App
from ticketing.services.ingest import run_pending
from ticketing.store import inbox as inbox_store
from ticketing.store import tickets as q
from tests.helpers import message, raw

CITIZENS = 40
TOPICS = ["OTP tidak masuk ke HP saya", "Insentif saya belum cair juga",
          "Sertifikat pelatihan belum terbit"]


def _stream() -> list[dict[str, object]]:
    rng = random.Random(7)
    out = []
    for c in range(CITIZENS):
        phone = f"0812{c:04d}7788"
        intl = f"+62 812 {c:04d} 7788"
        topic = TOPICS[c % len(TOPICS)]
        out += [
            message(topic, channel="phone", phone=phone),
            message(f"{topic}. No HP saya {intl}", channel="telegram", telegram_id=f"77{c:05d}"),
            message(f"{topic}, mohon dibantu. WA saya {phone}", channel="email",
                    email=f"warga{c}@example.id"),
            message("gimana kak, sudah ada kabar?", channel="telegram", telegram_id=f"77{c:05d}"),
            message(f"{topic}!! tolong", channel="webchat", email=f"warga{c}@example.id"),
        ]
    rng.shuffle(out)
    return out


def test_concurrent_workers_never_split_a_customer_or_a_complaint(app: App) -> None:
    """On PostgreSQL the workers really overlap; on SQLite they queue on the write lock."""
    stream = _stream()
    with app.engine.begin() as conn:
        inbox_store.put_many(conn, [raw(m) for m in stream], app.clock.now())

    errors: list[BaseException] = []

    def worker() -> None:
        try:
            while run_pending(app.uow, policy=app.ingest_policy, clock=app.clock,
                              batch_size=3):
                pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    with app.engine.connect() as conn:
        statuses = conn.execute(sa.select(inbox_store.inbox.c.status, sa.func.count())
                                .group_by(inbox_store.inbox.c.status)).all()
        assert dict(statuses) == {"done": len(stream)}
        assert conn.execute(sa.select(sa.func.count()).select_from(q.messages)
                            .where(q.messages.c.direction == "in")).scalar_one() == len(stream)
        live_customers = conn.execute(sa.select(sa.func.count()).select_from(q.customers)
                                      .where(q.customers.c.merged_into_id.is_(None))
                                      ).scalar_one()
        assert live_customers == CITIZENS
        per_customer = conn.execute(
            sa.select(q.tickets.c.customer_id, sa.func.count())
            .where(q.tickets.c.merged_into_id.is_(None))
            .group_by(q.tickets.c.customer_id)).all()
        assert len(per_customer) == CITIZENS
        assert all(n == 1 for _, n in per_customer), per_customer
        # Every message sits on a live ticket of its own (canonical) customer.
        orphans = conn.execute(
            sa.select(sa.func.count()).select_from(
                q.messages.join(q.tickets, q.tickets.c.id == q.messages.c.ticket_id))
            .where(sa.or_(q.tickets.c.merged_into_id.is_not(None),
                          q.tickets.c.customer_id != q.messages.c.customer_id))).scalar_one()
        assert orphans == 0
