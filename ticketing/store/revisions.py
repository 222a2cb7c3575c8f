"""A citizen's edits and take-backs of stored messages: the text before kept in
``message_revisions`` (one row per edit event), the message updated or marked retracted."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ticketing.store import tables

m, r = tables.messages, tables.message_revisions


def apply(conn: sa.Connection, *, message_id: int, kind: str, event_id: str,
          body: str | None, revised_at: dt.datetime, now: dt.datetime) -> bool:
    """Keep the message's text as it was, then change it (``edit``: the new ``body``;
    ``unsend``: retracted, text kept).  False when this event was applied before."""
    before = conn.execute(sa.select(m.c.body).where(m.c.id == message_id)).scalar_one()
    insert = (postgresql.insert(r) if conn.dialect.name == "postgresql" else sqlite.insert(r))
    kept = conn.execute(insert.values(
        message_id=message_id, kind=kind, external_id=event_id[:500], body_before=before or "",
        revised_at=revised_at, recorded_at=now).on_conflict_do_nothing().returning(r.c.id)
                        ).first()
    if kept is None:
        return False
    if kind == "edit":
        conn.execute(m.update().where(m.c.id == message_id).values(body=body or ""))
    else:
        conn.execute(m.update().where(m.c.id == message_id, m.c.retracted_at.is_(None))
                     .values(retracted_at=revised_at))
    return True


def of_message(conn: sa.Connection, message_id: int) -> list[dict[str, object]]:
    """The message's earlier texts, oldest first."""
    rows = conn.execute(sa.select(r.c.kind, r.c.body_before, r.c.revised_at, r.c.external_id)
                        .where(r.c.message_id == message_id).order_by(r.c.revised_at, r.c.id))
    return [dict(row._mapping) for row in rows]
