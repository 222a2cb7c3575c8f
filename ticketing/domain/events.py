"""What happened, as the audit trail records it: one frozen record per kind of event, named in
the past tense, written by one recorder (``ticketing.store.audit.record``).

Every event has the instant, the actor (``system``, ``user:<id>``, ``system:<job>``) and, where
it concerns them, the ticket and the customer; the rest of its fields are the event's data,
stored as JSON under the kind (``KIND``); a field holding a list or mapping holds JSON values.  A field named ``details`` is a mapping whose keys are
stored beside the other fields (the rule that decided a merge, an agent's changed settings):
readers see the same flat data whatever produced it.

Pure: no database; the recorder turns these into rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any, ClassVar

SYSTEM = "system"
_COMMON = frozenset({"at", "actor", "ticket_id", "customer_id", "details"})


def plain(value: Any) -> Any:
    """A JSON-ready value: datetimes as ISO 8601, enums as their value, sets as lists.  Only the
    field itself is converted: what a container holds must already be JSON values (ids, names,
    ISO strings), which keeps recording cheap on the ingest path."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    KIND: ClassVar[str] = ""
    at: dt.datetime
    actor: str = SYSTEM
    ticket_id: int | None = None
    customer_id: int | None = None

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in _data_fields(type(self)):
            value = getattr(self, name)
            out[name] = value if value is None or type(value) in _SCALARS else plain(value)
        details = getattr(self, "details", None)
        if details:
            out.update((str(k), plain(v)) for k, v in details.items())
        return out


_SCALARS = frozenset({str, int, float, bool})


_FIELDS: dict[str, tuple[str, ...]] = {}


def _data_fields(kind: type[Event]) -> tuple[str, ...]:
    """The fields stored as data, worked out once per kind (ingest writes several events per
    message)."""
    names = _FIELDS.get(kind.__qualname__)
    if names is None:
        names = _FIELDS[kind.__qualname__] = tuple(f.name for f in fields(kind)
                                                   if f.name not in _COMMON)
    return names


# ---------------------------------------------------------------- tickets


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketCreated(Event):
    KIND = "ticket.created"
    message_id: int | None
    channel: str
    topic: str | None
    topic_evidence: Any = None
    topic_score: float | None = None
    linked_to: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageAppended(Event):
    KIND = "message.appended"
    message_id: int | None
    details: Mapping[str, Any] = field(default_factory=dict)  # the rule that chose the ticket


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageMoved(Event):
    """A message re-decided when an earlier one of the same citizen arrived late: a vague
    follow-up belongs to the complaint sent just before it.  ``ticket_id`` is where it went;
    moving it back to ``from_ticket`` undoes it."""

    KIND = "message.moved"
    message_id: int
    from_ticket: int
    rule: str
    caused_by: int | None = None  # the late message


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketMergeSuggested(Event):
    """The same re-decision found a follow-up on a ticket staff already worked on: it is not
    moved silently; the ticket page's duplicates list offers the merge."""

    KIND = "ticket.merge_suggested"
    other_ticket: int
    reason: str
    message_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketReopened(Event):
    KIND = "ticket.reopened"
    previous: str | None
    message_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketStatusChanged(Event):
    KIND = "ticket.status_changed"
    previous: str | None
    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketPriorityChanged(Event):
    KIND = "ticket.priority_changed"
    previous: str | None
    priority: str
    details: Mapping[str, Any] = field(default_factory=dict)  # reason, when automatic


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketTopicChanged(Event):
    KIND = "ticket.topic_changed"
    previous: str | None
    topic: str | None
    details: Mapping[str, Any] = field(default_factory=dict)  # reason or evidence


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketTeamChanged(Event):
    KIND = "ticket.team_changed"
    previous: str | None
    team: str | None
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketAssigned(Event):
    KIND = "ticket.assigned"
    previous: int | None
    assignee: int | None
    details: Mapping[str, Any] = field(default_factory=dict)  # via, team, mode, reason


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketReleased(Event):
    KIND = "ticket.released"
    previous: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketReturnedToQueue(Event):
    KIND = "ticket.returned_to_queue"
    previous: int
    reason: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketEscalated(Event):
    KIND = "ticket.escalated"
    previous: str | None
    team: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketMerged(Event):
    KIND = "ticket.merged"
    source: int
    moved_messages: Sequence[int]
    details: Mapping[str, Any] = field(default_factory=dict)  # the rule (for undo and review)


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketUnmerged(Event):
    KIND = "ticket.unmerged"
    source: int
    target: int
    moved_back: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketRelated(Event):
    KIND = "ticket.related"
    incident_id: int | None
    related_ticket: int
    score: float


