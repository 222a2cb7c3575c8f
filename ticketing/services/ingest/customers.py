"""The customer decision of the ingest pipeline: which citizen wrote a message, from exact
identifiers only (fuzzy matching never links two people)."""

from __future__ import annotations

from ticketing.domain.events import CustomerCreated, CustomerLinked
from ticketing.domain.identity import mask
from ticketing.domain.similarity import name_key
from ticketing.services.ingest.batch import Batch
from ticketing.services.ingest.work import Work
from ticketing.store import tickets as q


def resolve_customer(batch: Batch, work: Work) -> None:
    """Exact identifiers decide: none known → a new customer; several customers → they are one
    person, merged into the oldest (undoable from the audit record)."""
    msg = work.msg
    assert msg is not None
    idents = work.evidence.identifiers
    found = sorted({batch.canonical(batch.customer_of[(str(i.kind), i.value)]) for i in idents
                    if (str(i.kind), i.value) in batch.customer_of})
    senders = [(str(i.kind), i.value) for i in idents if i.source == "sender"]
    by_sender = {batch.canonical(batch.customer_of[k]) for k in senders if k in batch.customer_of}
    work.message_id = batch.ids.one(q.messages)
    if msg.automated:
        # A bounce or an out-of-office speaks for a mail system, not a citizen: it links and
        # creates nobody, and belongs to whoever owns the thread it answers (decide_ticket).
        work.customer_id = found[0] if found else None
        return
    if not found:
        cid = batch.ids.one(q.customers)
        name = msg.sender.name or msg.sender.instagram_username
        batch.new_customers[cid] = {"id": cid, "display_name": (name or "")[:200] or None,
                                    "name_key": name_key(msg.sender.name),
                                    "created_at": batch.now}
    else:
        cid = found[0]
        for other in found[1:]:
            batch.parent[other] = cid
            batch.merged_customers.add(cid)
            batch.merges.append((other, cid, {
                "message_id": work.message_id,
                "evidence": [{"kind": str(i.kind), "value": mask(i.kind, i.value),
                              "source": i.source} for i in idents]}))
    # Found (or joined to another customer) only through identifiers written in the message: the
    # sender's addresses are linked by a claim, not by the channel's evidence.
    claimed = bool(found) and not msg.automated and bool(senders) and (
        not by_sender or len(set(found) - by_sender) > 0)
    if claimed:
        batch.claimed_addresses.extend(k for k in senders if k in batch.customer_of)
    linked = []
    for ident in idents:
        key = (str(ident.kind), ident.value)
        if key in batch.customer_of:
            continue
        batch.customer_of[key] = cid
        batch.new_identities.append({
            "id": batch.ids.one(q.identities), "customer_id": cid, "kind": str(ident.kind),
            "value": ident.value, "source": ident.source, "evidence_message_id": work.message_id,
            "created_at": batch.now,
            "claimed_link_at": batch.now if claimed and ident.source == "sender" else None})
        linked.append({"kind": str(ident.kind), "value": mask(ident.kind, ident.value),
                       "source": ident.source})
    # One event per message: what a new customer was created from, or what was newly linked.
    if not found:
        batch.record(CustomerCreated(at=batch.now, customer_id=cid, message_id=work.message_id,
                                     channel=str(msg.channel), identities=linked))
    elif linked:
        batch.record(CustomerLinked(at=batch.now, customer_id=cid, message_id=work.message_id,
                                    identities=linked, claimed=claimed))
    work.customer_id = cid

