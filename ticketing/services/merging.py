"""Use cases: merge and unmerge tickets, merge (by hand) and unmerge customers.

Every merge writes an audit record listing exactly the rows it moved; an unmerge reads that
record and moves those rows (and only those) back, so it is an exact undo even after new
messages arrived on the surviving ticket.

Who may merge is decided here, once for every door (API, pages, CLI): supervisors and admins
(``MERGE_ROLES``); anyone else gets ``PermissionDenied`` before anything is read or locked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from ticketing.domain.errors import Conflict, NotFound, PermissionDenied
from ticketing.services.accounts import Principal, Role
from ticketing.domain import events as ev
from ticketing.store import tickets as q
from ticketing.store.audit import record as record_events

t, m, a = q.tickets, q.messages, q.audit  # a: read for undo; written by the recorder
# Merging and unmerging tickets or customers is a supervisor's (or an admin's) decision.
MERGE_ROLES: tuple[Role, ...] = (Role.SUPERVISOR, Role.ADMIN)


def may_merge(by: Principal) -> bool:
    return by.role in MERGE_ROLES


def _check(by: Principal) -> str:
    """The audit actor of an allowed merger; PermissionDenied for anyone else."""
    if not may_merge(by):
        raise PermissionDenied("only supervisors and admins may merge or unmerge")
    return f"user:{by.user_id}"


def _refresh_counters(conn: sa.Connection, ticket_id: int, now: dt.datetime) -> None:
    """Recompute a ticket's message counters from its messages (indexed by ticket)."""
    stats = conn.execute(
        sa.select(sa.func.count(), sa.func.min(m.c.sent_at), sa.func.max(m.c.sent_at))
        .where(m.c.ticket_id == ticket_id, m.c.direction == "in")).one()
    values: dict[str, Any] = {"message_count": int(stats[0]), "updated_at": now,
                              "sla_check_at": now}
    if stats[1] is not None:
        values.update(first_message_at=stats[1], last_message_at=stats[2],
                      last_customer_message_at=stats[2])
    conn.execute(t.update().where(t.c.id == ticket_id).values(**values))


def merge_tickets(conn: sa.Connection, source_id: int, into_id: int, *, by: Principal,
                  now: dt.datetime, reason: str = "manual") -> dict[str, Any]:
    actor = _check(by)
    if source_id == into_id:
        raise Conflict("a ticket cannot be merged into itself")
    first, second = sorted((source_id, into_id))
    rows = {first: q.locked_ticket(conn, first), second: q.locked_ticket(conn, second)}
    source, target = rows[source_id], rows[into_id]
    if source.merged_into_id is not None:
        raise Conflict(f"ticket {source_id} is already merged into {source.merged_into_id}")
    if target.merged_into_id is not None:
        raise Conflict(f"ticket {into_id} is itself merged into {target.merged_into_id}")
    if source.customer_id != target.customer_id:
        # Two citizens' complaints are never one ticket: that would show one citizen's data to
        # another.  If they are one person, merge the customers first.
        raise Conflict("the tickets belong to different customers")
    moved = q.move_ticket(conn, source_id, into_id)
    conn.execute(t.update().where(t.c.id == source_id)
                 .values(merged_into_id=into_id, message_count=0, updated_at=now))
    _refresh_counters(conn, into_id, now)
    record_events(conn, ev.TicketMerged(at=now, actor=actor, ticket_id=into_id,
                                 customer_id=target.customer_id, source=source_id,
                                 moved_messages=moved, details={"rule": reason}))
    return {"ticket_id": into_id, "merged": source_id, "moved_messages": len(moved)}


def _merge_record(conn: sa.Connection, kind: str, target_field: sa.Column[Any], target: int,
                  source: int) -> dict[str, Any]:
    records = conn.execute(sa.select(a.c.id, a.c.data).where(a.c.kind == kind,
                                                             target_field == target)
                           .order_by(a.c.id.desc())).all()
    for record in records:
        if record.data.get("source") == source:
            return dict(record.data)
    raise Conflict(f"no {kind} record for {source} into {target}")


def unmerge_ticket(conn: sa.Connection, ticket_id: int, *, by: Principal,
                   now: dt.datetime) -> dict[str, Any]:
    """Undo the merge of ``ticket_id`` into another ticket."""
    actor = _check(by)
    source = q.locked_ticket(conn, ticket_id)
    if source.merged_into_id is None:
        raise Conflict(f"ticket {ticket_id} is not merged")
    target_id = int(source.merged_into_id)
    q.locked_ticket(conn, target_id)
    record = _merge_record(conn, "ticket.merged", a.c.ticket_id, target_id, ticket_id)
    ids = [int(x) for x in record.get("moved_messages", [])]
    back = 0
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        back += conn.execute(m.update().where(m.c.id.in_(chunk), m.c.ticket_id == target_id)
                             .values(ticket_id=ticket_id)).rowcount or 0
    conn.execute(t.update().where(t.c.id == ticket_id).values(merged_into_id=None))
    _refresh_counters(conn, ticket_id, now)
    _refresh_counters(conn, target_id, now)
    record_events(conn, ev.TicketUnmerged(at=now, actor=actor, ticket_id=ticket_id,
                                   customer_id=source.customer_id, source=ticket_id,
                                   target=target_id, moved_back=back))
    return {"ticket_id": ticket_id, "unmerged_from": target_id, "moved_messages": back}


