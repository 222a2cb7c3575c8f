"""What the ingest pipeline carries for each payload (``Work``), the pure half computed ahead of
the write (``Prepared``) and what a caller gets back (``Outcome``).  Plain data; the lowest
module of the package but for ``evidence``."""

from __future__ import annotations

from dataclasses import dataclass, field

from ticketing.domain.message import Command, InboundMessage
from ticketing.services.ingest.evidence import Evidence
from ticketing.store.inbox import Claimed


@dataclass(slots=True, kw_only=True)
class Work:
    """One payload on its way through the steps."""

    raw: Claimed
    msg: InboundMessage | None = None
    outcome: str | None = None
    error: str | None = None
    evidence: Evidence = field(default_factory=lambda: Evidence(
        identifiers=(), topic="", topic_score=0.0, topic_evidence=""))
    customer_id: int | None = None
    ticket_id: int | None = None
    message_id: int | None = None
    duplicate_of: Work | None = None
    attachment_notes: dict[str, str] = field(default_factory=dict)  # sha256 → stored / why not
    # An edit or take-back: the message it changes (stored: its id; in this batch: its work).
    revises: Work | int | None = None
    command: Command | None = None  # a request to a bot, answered instead of stored

    def reject(self, reason: str) -> None:
        self.outcome, self.error = "rejected", reason


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """The pure half of the work on one payload, computable before the write transaction and
    in another process: the parsed message (or why there is none) and its evidence."""

    raw_id: int
    msg: InboundMessage | None
    outcome: str | None
    error: str | None
    evidence: Evidence | None
    command: Command | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    raw_id: int
    outcome: str  # created / appended / revised / recorded / duplicate / ignored / command /
    # rejected / failed  (recorded: a reply written outside the desk, services.ingest.from_desk)
    ticket_id: int | None = None
    message_id: int | None = None
    customer_id: int | None = None
    error: str | None = None
