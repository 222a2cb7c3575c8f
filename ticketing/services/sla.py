"""Use case: keep each ticket's SLA clocks, and the timer that warns and declares breaches.

The pure clock (``ticketing.domain.sla.evaluate``) replays a ticket's history; this module
feeds it that history from the database (citizen messages, human replies once delivered, a
call in which an agent spoke, status changes), stores the due times and states on the ticket, and sets
``sla_check_at`` — the next instant anything can happen — in an index, so the timer finds what is
due with a range scan.  Warnings and breaches are emitted once each (remembered in
``sla_signals``) and audited, and the policy's escalation steps run in the same pass
(``services.escalation``).  A ticket keeps the policy terms it opened under (``sla_terms``): an
edited policy applies to new tickets; existing ones move only by an explicit recompute
(``services.remeasure``).  A calendar is not stored per ticket: a changed calendar applies to
running clocks at their next evaluation, audited once per ticket as ``sla.calendar_changed``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ticketing.domain.calendar import BusinessCalendar, add_business_time
from ticketing.domain.routing import queue_due
from ticketing.domain.sla import ClockState, EventKind, SlaClock, SlaClocks, TicketEvent, evaluate
from ticketing.domain.sla_policy import SlaConfig, SlaPolicy, policy_from_terms
from ticketing.domain.text import Role, transcript_turns
from ticketing.services.escalation import EscalationMail, Escalator
from ticketing.domain import events as ev
from ticketing.domain import sla_events as sla_ev
from ticketing.store import tables
from ticketing.store.audit import record
from ticketing.store.locking import skip_locked

log = logging.getLogger(__name__)
t, m, audit = tables.tickets, tables.messages, tables.audit
_STATUS_EVENTS = (ev.TicketStatusChanged.KIND, ev.TicketReopened.KIND)


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaSetup:
    config: SlaConfig
    calendars: Mapping[str, BusinessCalendar]
    mail: EscalationMail | None = None  # supervisors' escalation e-mail, when configured

    def policy_for(self, *, channel: str | None, topic: str | None, priority: str | None,
                   team: str | None) -> tuple[SlaPolicy, BusinessCalendar]:
        policy = self.config.choose(channel=channel, topic=topic, priority=priority, team=team)
        return policy, self.calendars[policy.calendar_name]

    def named(self, name: str | None) -> tuple[SlaPolicy, BusinessCalendar] | None:
        policy = self.config.policies.get(name or "")
        return (policy, self.calendars[policy.calendar_name]) if policy else None

    def measured_under(self, row: Any) -> tuple[SlaPolicy, BusinessCalendar] | None:
        """The policy a ticket row was opened (or last recomputed) under: its stored terms, else
        (opened before terms were stored) the current policy of that name, else the rules'
        choice; with the calendar of that name today.  ``None`` if that calendar is gone."""
        if row.sla_terms:
            policy = policy_from_terms(row.sla_policy, row.sla_terms)
            calendar = self.calendars.get(policy.calendar_name)
            return (policy, calendar) if calendar is not None else None
        return self.named(row.sla_policy) or self.policy_for(
            channel=row.channel, topic=row.topic, priority=row.priority, team=row.team)


def _fulfilled_minutes(clock: SlaClock) -> int | None:
    """Business minutes a fulfilled target took (pauses excluded), in time or late; None while
    it is still open (a reopened resolution counts again from where it stopped)."""
    return clock.consumed_minutes if clock.completed_at is not None else None


def columns(clocks: SlaClocks) -> dict[str, Any]:
    """The ticket columns that mirror a clock evaluation, with the measures the report
    aggregates (so it never recomputes business time per row)."""
    nxt = clocks.next_response
    out = {
        "sla_policy": clocks.policy_name, "sla_policy_version": clocks.policy_version,
        "sla_calendar": clocks.calendar_name, "sla_calendar_version": clocks.calendar_version,
        "first_response_due_at": clocks.first_response.due_at,
        "first_response_state": str(clocks.first_response.state),
        # The first response as the history has it (a delivered reply, a call in which an
        # agent spoke): a bounce takes it back, a later delivery moves it.
        "first_response_at": clocks.first_response.completed_at,
        "next_response_due_at": nxt.due_at if nxt and nxt.state is ClockState.RUNNING else None,
        "resolution_due_at": clocks.resolution.due_at,
        "resolution_state": str(clocks.resolution.state),
        "sla_check_at": clocks.next_wakeup,
        "first_response_business_minutes": _fulfilled_minutes(clocks.first_response),
        "resolution_business_minutes": _fulfilled_minutes(clocks.resolution),
    }
    # The shared queue's order key, kept wherever the SLA columns are written.
    pending = [c.due_at for c in clocks.clocks if c.completed_at is None
               and c.state in (ClockState.RUNNING, ClockState.BREACHED)]
    return {**out, "queue_due_at": queue_due(*pending)}


_TERMS: dict[int, tuple[SlaPolicy, dict[str, Any]]] = {}


def _terms_of(policy: SlaPolicy) -> dict[str, Any]:
    """One (read-only) terms dict per loaded policy, shared by the tickets it opens: a batch
    serializes it once instead of building it per ticket."""
    known = _TERMS.get(id(policy))
    if known is None or known[0] is not policy:
        known = _TERMS[id(policy)] = (policy, policy.terms())
    return known[1]


def opening_clocks(setup: SlaSetup, *, channel: str, topic: str | None, priority: str,
                   team: str | None, first_message_at: dt.datetime,
                   now: dt.datetime) -> dict[str, Any]:
    """A new ticket's clocks.  Nothing has happened yet but the citizen's first message, so the
    replay is not needed: the due and warning instants are straight additions of business time
    (what ``evaluate`` would give for that one-event history; the suite checks they agree)."""
    policy, calendar = setup.policy_for(channel=channel, topic=topic, priority=priority,
                                        team=team)
    start = min(first_message_at, now)

    def due(minutes: float) -> dt.datetime:
        return add_business_time(calendar, start, dt.timedelta(minutes=minutes))

    first_due = due(policy.first_response_minutes)
    resolution_due = due(policy.resolution_minutes)
    upcoming = [t for t in (due(policy.first_response_minutes * policy.warning_share), first_due,
                            due(policy.resolution_minutes * policy.warning_share),
                            resolution_due) if t > now]
    out = {
        "sla_policy": policy.name, "sla_policy_version": policy.version,
        "sla_calendar": calendar.name, "sla_calendar_version": calendar.version,
        "sla_terms": _terms_of(policy),
        "first_response_due_at": first_due,
        "first_response_state": "running" if first_due > now else "breached",
        "next_response_due_at": None, "resolution_due_at": resolution_due,
        "resolution_state": "running" if resolution_due > now else "breached",
        # Something already past (a message that waited in a queue): let the timer look now.
        "sla_check_at": min(upcoming) if len(upcoming) == 4 else now,
        "first_response_business_minutes": None, "resolution_business_minutes": None,
    }
    return {**out, "queue_due_at": queue_due(first_due, resolution_due)}


def _agent_spoke(body: str) -> bool:
    turns = transcript_turns(body)
    return bool(turns) and any(turn.role is Role.AGENT for turn in turns or ())


def history(conn: sa.Connection, ticket_ids: Sequence[int]) -> dict[int, list[TicketEvent]]:
    """Each ticket's SLA-relevant events, read with two indexed queries for all of them."""
    out: dict[int, list[TicketEvent]] = {tid: [] for tid in ticket_ids}
    rows = conn.execute(sa.select(m.c.ticket_id, m.c.direction, m.c.channel, m.c.sent_at,
                                  m.c.received_at, m.c.author_user_id, m.c.body, m.c.automation,
                                  m.c.delivered_at)
                        .where(m.c.ticket_id.in_(list(ticket_ids))))
    for r in rows:
        if r.direction == "in" and r.automation is None:
            at = min(r.sent_at, r.received_at)  # a clock set in the future cannot delay us
            out[r.ticket_id].append(TicketEvent(at=at, kind=EventKind.CUSTOMER_MESSAGE))
            if r.channel == "phone" and _agent_spoke(r.body):
                # A call in which an agent spoke is a first response, at the end of the call.
                out[r.ticket_id].append(TicketEvent(at=at, kind=EventKind.AGENT_RESPONSE))
        elif r.direction == "out" and r.automation is None and r.delivered_at is not None:
            # A reply is a response when its channel accepted it (a call back: when it reached
            # the citizen); one still queued, failed or bounced is none.  A reply staff wrote
            # in the provider's own app (no agent of ours: ``author_user_id`` is NULL) is one
            # too: the provider's echo says it reached the citizen (services.ingest.from_desk).
            out[r.ticket_id].append(TicketEvent(at=r.delivered_at,
                                                kind=EventKind.AGENT_RESPONSE))
    statuses = conn.execute(sa.select(audit.c.ticket_id, audit.c.at, audit.c.kind, audit.c.data)
                            .where(audit.c.ticket_id.in_(list(ticket_ids)),
                                   audit.c.kind.in_(_STATUS_EVENTS)))
    for s in statuses:
        to = "open" if s.kind == "ticket.reopened" else str((s.data or {}).get("status"))
        kind = EventKind.RESOLVED if to in ("resolved", "closed") else EventKind.STATUS_CHANGE
        out[s.ticket_id].append(TicketEvent(at=s.at, kind=kind, to=to))
    return out


