"""The ticket decision of the ingest pipeline: which ticket a message belongs to (a reply
thread, our ticket token, the same complaint within the dedup window, a vague follow-up, or a
new ticket), and folding together the tickets of two customers found to be one person.
"""

from __future__ import annotations

from typing import Any

from ticketing.domain.subjects import complaint_subject
from ticketing.domain.events import (MessageAppended, TicketCreated, TicketReopened,
                                     TicketTopicChanged)
from ticketing.domain.lifecycle import (ACTIVE_STATUSES, Direction, Priority, TicketStatus,
                                        after_customer_message)
from ticketing.domain.message import Automation, InboundMessage
from ticketing.services.ingest.batch import Batch
from ticketing.services.ingest.grouping import related_ticket
from ticketing.services.ingest.late import (is_late, redecide_follow_ups, vague_target,
                                            written_before_resolution)
from ticketing.services.ingest.work import Work
from ticketing.services.sla import opening_clocks
from ticketing.store import tickets as q

SENDER_FIELDS = ("name", "email", "phone", "telegram_id", "instagram_id", "instagram_username",
                 "webchat_id")


def merge_duplicate_tickets(batch: Batch) -> None:
    """When two customers turned out to be one person, their active tickets on the same
    complaint become one (the oldest survives); a vague ticket with no topic joins the nearest
    topical one.  Only tickets whose activity lies within the dedup window of each other."""
    window = batch.policy.dedup_window
    fallback = batch.policy.evidence.fallback_topic
    for cid in sorted({batch.canonical(c) for c in batch.merged_customers}):
        active = sorted((t for t in batch.tickets_of.get(cid, [])
                         if t.merged_into_id is None and t.status in ACTIVE_STATUSES),
                        key=lambda t: (t.first_message_at, t.id))
        survivors: list[q.TicketState] = []
        for ticket in active:
            near = [s for s in survivors
                    if ticket.first_message_at - s.last_message_at <= window
                    and s.first_message_at - ticket.last_message_at <= window]
            same = [s for s in near if s.topic == ticket.topic]
            if not same and (ticket.topic == fallback):
                same = near[-1:]
            elif not same:
                same = [s for s in near if s.topic == fallback][:1]
            if same:
                batch.merge_ticket(ticket, same[0], {"rule": "customer_merge",
                                                     "topic": ticket.topic})
            else:
                survivors.append(ticket)


def _thread_target(batch: Batch, msg: InboundMessage, cid: int
                   ) -> tuple[q.TicketState | None, dict[str, Any], int | None]:
    linked: int | None = None
    for key in msg.thread_keys():
        tid = batch.thread.get((str(msg.channel), key))
        if tid is None or tid not in batch.ticket_by_id:
            continue
        state = batch.live_ticket(tid)
        if state.status in ACTIVE_STATUSES:
            return state, {"rule": "reply_thread", "in_reply_to": key}, None
        linked = state.id
        break
    tag = msg.thread.ticket
    if tag is not None and tag in batch.ticket_by_id:
        state = batch.live_ticket(tag)
        # A ticket token is trusted only from that ticket's own citizen.
        if state.customer_id == cid and state.status in ACTIVE_STATUSES:
            return state, {"rule": "subject_tag", "tag": tag}, None
        linked = linked or state.id
    return None, {}, linked


