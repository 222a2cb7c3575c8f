"""What the composition root wires into the ingest pipeline (``IngestPolicy``): the parsers by
content type, the evidence rules, the dedup window, and the optional acknowledgement,
attachment store, SLA clocks and routing.  Also the parser of the normalized JSON contract."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ticketing.domain.errors import MalformedPayload
from ticketing.domain.message import Command, Ignored, InboundMessage, parse_normalized
from ticketing.domain.routing import RoutingConfig
from ticketing.services.ingest.acknowledge import AckPolicy
from ticketing.services.ingest.evidence import EvidencePolicy
from ticketing.services.ports import AttachmentExtractor, AttachmentSink
from ticketing.services.sla import SlaSetup

Parser = Callable[[bytes, Mapping[str, Any]], InboundMessage | Ignored | Command]
# Answers a request to a bot (``Command``) in the ingest transaction (its reply into the outbox).
CommandHandler = Callable[[sa.Connection, Command, dt.datetime], None]
NORMALIZED_JSON = "application/vnd.ticketing.message+json"


def parse_normalized_bytes(payload: bytes, _meta: Mapping[str, Any]) -> InboundMessage:
    try:
        data = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise MalformedPayload(f"not valid UTF-8 at byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise MalformedPayload(f"not valid JSON: {exc.msg} at column {exc.colno}") from exc
    return parse_normalized(data)


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestPolicy:
    """What the composition root wires in: parsers by content type and the evidence rules."""

    evidence: EvidencePolicy
    parsers: Mapping[str, Parser] = field(
        default_factory=lambda: {NORMALIZED_JSON: parse_normalized_bytes})
    dedup_window: dt.timedelta = dt.timedelta(days=14)
    acknowledgement: AckPolicy | None = None
    attachment_store: AttachmentSink | None = None
    attachment_extractors: Mapping[str, AttachmentExtractor] = field(default_factory=dict)
    max_attachment_bytes: int = 10 * 1024 * 1024
    sla: SlaSetup | None = None
    routing: RoutingConfig | None = None
    regroup_late: bool = True  # services.ingest.late
    commands: CommandHandler | None = None
