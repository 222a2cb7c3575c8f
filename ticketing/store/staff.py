"""The desk's staff as the phone channel needs them: the names of active users (a named voice
in a Teams or Zoom transcript that is one of them is an agent)."""

from __future__ import annotations

import sqlalchemy as sa

from ticketing.store import tables


def staff_names(conn: sa.Connection, *, limit: int = 5_000) -> list[str]:
    users = tables.users
    rows = conn.execute(sa.select(users.c.name).where(users.c.active.is_(True))
                        .order_by(users.c.id).limit(limit))
    return [str(name) for (name,) in rows if name]
