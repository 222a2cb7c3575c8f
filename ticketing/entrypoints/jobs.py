"""The drivers' loops over use cases that work in batches: each batch is one transaction,
begun and committed here (the use cases take a connection and never commit).  The worker, the
CLI, the API and the pages call these; a batch that fails rolls back alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ticketing.app import App
from ticketing.services import presence, remeasure as remeasuring, routing
from ticketing.services.remeasure import Selection
from ticketing.services.sla import OnBreach, SlaSetup, tick_batch
from ticketing.store.locking import statement_transactions
from ticketing.store.routing import Claim


def sla_tick(app: App, *, setup: SlaSetup | None = None, limit: int = 500,
             on_breach: OnBreach | None = None,
             stop: Callable[[], bool] | None = None) -> dict[str, int]:
    """The SLA timer until nothing is due (or ``stop`` says so, asked between two batches: a
    backlog of thousands of breached tickets takes minutes on a loaded host, and a worker told
    to stop must not wait for it): one transaction per batch of tickets."""
    total = {"evaluated": 0, "warnings": 0, "breaches": 0, "escalations": 0}
    while not (stop is not None and stop()):
        counts, more = app.write(tick_batch, setup or app.sla_setup, app.clock.now(),
                                 limit=limit, on_breach=on_breach)
        for key, value in counts.items():
            total[key] += value
        if not more:
            return total
    return total


def escalating_sla_tick(app: App, stop: Callable[[], bool] | None = None) -> dict[str, int]:
    """The worker's SLA timer: what breached goes to the supervisors' queues as it goes."""
    config = app.routing
    return sla_tick(app, on_breach=lambda conn, ids, now: presence.escalate_breached(
        conn, ids, config, now), stop=stop)


def routing_tick(app: App) -> dict[str, int]:
    """Presence, triage and auto-assignment: one pass, one transaction."""
    return app.write(presence.routing_tick, app.routing, app.clock.now())


def claim_next(app: App, agent_id: int) -> Claim | None:
    """The shared queue's claim (``services.routing.claim_with``) on the connection it needs:
    autocommit where several writers run, one ``BEGIN IMMEDIATE`` on SQLite."""
    with statement_transactions(app.engine) as conn:
        return routing.claim_with(conn, agent_id, config=app.routing, clock=app.clock,
                                  cache=app.agent_cache)


def remeasure(app: App, selection: Selection, *, setup: SlaSetup | None = None,
              dry_run: bool = False, batch_size: int = 500, actor: str = "system:recompute",
              progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """``ticketing sla recompute``: batches of tickets, one transaction each.  Returns
    ``{"considered", "changed", "unchanged", "unmeasurable", "dry_run"}``."""
    setup = setup or app.sla_setup
    counts: dict[str, Any] = {"considered": 0, "changed": 0, "unchanged": 0,
                              "unmeasurable": 0, "dry_run": dry_run}
    after = 0
    while ids := app.read(remeasuring.next_batch, selection, batch_size, after):
        batch = app.write(remeasuring.remeasure_batch, ids, setup, app.clock.now(),
                          dry_run=dry_run, actor=actor)
        for key, value in batch.items():
            counts[key] += value
        counts["considered"] += len(ids)
        after = ids[-1]
        if progress is not None:
            progress(len(ids))
    return counts
