"""SQLAlchemy 2 entities.  Importing this package registers every table on ``Base.metadata``."""

from ticketing.models.agent import AgentProfile
from ticketing.models.audit import AuditEvent
from ticketing.models.base import Base
from ticketing.models.channel_state import (AttachmentFetch, Cursor, Lease, MessageRevision,
                                            PaceSlot)
from ticketing.models.customer import Customer, Identity
from ticketing.models.incident import Incident, TicketSignature
from ticketing.models.link import LinkChallenge
from ticketing.models.live import LiveEvent
from ticketing.models.message import Message
from ticketing.models.notification import Notification
from ticketing.models.queue import InboxItem, OutboxItem
from ticketing.models.report import ReportCustomerTickets, ReportRepeatTicket, ReportRollup
from ticketing.models.ticket import Ticket
from ticketing.models.user import ApiToken, LoginThrottle, User
from ticketing.models.webchat import WebchatLink, WebchatSession

__all__ = ["AgentProfile", "ApiToken", "AttachmentFetch", "AuditEvent", "Base", "Cursor",
           "Lease", "MessageRevision", "PaceSlot", "Customer", "Identity", "Incident",
           "InboxItem", "LinkChallenge", "LiveEvent", "LoginThrottle", "Message", "Notification",
           "OutboxItem",
           "ReportCustomerTickets", "ReportRepeatTicket", "ReportRollup", "Ticket",
           "TicketSignature", "User", "WebchatLink", "WebchatSession"]
