"""Use case: put raw payloads that were quarantined (or ignored) back in the queue, optionally
with corrected transport metadata, audited.

A raw payload is kept exactly as received, so a parser fix, or metadata that was missing (a
transcript uploaded without its caller's number), can be applied later: the row goes back to
``pending`` with the corrected ``meta`` merged over the old one, and the next worker pass (or the
caller, at once) processes it.  The content key stays the same, so the retry is the same row,
not a "duplicate" of it.  Every requeue writes one ``inbox.requeued`` audit record naming the
rows, their previous status and the metadata keys changed (not their values: a caller's number
is personal data).

Never opens or commits a transaction (the entry point does).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ticketing.domain.errors import Conflict, InvalidInput, NotFound
from ticketing.store import inbox as inbox_store
from ticketing.domain.events import InboxRequeued
from ticketing.store import tables
from ticketing.store.audit import record

REQUEUEABLE = ("quarantined", "ignored")
_AUDITED_IDS = 1000  # ids listed in the audit record (the count is always exact)


@dataclass(frozen=True, slots=True, kw_only=True)
class Requeue:
    """Which rows: ``ids``, else the row holding idempotency ``key``, else every row whose
    status is ``status``; ``meta``: corrected metadata merged over each row's own."""

    ids: Sequence[int] = ()
    key: str | None = None
    status: str = "quarantined"
    meta: Mapping[str, Any] = field(default_factory=dict)


def requeue(conn: sa.Connection, what: Requeue, *, actor: str,
            now: dt.datetime) -> list[int]:
    """Back to pending, audited; returns the ids requeued (empty if none matched).  Rows named by
    id must exist (``NotFound``) and be quarantined or ignored (``Conflict``)."""
    if what.status not in REQUEUEABLE:
        raise InvalidInput(f"only {' or '.join(REQUEUEABLE)} rows can be requeued")
    if what.ids:
        rows = inbox_store.held(conn, ids=what.ids)
        missing = sorted(set(what.ids) - {r.id for r in rows})
        if missing:
            raise NotFound(f"no inbox row {missing[0]}")
        busy = [r for r in rows if r.status not in REQUEUEABLE]
        if busy:
            raise Conflict(f"inbox row {busy[0].id} is {busy[0].status}, not quarantined or "
                           "ignored")
    elif what.key is not None:
        rows = [r for r in inbox_store.held(conn, key=what.key) if r.status in REQUEUEABLE]
    else:
        rows = inbox_store.held(conn, status=what.status)
    if not rows:
        return []
    corrected = {k: v for k, v in what.meta.items() if v is not None}
    updates: list[tuple[int, dict[str, Any] | None]] = [
        (r.id, {**r.meta, **corrected} if corrected else None) for r in rows]
    inbox_store.back_to_pending(conn, updates)
    ids = [r.id for r in rows]
    record(conn, InboxRequeued(at=now, actor=actor, inbox_ids=ids[:_AUDITED_IDS],
                               count=len(ids), was=sorted({r.status for r in rows}),
                               errors=sorted({(r.last_error or "")[:200] for r in rows})[:20],
                               meta_changed=sorted(corrected)))
    return ids
