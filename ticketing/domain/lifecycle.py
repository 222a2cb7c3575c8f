"""The ticket lifecycle: statuses, priorities and which transitions are allowed.

new → open → pending_customer → resolved → closed; a citizen's message reopens a resolved
ticket and resumes a pending one; a closed ticket is final (a later message opens a new ticket
linked to it).
"""

from __future__ import annotations

from enum import StrEnum

from ticketing.domain.errors import Conflict


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING_CUSTOMER = "pending_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"
    NOTE = "note"


# Statuses in which a citizen's new message joins the ticket instead of opening another.
ACTIVE_STATUSES: frozenset[str] = frozenset(
    {TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING_CUSTOMER, TicketStatus.RESOLVED}
)

ALLOWED: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.NEW: frozenset({TicketStatus.OPEN, TicketStatus.PENDING_CUSTOMER,
                                 TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.OPEN: frozenset({TicketStatus.PENDING_CUSTOMER, TicketStatus.RESOLVED,
                                  TicketStatus.CLOSED}),
    TicketStatus.PENDING_CUSTOMER: frozenset({TicketStatus.OPEN, TicketStatus.RESOLVED,
                                              TicketStatus.CLOSED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.OPEN, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}


def check_transition(current: str, target: str) -> TicketStatus:
    """The target status if an agent may move a ticket there, else ``Conflict``."""
    try:
        src, dst = TicketStatus(current), TicketStatus(target)
    except ValueError as exc:
        raise Conflict(f"unknown status {target!r}") from exc
    if dst == src:
        return dst
    if dst not in ALLOWED[src]:
        raise Conflict(f"a {src} ticket cannot become {dst}")
    return dst


def after_customer_message(current: str) -> TicketStatus:
    """The status once the citizen writes again: waiting and resolved tickets come back."""
    status = TicketStatus(current)
    if status in (TicketStatus.PENDING_CUSTOMER, TicketStatus.RESOLVED):
        return TicketStatus.OPEN
    return status
