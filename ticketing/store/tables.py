"""The Core ``Table`` of every model, typed as such, for set-based queries and bulk writes."""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa

from ticketing.models import (AgentProfile, ApiToken, AttachmentFetch, AuditEvent, Cursor, Lease,
                              MessageRevision, PaceSlot, Customer, Identity, Incident,
                              InboxItem, LiveEvent, LoginThrottle, Message, Notification,
                              OutboxItem,
                              ReportCustomerTickets, ReportRepeatTicket, ReportRollup, Ticket,
                              TicketSignature, User, WebchatLink, WebchatSession)
from ticketing.models.link import LinkChallenge
from ticketing.models.report import report_rollup_delta as report_rollup_delta


def _t(model: type[object]) -> sa.Table:
    return cast(sa.Table, model.__table__)  # type: ignore[attr-defined]


customers = _t(Customer)
identities = _t(Identity)
tickets = _t(Ticket)
messages = _t(Message)
audit = _t(AuditEvent)
inbox = _t(InboxItem)
outbox = _t(OutboxItem)
users = _t(User)
api_tokens = _t(ApiToken)
login_throttles = _t(LoginThrottle)
incidents = _t(Incident)
signatures = _t(TicketSignature)
notifications = _t(Notification)
agent_profiles = _t(AgentProfile)
report_rollup = _t(ReportRollup)
report_customer_tickets = _t(ReportCustomerTickets)
report_repeat_tickets = _t(ReportRepeatTicket)
leases = _t(Lease)
cursors = _t(Cursor)
pace_slots = _t(PaceSlot)
link_challenges = _t(LinkChallenge)
attachment_fetches = _t(AttachmentFetch)
message_revisions = _t(MessageRevision)
webchat_sessions = _t(WebchatSession)
webchat_links = _t(WebchatLink)
live_events = _t(LiveEvent)
