"""The routing steps of the ingest pipeline: before the write, each new ticket's language and
team (``routing.route_new_ticket``); after it, tickets whose topic was named move to that topic's
team and new, reopened and moved tickets of teams that auto-assign get an agent
(``routing.reroute_named_topics``, ``routing.auto_assign``).  The routing use cases get plain
data, never the batch."""

from __future__ import annotations

from ticketing.domain.events import TicketReopened, TicketTopicChanged
from ticketing.domain.routing import AutoAssign
from ticketing.services.ingest.batch import Batch
from ticketing.services.routing import auto_assign, reroute_named_topics, route_new_ticket


def step_route_new_tickets(batch: Batch) -> None:
    """Before the write: each new ticket's language (from the citizen's first message) and team,
    and the queue's ordering columns.  A team named in an SLA rule re-chooses the clocks."""
    config = batch.policy.routing
    if config is None:
        return
    first_body: dict[int, str] = {}
    for work in batch.works:
        if work.outcome == "created" and work.ticket_id is not None and work.msg is not None:
            first_body.setdefault(work.ticket_id, f"{work.msg.subject or ''}\n{work.msg.body}")
    for state in batch.ticket_by_id.values():
        if not state.is_new:
            continue
        state.routing, state.sla = route_new_ticket(
            config, batch.policy.sla, topic=state.topic, channel=state.channel,
            first_text=first_body.get(state.id, state.subject or ""),
            first_message_at=state.first_message_at, now=batch.now, clocks=state.sla)


def step_auto_assign(batch: Batch) -> None:
    """After the write: tickets whose topic was named move to its team; new, reopened and
    moved tickets of teams that auto-assign get an agent."""
    config = batch.policy.routing
    if config is None:
        return
    named = {e.ticket_id: str(e.topic) for e in batch.events
             if isinstance(e, TicketTopicChanged) and e.ticket_id is not None}
    moved = reroute_named_topics(batch.conn, named, config=config, now=batch.now)
    if not config.auto_teams():
        return
    ids = [s.id for s in batch.ticket_by_id.values()
           if s.merged_into_id is None and (s.is_new and s.routing is not None and
                                            config.team(s.routing["team"]).auto_assign
                                            is not AutoAssign.OFF)]
    ids += [e.ticket_id for e in batch.events
            if isinstance(e, TicketReopened) and e.ticket_id is not None]
    ids += moved
    auto_assign(batch.conn, sorted(set(ids)), config=config, now=batch.now)