def recompute(conn: sa.Connection, ticket_ids: Iterable[int], setup: SlaSetup,
              now: dt.datetime, breached: list[int] | None = None) -> dict[str, int]:
    """Re-evaluate these tickets' clocks from their history, store them, and emit the warnings
    and breaches that have come due (each once)."""
    ids = sorted(set(ticket_ids))
    counts = {"evaluated": 0, "warnings": 0, "breaches": 0, "escalations": 0}
    if not ids:
        return counts
    rows = conn.execute(sa.select(t.c.id, t.c.customer_id, t.c.channel, t.c.topic, t.c.priority,
                                  t.c.team, t.c.assignee_id, t.c.first_message_at, t.c.sla_policy,
                                  t.c.sla_terms, t.c.sla_calendar, t.c.sla_calendar_version,
                                  t.c.sla_signals, t.c.merged_into_id)
                        .where(t.c.id.in_(ids))).all()
    events = history(conn, ids)
    escalator = Escalator(conn, now, setup.mail)
    updates: list[dict[str, Any]] = []
    for row in rows:
        if row.merged_into_id is not None:
            updates.append({"tid": row.id, **_cleared()})
            continue
        chosen = setup.measured_under(row)
        if chosen is None:
            log.warning("ticket %s: calendar of policy %s is no longer configured", row.id,
                        row.sla_policy)
            updates.append({"tid": row.id, **_cleared()})
            continue
        policy, calendar = chosen
        try:
            clocks = evaluate(policy, calendar, events[row.id], now,
                              first_contact_at=min(row.first_message_at, now))
        except ValueError:
            log.warning("ticket %s has no SLA history to measure", row.id)
            updates.append({"tid": row.id, **_cleared()})
            continue
        signals = dict(row.sla_signals or {})
        for clock in clocks.clocks:
            name = str(clock.target)
            if clock.state is ClockState.BREACHED and not signals.get(f"{name}.breached"):
                signals[f"{name}.breached"] = (clock.breached_at or now).isoformat()
                counts["breaches"] += 1
                if breached is not None:
                    breached.append(row.id)
                _emit(conn, sla_ev.SlaBreached, row, name, clock.breached_at or now, now, policy)
            elif clock.state is ClockState.RUNNING and clock.warn_at is not None \
                    and clock.warn_at <= now and not signals.get(f"{name}.warned"):
                signals[f"{name}.warned"] = clock.warn_at.isoformat()
                counts["warnings"] += 1
                _emit(conn, sla_ev.SlaWarned, row, name, clock.due_at, now, policy)
        later = escalator.run(row, policy, calendar, clocks, signals)
        values = {**columns(clocks), "sla_signals": signals}
        if later is not None and (values["sla_check_at"] is None or later < values["sla_check_at"]):
            values["sla_check_at"] = later
        if not row.sla_terms:
            values["sla_terms"] = policy.terms()  # opened before terms were stored: pin them now
        if row.sla_calendar == calendar.name and row.sla_calendar_version not in (
                None, calendar.version):
            record(conn, sla_ev.SlaCalendarChanged(
                at=now, ticket_id=row.id, customer_id=row.customer_id, calendar=calendar.name,
                previous_version=row.sla_calendar_version, version=calendar.version))
        updates.append({"tid": row.id, **values})
        counts["evaluated"] += 1
    counts["escalations"] = escalator.counts["escalations"]
    if updates:
        for update in updates:
            tid = update.pop("tid")
            conn.execute(t.update().where(t.c.id == tid).values(**update))
    return counts