def merge_customers(conn: sa.Connection, source_id: int, into_id: int, *, by: Principal,
                    now: dt.datetime, ticket_id: int | None = None) -> dict[str, Any]:
    """Fold customer ``source_id`` into ``into_id`` by a person's decision (a "possible same
    citizen" checked by a supervisor): their identities, tickets and messages move, in one
    audited step (``customer.merged``, rule ``manual``) that ``unmerge_customer`` undoes
    exactly.  Tickets are not merged: the two citizens' complaints stay separate tickets."""
    actor = _check(by)
    if source_id == into_id:
        raise Conflict("a customer cannot be merged into itself")
    c = q.customers
    rows = {int(r.id): r for r in conn.execute(
        sa.select(c.c.id, c.c.merged_into_id).where(c.c.id.in_([source_id, into_id]))
        .order_by(c.c.id).with_for_update())}
    for cid in (source_id, into_id):
        if cid not in rows:
            raise NotFound(f"no customer {cid}")
        if rows[cid].merged_into_id is not None:
            raise Conflict(f"customer {cid} is already merged into "
                           f"{rows[cid].merged_into_id}")
    [moved] = q.move_customers(conn, [(source_id, into_id)])
    record_events(conn, ev.CustomerMerged(at=now, actor=actor, customer_id=into_id,
                                          ticket_id=ticket_id, source=source_id, moved=moved,
                                          details={"rule": "manual"}))
    return {"customer_id": into_id, "merged": source_id,
            "moved": {k: len(v) for k, v in moved.items()}}


def unmerge_customer(conn: sa.Connection, customer_id: int, *, by: Principal,
                     now: dt.datetime) -> dict[str, Any]:
    """Undo the merge of ``customer_id`` into another customer, with the ticket merges that
    followed from it."""
    actor = _check(by)
    c = q.customers
    row = conn.execute(sa.select(c.c.id, c.c.merged_into_id).where(c.c.id == customer_id)).first()
    if row is None:
        raise NotFound(f"no customer {customer_id}")
    if row.merged_into_id is None:
        raise Conflict(f"customer {customer_id} is not merged")
    target = int(row.merged_into_id)
    record = _merge_record(conn, "customer.merged", a.c.customer_id, target, customer_id)
    moved = record.get("moved", {})
    tickets_back = [int(x) for x in moved.get("tickets", [])]
    # Tickets folded together because of this customer merge come apart first.
    for tid in tickets_back + _tickets_of_messages(conn, moved.get("messages", [])):
        merged_into = conn.execute(sa.select(t.c.merged_into_id).where(t.c.id == tid)).scalar()
        if merged_into is not None:
            unmerge_ticket(conn, tid, by=by, now=now)
    for table, key in ((q.identities, "identities"), (q.tickets, "tickets"),
                       (q.messages, "messages")):
        ids = [int(x) for x in moved.get(key, [])]
        for start in range(0, len(ids), 900):
            conn.execute(table.update().where(table.c.id.in_(ids[start:start + 900]),
                                              table.c.customer_id == target)
                         .values(customer_id=customer_id))
    conn.execute(c.update().where(c.c.id == customer_id).values(merged_into_id=None))
    record_events(conn, ev.CustomerUnmerged(at=now, actor=actor, customer_id=customer_id,
                                     target=target,
                                     moved_back={k: len(v) for k, v in moved.items()}))
    return {"customer_id": customer_id, "unmerged_from": target}


def _tickets_of_messages(conn: sa.Connection, message_ids: list[int]) -> list[int]:
    """Tickets that were merged away and whose moved messages include these messages."""
    if not message_ids:
        return []
    wanted = {int(x) for x in message_ids}
    out: list[int] = []
    records = conn.execute(sa.select(a.c.data).where(
        a.c.kind == "ticket.merged",
        a.c.ticket_id.in_(sa.select(m.c.ticket_id).where(m.c.id.in_(sorted(wanted)[:900])))))
    for (data,) in records:
        if wanted & {int(x) for x in data.get("moved_messages", [])}:
            out.append(int(data["source"]))
    return out


def move_back(conn: sa.Connection, message_id: int, *, by: Principal,
              now: dt.datetime) -> dict[str, Any]:
    """Undo the re-decision of a message processed late (``message.moved``): it goes back to
    the ticket it was on (or the ticket that one is merged into now)."""
    actor = _check(by)
    row = conn.execute(sa.select(m.c.ticket_id, m.c.customer_id)
                       .where(m.c.id == message_id)).first()
    if row is None:
        raise NotFound(f"no message {message_id}")
    current = int(row.ticket_id)
    moves = conn.execute(sa.select(a.c.data).where(
        a.c.kind == ev.MessageMoved.KIND, a.c.ticket_id == current).order_by(a.c.id.desc())
    ).scalars().all()
    moved = next((d for d in moves if d.get("message_id") == message_id
                  and d.get("rule") != "undo"), None)
    if moved is None:
        raise Conflict(f"message {message_id} was not moved onto ticket {current}")
    back = int(moved["from_ticket"])
    while (into := conn.execute(sa.select(t.c.merged_into_id).where(t.c.id == back))
           .scalar_one_or_none()) is not None:
        back = int(into)
    first, second = sorted((current, back))
    q.locked_ticket(conn, first)
    q.locked_ticket(conn, second)
    conn.execute(m.update().where(m.c.id == message_id).values(ticket_id=back))
    _refresh_counters(conn, current, now)
    _refresh_counters(conn, back, now)
    record_events(conn, ev.MessageMoved(at=now, actor=actor, ticket_id=back,
                                        customer_id=row.customer_id, message_id=message_id,
                                        from_ticket=current, rule="undo"))
    return {"message_id": message_id, "ticket_id": back, "from_ticket": current}
