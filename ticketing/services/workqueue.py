"""Use case: the queue page's list of tickets, filtered, sorted, counted and paged
(``store.workqueue``), with subjects masked for agents as everywhere else.

Filters arrive as lists of strings (a query string's repeated keys); a value outside a known
set is refused with ``InvalidInput`` (the page answers 422 with the reason), never a 500."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from ticketing.domain.errors import InvalidInput
from ticketing.domain.lifecycle import TicketStatus
from ticketing.domain.redact import redact
from ticketing.domain.routing import CHANNELS
from ticketing.services.accounts import Principal
from ticketing.store import workqueue

FILTERS = ("status", "channel", "topic", "team", "assignee", "sla", "language")
PER_PAGE = (10, 25, 50, 100)
MAX_VALUE = 200


def _checked(filters: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    known: dict[str, set[str]] = {"status": {str(s) for s in TicketStatus}, "channel": set(CHANNELS),
             "sla": set(workqueue.SLA_STATES), "language": {"id", "en"}}
    out: dict[str, list[str]] = {}
    for name in FILTERS:
        values = [v.strip() for v in filters.get(name) or () if v and v.strip()]
        for value in values:
            if len(value) > MAX_VALUE:
                raise InvalidInput(f"{name}: value too long")
            if name in known and value not in known[name]:
                raise InvalidInput(f"{name}: unknown value {value!r}; known: "
                                   f"{', '.join(sorted(known[name]))}")
        if values:
            out[name] = values
    return out


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in row.items()}


def queue_list(conn: sa.Connection, viewer: Principal, filters: Mapping[str, Sequence[str]], *,
               now: dt.datetime, sort: str = "due", page: int = 1, per_page: int = 25,
               with_choices: bool = True, with_counts: bool = True,
               teams: Sequence[str] = (), topics: Sequence[str] = ()) -> dict[str, Any]:
    """One page of the queue.  ``with_counts``: the totals (each counted up to
    ``store.workqueue.COUNT_CAP``; ``total_capped`` says the total is more); ``with_choices``:
    the filters' values, ``teams`` and ``topics`` being the configured ones."""
    checked = _checked(filters)
    if sort not in workqueue.SORTS:
        raise InvalidInput(f"sort: one of {', '.join(workqueue.SORTS)}")
    if per_page not in PER_PAGE:
        raise InvalidInput(f"per_page: one of {', '.join(map(str, PER_PAGE))}")
    if not 1 <= page <= 100_000:
        raise InvalidInput("page: 1 to 100000")
    got = workqueue.page(conn, checked, viewer_id=viewer.user_id, now=now, sort=sort,
                         offset=(page - 1) * per_page, limit=per_page, counts=with_counts)
    rows = [_jsonable(r) for r in got["rows"]]
    if not viewer.can_see_personal_data():
        for r in rows:
            if r.get("subject"):
                r["subject"] = redact(r["subject"])
    pages = max(1, -(-got["total"] // per_page))
    more = page < pages or (got["total_capped"] and len(rows) == per_page)
    return {"items": rows, "total": got["total"], "by_state": got["by_state"], "page": page,
            "pages": pages, "per_page": per_page, "sort": sort, "filters": checked,
            "capped": got["capped"], "total_capped": got["total_capped"], "more": more,
            "choices": (workqueue.choices(conn, teams=teams, topics=topics)
                        if with_choices else {})}