# ---------------------------------------------------------------- customers


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerCreated(Event):
    KIND = "customer.created"
    message_id: int | None
    channel: str
    identities: Sequence[Mapping[str, Any]]


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerLinked(Event):
    KIND = "customer.linked"
    message_id: int | None
    identities: Sequence[Mapping[str, Any]]
    claimed: bool = False  # only through an identifier written in the message


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityVerified(Event):
    """Staff checked that an address linked by a claim is the citizen's: replies may carry the
    citizen's other tickets there now."""

    KIND = "identity.verified"
    identity: str  # kind and masked value
    method: str  # "staff_check"
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerMerged(Event):
    KIND = "customer.merged"
    source: int
    moved: Mapping[str, Any]
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerUnmerged(Event):
    KIND = "customer.unmerged"
    target: int
    moved_back: Mapping[str, int]


# ---------------------------------------------------------------- messages and delivery


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReplied(Event):
    KIND = "message.replied"
    message_id: int
    channel: str
    outbox_id: int | None
    status: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RepliedOutsideDesk(Event):
    """A staff member answered the citizen in the provider's own app (the Instagram app), not
    through the desk; the provider's echo of it is stored as the desk's outbound message."""

    KIND = "message.replied_outside"
    message_id: int
    channel: str
    external_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteAdded(Event):
    KIND = "note.added"
    message_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryFailed(Event):
    KIND = "message.delivery_failed"
    outbox_id: int
    kind: str
    error: str
    message_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CitizenUnreachable(Event):
    """A channel said the citizen cannot be reached at this address any more (they blocked the
    bot, the account is gone): replies there are refused until they write from it again."""

    KIND = "customer.unreachable"
    channel: str
    identity: str  # kind and masked value: "telegram 12…89"
    reason: str
    outbox_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageRevised(Event):
    """The citizen edited a message (its earlier text kept in ``message_revisions``) or took it
    back (``unsend``: marked retracted, its text kept for the record)."""

    KIND = "message.revised"
    message_id: int
    revision: str  # edit / unsend
    event_id: str  # the channel's id of the edit or unsend event


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundIgnored(Event):
    """A payload a channel delivered that is deliberately not a message (a group chat, a
    channel post, another bot, an update kind we do not take): kept in the inbox, not acted on."""

    KIND = "inbound.ignored"
    channel: str
    inbox_id: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AcknowledgementSuppressed(Event):
    KIND = "acknowledgement.suppressed"
    reason: str
    limit_per_hour: int


# ---------------------------------------------------------------- agents


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStatusChanged(Event):
    KIND = "agent.status_changed"
    user_id: int
    status: str
    details: Mapping[str, Any] = field(default_factory=dict)  # previous, reason


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentProfileChanged(Event):
    KIND = "agent.profile_changed"
    user_id: int
    details: Mapping[str, Any] = field(default_factory=dict)  # the settings changed


@dataclass(frozen=True, slots=True, kw_only=True)
class CallBackLogged(Event):
    KIND = "call_back.logged"
    message_id: int
    channel: str
    reached: bool
    status: str | None = None


# ---------------------------------------------------------------- the inbox and accounts


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxRequeued(Event):
    KIND = "inbox.requeued"
    inbox_ids: Sequence[int]
    count: int
    was: Sequence[str]
    errors: Sequence[str]
    meta_changed: Sequence[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class UserUnlocked(Event):
    KIND = "user.unlocked"
    email: str
    was_locked: bool
