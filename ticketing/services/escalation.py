"""Use case: run a ticket's SLA escalation steps inside the timer pass that finds them due.

Called by ``services.sla.recompute`` (same connection, same transaction) once the warnings and
breaches of a ticket have been recorded in ``sla_signals``.  Each step runs at most once per
ticket and target (remembered in ``sla_signals`` as ``<target>.step.<step key>``) and is audited
as ``sla.escalated``.  A delayed step (``after`` minutes past a breach) not yet due gives a
wake-up the caller folds into ``sla_check_at``, so the due set stays an index range.

Must not: commit, read configuration, or put citizen data (NIK, phone, e-mail, the complaint's
words) in a notification or a supervisor's e-mail: ticket number, target, due time only.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ticketing.domain.calendar import BusinessCalendar, add_business_time
from ticketing.domain.escalation import (Action, EscalationStep, TargetSignals, Trigger,
                                         due_steps, raised)
from ticketing.domain.events import TicketPriorityChanged
from ticketing.domain.sla_events import SlaEscalated
from ticketing.domain.sla import SlaClock, SlaClocks
from ticketing.domain.sla_policy import SlaPolicy
from ticketing.domain.threading import ticket_tag
from ticketing.domain.zones import WIB
from ticketing.services import notifications
from ticketing.services.accounts import Role
from ticketing.services.outbox import enqueue
from ticketing.services.replies import new_message_id
from ticketing.store import tables
from ticketing.store.audit import record

log = logging.getLogger(__name__)
t = tables.tickets
ACTOR = "system:sla"
_TARGET_NAMES = {"first_response": "respons pertama", "next_response": "respons berikutnya",
                 "resolution": "penyelesaian"}


@dataclass(frozen=True, slots=True, kw_only=True)
class EscalationMail:
    """Set when supervisors also get e-mail (``sla_escalation_email``)."""

    from_address: str


@dataclass(slots=True)
class Escalator:
    """One timer batch's escalation context: the supervisors are read once per batch."""

    conn: sa.Connection
    now: dt.datetime
    mail: EscalationMail | None = None
    counts: dict[str, int] = field(default_factory=lambda: {"escalations": 0})
    _supervisors: list[sa.Row[Any]] | None = None

    def supervisors(self) -> list[sa.Row[Any]]:
        if self._supervisors is None:
            self._supervisors = notifications.active_users(self.conn, role=Role.SUPERVISOR)
        return self._supervisors

    def run(self, row: Any, policy: SlaPolicy, calendar: BusinessCalendar, clocks: SlaClocks,
            signals: dict[str, Any]) -> dt.datetime | None:
        """Run the steps due now for every target of this ticket (updating ``signals``);
        return when the next delayed step comes due, if any."""
        if not policy.escalation:
            return None
        priority = row.priority
        wakeups: list[dt.datetime] = []
        for clock in clocks.clocks:
            target = str(clock.target)
            breached = signals.get(f"{target}.breached")
            state = TargetSignals(
                target=target, warned=bool(signals.get(f"{target}.warned")),
                breached_at=dt.datetime.fromisoformat(breached) if breached else None,
                outstanding=clock.completed_at is None)
            fired = {key.removeprefix(f"{target}.step.") for key in signals
                     if key.startswith(f"{target}.step.")}
            plan = due_steps(policy.escalation, state, fired.__contains__, self.now,
                             lambda at, minutes: add_business_time(
                                 calendar, at, dt.timedelta(minutes=minutes)))
            if plan.next_at is not None:
                wakeups.append(plan.next_at)
            for step in plan.due:
                signals[f"{target}.step.{step.key}"] = self.now.isoformat()
                priority = self._step(row, step, clock, policy, priority)
                self.counts["escalations"] += 1
        return min(wakeups, default=None)

    def _step(self, row: Any, step: EscalationStep, clock: SlaClock, policy: SlaPolicy,
              priority: str) -> str:
        target = str(clock.target)
        due = clock.due_at.isoformat() if clock.due_at else None
        data: dict[str, Any] = {"step": step.key, "target": target, "action": str(step.action),
                                "due_at": due, "policy": policy.name,
                                "policy_version": policy.version}
        if clock.completed_at is not None:
            # The timer saw the breach only after the late answer (it was behind): the breach
            # is on record (sla.breached), but there is nothing left to push.
            data.update(outcome="skipped", reason="target already answered")
        elif step.action is Action.RAISE_PRIORITY:
            new = raised(priority, step.up_to)
            if new is None:
                data.update(outcome="capped", priority=priority, cap=step.up_to)
            else:
                self.conn.execute(t.update().where(t.c.id == row.id)
                                  .values(priority=new, updated_at=self.now))
                record(self.conn, TicketPriorityChanged(
                    at=self.now, actor=ACTOR, ticket_id=row.id, customer_id=row.customer_id,
                    previous=priority, priority=new,
                    details={"reason": f"sla escalation {step.key} on {target}"}))
                data.update(outcome="raised", previous=priority, priority=new)
                priority = new
        else:
            if step.action is Action.NOTIFY_ASSIGNEE:
                recipients = (notifications.active_users(self.conn, ids=[row.assignee_id])
                              if row.assignee_id is not None else [])
            else:
                recipients = self.supervisors()
            if not recipients:
                data.update(outcome="skipped", reason="no assignee"
                            if step.action is Action.NOTIFY_ASSIGNEE else "no active supervisor")
            else:
                kind = "sla.warning" if step.on is Trigger.WARNING else "sla.breached"
                notifications.notify(
                    self.conn, [r.id for r in recipients], ticket_id=row.id, kind=kind,
                    data={"target": target, "due_at": due, "step": step.key,
                          "priority": priority, "policy": policy.name}, now=self.now)
                data.update(outcome="notified", recipients=[r.id for r in recipients])
                if step.action is Action.NOTIFY_SUPERVISORS and self.mail is not None:
                    data["emails"] = [self._mail(row, r, step, target, clock)
                                      for r in recipients]
        record(self.conn, SlaEscalated(at=self.now, actor=ACTOR, ticket_id=row.id,
                                       customer_id=row.customer_id, details=data))
        return priority

    def _mail(self, row: Any, to: Any, step: EscalationStep, target: str,
              clock: SlaClock) -> int:
        assert self.mail is not None
        late = step.on is Trigger.BREACH
        due = (clock.due_at.astimezone(WIB).strftime("%Y-%m-%d %H:%M WIB")
               if clock.due_at else "-")
        what = "terlewati" if late else "hampir terlewati"
        body = (f"SLA {_TARGET_NAMES.get(target, target)} ({target}) tiket "
                f"{ticket_tag(row.id)} {what}.\n\n"
                f"Batas waktu: {due}\nLangkah eskalasi: {step.key}\n"
                f"Buka tiket: /tickets/{row.id}\n")
        domain = self.mail.from_address.rpartition("@")[2] or "localhost"
        payload = {"from": self.mail.from_address, "body": body,
                   "subject": f"{ticket_tag(row.id)} SLA {target} {what}",
                   "message_id": new_message_id(row.id, domain)}
        return enqueue(self.conn, ticket_id=row.id, message_id=None, channel="email",
                       kind="notification", recipient={"email": to.email, "name": to.name},
                       payload=payload, now=self.now)