def decide_ticket(batch: Batch, work: Work) -> None:
    """An explicit reply thread (or our ticket tag from the same citizen) wins; then the
    customer's active ticket on the same topic within the window; a vague follow-up joins the
    customer's latest active ticket; else a new ticket.  Automated mail (bounces, out-of-office)
    only ever joins a thread, never reopens or opens a ticket."""
    msg = work.msg
    assert msg is not None
    auto = (msg.automation_reason or str(msg.automation)) if msg.automated else None
    cid = batch.canonical(work.customer_id) if work.customer_id is not None else -1
    ev = work.evidence
    policy = batch.policy
    vague = ev.is_vague(policy.evidence)
    target, why, linked = _thread_target(batch, msg, cid)
    if auto:
        if target is None:
            work.outcome = "ignored"
            work.error = f"automated mail ({auto}) that answers none of our tickets"
            return
        cid = work.customer_id = target.customer_id
    # Processed out of its sent_at order (services.ingest.late): decided as if in order.
    late = policy.regroup_late and not auto and is_late(batch, cid, msg.sent_at)
    if target is None:
        horizon = msg.sent_at - policy.dedup_window
        candidates = [t for t in batch.tickets_of.get(cid, [])
                      if t.status in ACTIVE_STATUSES and t.merged_into_id is None
                      and t.last_message_at >= horizon]
        candidates.sort(key=lambda t: t.last_message_at, reverse=True)
        # We asked the citizen something: their next message is most likely the answer.
        waiting = [t for t in candidates if t.status == TicketStatus.PENDING_CUSTOMER]
        if vague and candidates:
            before = vague_target(batch, cid, msg.sent_at, horizon) if late else None
            latest = before if before is not None and before in candidates else candidates[0]
            target, why = (waiting or [latest])[0], {"rule": "follow_up",
                                                     "score": ev.topic_score}
        elif not vague:
            same = [t for t in candidates if t.topic == ev.topic]
            vague_ones = [t for t in candidates if t.topic == policy.evidence.fallback_topic]
            related = None if same else related_ticket(batch, ev, candidates)
            if same:
                target, why = same[0], {"rule": "same_topic", "topic": ev.topic,
                                        "evidence": ev.topic_evidence}
            elif related is not None:
                target, why = related
            elif waiting:
                target, why = waiting[0], {"rule": "answer_to_pending", "topic": ev.topic}
            elif vague_ones:
                target, why = vague_ones[0], {"rule": "names_topic_of_vague_ticket",
                                              "topic": ev.topic, "evidence": ev.topic_evidence}
    if target is None:
        tid = batch.ids.one(q.tickets)
        target = q.TicketState(
            id=tid, customer_id=cid, status=TicketStatus.NEW, topic=ev.topic,
            channel=str(msg.channel), subject=(msg.subject or complaint_subject(msg.body) or msg.body[:120])[:300] or None,
            created_at=batch.now, first_message_at=msg.sent_at, last_message_at=msg.sent_at,
            last_customer_message_at=None, message_count=0, is_new=True,
            fingerprint=ev.fingerprint or None)
        if policy.sla is not None:
            target.sla = opening_clocks(policy.sla, channel=target.channel, topic=target.topic,
                                        priority=Priority.NORMAL, team=None,
                                        first_message_at=msg.sent_at, now=batch.now)
        batch.ticket_by_id[tid] = target
        batch.tickets_of.setdefault(cid, []).append(target)
        why = {"rule": "vague_created" if vague else "created"}
        batch.record(TicketCreated(at=batch.now, ticket_id=tid, customer_id=cid,
                                   message_id=work.message_id, channel=str(msg.channel),
                                   topic=ev.topic, topic_evidence=ev.topic_evidence,
                                   topic_score=ev.topic_score, linked_to=linked))
        work.outcome = "created"
    else:
        work.outcome = "appended"
        # Written before the ticket was resolved, processed after: it belongs there, and does
        # not reopen it (services.ingest.late).
        before_resolution = written_before_resolution(batch, target, msg.sent_at)
        if before_resolution:
            why["before_resolution"] = True
        new_status = (target.status if auto or before_resolution
                      else after_customer_message(target.status))
        if auto:
            why["automated"] = auto
            report = msg.report
            if report is not None:
                why["report"] = {k: v for k in ("message_id", "recipient", "status", "action")
                                 if (v := getattr(report, k)) is not None}
                # Our message failed for good: a delay or a receipt says nothing of the kind.
                if msg.automation is Automation.BOUNCE and report.message_id:
                    batch.bounces.append((str(msg.channel), report.message_id,
                                          report.status or "", target.id))
        if new_status != target.status:
            batch.record(TicketReopened(at=batch.now, ticket_id=target.id, customer_id=cid,
                                        previous=target.status, message_id=work.message_id))
            target.status = new_status
        if target.topic == policy.evidence.fallback_topic and not vague:
            batch.record(TicketTopicChanged(at=batch.now, ticket_id=target.id,
                                            previous=target.topic, topic=ev.topic,
                                            details={"evidence": ev.topic_evidence}))
            target.topic = ev.topic
        target.dirty = True
    target.message_count += 1
    target.first_message_at = min(target.first_message_at, msg.sent_at)
    target.last_message_at = max(target.last_message_at, msg.sent_at)
    last = target.last_customer_message_at
    if not auto:
        target.last_customer_message_at = msg.sent_at if last is None else max(last, msg.sent_at)
    work.ticket_id = target.id
    batch.thread[(str(msg.channel), msg.external_id)] = target.id
    batch.new_messages.append({
        "id": work.message_id, "ticket_id": target.id, "customer_id": cid,
        "direction": Direction.IN, "channel": str(msg.channel), "external_id": msg.external_id,
        "in_reply_to": msg.thread.in_reply_to, "author_user_id": None,
        "author_name": msg.sender.name or msg.sender.instagram_username,
        "subject": msg.subject, "body": msg.body, "sent_at": msg.sent_at,
        "received_at": batch.now,
        "attachments": [{"filename": a.filename, "content_type": a.content_type, "size": a.size,
                         "sha256": a.sha256,
                         "stored": work.attachment_notes.get(a.sha256 or "") == "stored",
                         "note": work.attachment_notes.get(a.sha256 or "")
                         or ("fetching" if a.locator else None),
                         **({"as_body": True} if a.as_body else {})}
                        for a in msg.attachments],
        "automation": str(msg.automation) if msg.automated else None,
        "automation_reason": msg.automation_reason[:60] if msg.automation_reason else None,
        "reference_ids": list(msg.thread.references) or None,
        "extra": {**msg.extra, **({"instagram_kind": msg.instagram_kind}
                                  if msg.instagram_kind else {})},
        "sender": {k: v for k in SENDER_FIELDS if (v := getattr(msg.sender, k))},
        "raw_id": work.raw.id, "grouping": str(why.get("rule") or "")[:32] or None,
        "topics": [[t, s] for t, s in ev.topic_candidates] or None})
    if work.outcome == "appended":
        batch.record(MessageAppended(at=batch.now, ticket_id=target.id, customer_id=cid,
                                     message_id=work.message_id, details=why))
    if late and not vague:  # a vague message has no follow-ups of its own to take back
        redecide_follow_ups(batch, work, target)