History = Callable[[sa.Connection, Sequence[int]], dict[int, list[TicketEvent]]]


def backfill_measures(conn: sa.Connection, setup: SlaSetup, *, now: dt.datetime,
                      batch: int = 1000, read_history: History = history) -> int:
    """Fill the stored measures of tickets whose targets were fulfilled before the measures
    existed (migration 0008), by the same replay as ``recompute``; nothing else changes (no
    state, signal or audit).  Returns how many tickets were measured.  ``read_history``: a
    migration passes the reader of its own schema (``history`` reads today's)."""
    done, after = 0, 0
    while True:
        rows = conn.execute(
            sa.select(t.c.id, t.c.channel, t.c.topic, t.c.priority, t.c.team,
                      t.c.first_message_at, t.c.sla_policy)
            .where(t.c.id > after, t.c.merged_into_id.is_(None),
                   t.c.first_response_business_minutes.is_(None),
                   t.c.resolution_business_minutes.is_(None),
                   sa.or_(t.c.first_response_at.is_not(None), t.c.resolved_at.is_not(None)))
            .order_by(t.c.id).limit(batch)).all()
        if not rows:
            return done
        after = rows[-1].id
        events = read_history(conn, [r.id for r in rows])
        for row in rows:
            policy, calendar = setup.named(row.sla_policy) or setup.policy_for(
                channel=row.channel, topic=row.topic, priority=row.priority, team=row.team)
            try:
                clocks = evaluate(policy, calendar, events[row.id], now,
                                  first_contact_at=min(row.first_message_at, now))
            except ValueError:
                continue
            values = columns(clocks)
            conn.execute(t.update().where(t.c.id == row.id).values(
                first_response_business_minutes=values["first_response_business_minutes"],
                resolution_business_minutes=values["resolution_business_minutes"]))
            done += 1


