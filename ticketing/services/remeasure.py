"""Use case: re-measure existing tickets under the CURRENT SLA policy and calendar versions
(``ticketing sla recompute``) — the only way an edited policy reaches a ticket opened before.

A ticket changes when what it is measured under differs from today's config: the terms of its
policy (targets, warning share, escalation steps, version) or the version of its calendar.  Its
policy keeps its name (a policy removed from the config is replaced by the rules' choice); its
clocks are replayed from its history under the new terms, stored, and the change audited as
``sla.recomputed`` with the previous and new policy, versions and due times.  ``sla_check_at`` is
set to now so the next timer pass emits whatever warnings, breaches and escalations the new
measurement makes due (signals already sent stay sent: they are history).

Batches of tickets, one transaction each (the driver's loop: ``entrypoints.jobs``) (rows locked on PostgreSQL, so a timer pass waits
rather than racing); a dry run reads and counts but writes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ticketing.domain.errors import NotFound
from ticketing.domain.lifecycle import TicketStatus
from ticketing.domain.sla import evaluate
from ticketing.services.sla import SlaSetup, columns, history
from ticketing.domain.sla_events import SlaRecomputed
from ticketing.store import tables
from ticketing.store.audit import record
from ticketing.store.locking import for_update

log = logging.getLogger(__name__)
t = tables.tickets
OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING_CUSTOMER)
_SHOWN = ("sla_policy", "sla_policy_version", "sla_calendar", "sla_calendar_version",
          "first_response_due_at", "next_response_due_at", "resolution_due_at")


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """Which tickets: these ids, or every open ticket (new, open, pending_customer)."""

    ticket_ids: tuple[int, ...] = ()
    open_tickets: bool = False


def count(conn: sa.Connection, selection: Selection) -> int:
    if not selection.open_tickets:
        return len(set(selection.ticket_ids))
    return int(conn.execute(sa.select(sa.func.count()).select_from(t).where(
        t.c.status.in_([str(s) for s in OPEN_STATUSES]),
        t.c.merged_into_id.is_(None))).scalar_one())


def next_batch(conn: sa.Connection, selection: Selection, size: int,
               after: int = 0) -> list[int]:
    """The next ids of the selection after ``after`` (keyset over ix_tickets_status_id for the
    open tickets: never a scan of closed history).  Named ids that do not exist are refused."""
    if not selection.open_tickets:
        ids = sorted(set(selection.ticket_ids))
        if after == 0:
            known = set(conn.execute(sa.select(t.c.id).where(t.c.id.in_(ids))).scalars())
            missing = [i for i in ids if i not in known]
            if missing:
                raise NotFound(f"no ticket {', '.join(map(str, missing))}")
        return [i for i in ids if i > after][:size]
    return list(conn.execute(
        sa.select(t.c.id).where(t.c.status.in_([str(s) for s in OPEN_STATUSES]),
                                t.c.merged_into_id.is_(None), t.c.id > after)
        .order_by(t.c.id).limit(size)).scalars())


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def remeasure_batch(conn: sa.Connection, ids: Sequence[int], setup: SlaSetup, now: dt.datetime,
                    *, dry_run: bool, actor: str = "system:recompute") -> dict[str, int]:
    """Re-measure these tickets in the caller's transaction (rows locked where several writers
    run); counts ``changed``, ``unchanged``, ``unmeasurable``."""
    counts = {"changed": 0, "unchanged": 0, "unmeasurable": 0}
    stmt = sa.select(t).where(t.c.id.in_(list(ids))).order_by(t.c.id)
    if not dry_run:
        stmt = for_update(conn, stmt)
    rows = conn.execute(stmt).all()
    events = history(conn, ids)
    for row in rows:
        if row.merged_into_id is not None:
            counts["unchanged"] += 1
            continue
        policy, calendar = setup.named(row.sla_policy) or setup.policy_for(
            channel=row.channel, topic=row.topic, priority=row.priority, team=row.team)
        terms = policy.terms()
        if (row.sla_policy == policy.name and row.sla_terms == terms
                and row.sla_calendar == calendar.name
                and row.sla_calendar_version == calendar.version):
            counts["unchanged"] += 1
            continue
        try:
            clocks = evaluate(policy, calendar, events[row.id], now,
                              first_contact_at=min(row.first_message_at, now))
        except ValueError:
            log.warning("ticket %s has no SLA history to measure", row.id)
            counts["unmeasurable"] += 1
            continue
        counts["changed"] += 1
        if dry_run:
            continue
        values = {**columns(clocks), "sla_terms": terms, "sla_check_at": now}
        previous = {k: _iso(getattr(row, k)) for k in _SHOWN}
        current = {k: _iso(values[k]) for k in _SHOWN}
        conn.execute(t.update().where(t.c.id == row.id).values(**values))
        record(conn, SlaRecomputed(at=now, actor=actor, ticket_id=row.id,
                                   customer_id=row.customer_id,
                                   previous={**previous, "terms": row.sla_terms},
                                   current={**current, "terms": terms}))
    return counts