def _cleared() -> dict[str, Any]:
    # Not measured on its own (merged away, or nothing to measure): no timer, no measures.
    return {"sla_check_at": None, "next_response_due_at": None, "queue_due_at": None,
            "first_response_business_minutes": None, "resolution_business_minutes": None}


def _emit(conn: sa.Connection, kind: type[sla_ev.SlaSignal], row: Any,
          target: str, due: dt.datetime | None, now: dt.datetime, policy: SlaPolicy) -> None:
    record(conn, kind(at=now, ticket_id=row.id, customer_id=row.customer_id, target=target,
                      due_at=due, policy=policy.name, policy_version=policy.version))


OnBreach = Callable[[sa.Connection, list[int], dt.datetime], object]


def tick_batch(conn: sa.Connection, setup: SlaSetup, now: dt.datetime, *, limit: int = 500,
               on_breach: OnBreach | None = None) -> tuple[dict[str, int], bool]:
    """One timer batch in the caller's transaction: the tickets whose next SLA instant has come
    (an index range, rows taken with SKIP LOCKED where several workers run), re-evaluated.
    ``on_breach`` (routing's escalation) runs in the same transaction over the tickets that
    breached.  Returns the counts and whether the batch was full (more may be due)."""
    total = {"evaluated": 0, "warnings": 0, "breaches": 0, "escalations": 0}
    ids = list(conn.execute(skip_locked(conn, sa.select(t.c.id).where(t.c.sla_check_at <= now)
                                        .order_by(t.c.sla_check_at).limit(limit))).scalars())
    if not ids:
        return total, False
    breached: list[int] = []
    for key, value in recompute(conn, ids, setup, now, breached).items():
        total[key] += value
    if on_breach is not None and breached:
        on_breach(conn, sorted(set(breached)), now)
    return total, len(ids) >= limit
