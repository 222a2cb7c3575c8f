"""The composition root: settings → engine, policies and parsers, wired once.

Drivers (CLI, API, worker, channel transports) ask for an ``App``; nothing below this module
reads configuration files or the environment.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa

from ticketing.domain.calendar import calendars_from_config
from ticketing.domain.canned import CannedReply
from ticketing.domain.canned import parse as parse_canned
from ticketing.domain.errors import InvalidInput
from ticketing.domain.routing import RoutingConfig, routing_config_from
from ticketing.domain.sla_policy import sla_config_from
from ticketing.domain.topics import TopicClassifier
from ticketing.services.clock import Clock, SystemClock
from ticketing.domain.channels import API as API_CAPABILITY
from ticketing.domain.channels import ChannelCapability
from ticketing.services.ports import Fetcher, Sender
from ticketing.services.escalation import EscalationMail
from ticketing.services.routing import AgentCache
from ticketing.services.sla import SlaSetup
from channels.email.parse import attachment_blobs, parse_email
from channels.email.capability import CAPABILITY as EMAIL_CAPABILITY
from channels.email.mailbox import DevMailbox
from channels.email.send import make_sender as make_email_sender
from channels.pending import PENDING
from channels.phone.capability import CAPABILITY as PHONE_CAPABILITY
from channels.email.server import CONTENT_TYPE as EMAIL_CONTENT_TYPE
from channels.phone.parse import CONTENT_TYPE as TRANSCRIPT_CONTENT_TYPE
from channels.phone.parse import parse_transcript
from ticketing.services.ingest import (NORMALIZED_JSON, AckPolicy, EvidencePolicy, IngestPolicy,
                                       parse_normalized_bytes)
from ticketing.services.ingest.acknowledge import AckText
from ticketing.settings import Settings, load_settings
from ticketing.store.attachments import FileAttachmentStore
from ticketing.store.db import Transactions, make_engine

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise InvalidInput(f"missing configuration file {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path}: {exc}") from exc


@dataclass
class App:
    settings: Settings
    clock: Clock

    @cached_property
    def engine(self) -> sa.Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def uow(self) -> Transactions:
        """Transactions for use cases that span several (outbox delivery, ingest's retries)."""
        return Transactions(self.engine)

    def read(self, fn: Callable[Concatenate[sa.Connection, P], R], /, *args: P.args,
             **kwargs: P.kwargs) -> R:
        """``fn(conn, *args, **kwargs)`` in one read-only transaction."""
        with self.engine.connect().execution_options(readonly=True) as conn, conn.begin():
            return fn(conn, *args, **kwargs)

    def write(self, fn: Callable[Concatenate[sa.Connection, P], R], /, *args: P.args,
              **kwargs: P.kwargs) -> R:
        """``fn(conn, *args, **kwargs)`` in one write transaction."""
        with self.engine.begin() as conn:
            return fn(conn, *args, **kwargs)

    @cached_property
    def config_dir(self) -> Path:
        return Path(self.settings.config_dir)

    @cached_property
    def evidence_policy(self) -> EvidencePolicy:
        data = read_toml(self.config_dir / "topics.toml")
        try:
            classifier = TopicClassifier.from_config(data)
        except ValueError as exc:
            raise InvalidInput(f"{self.config_dir / 'topics.toml'}: {exc}") from exc
        return EvidencePolicy(classifier=classifier, fallback_topic=classifier.fallback)

    @cached_property
    def ingest_policy(self) -> IngestPolicy:
        parsers = {NORMALIZED_JSON: parse_normalized_bytes, EMAIL_CONTENT_TYPE: parse_email,
                   TRANSCRIPT_CONTENT_TYPE: parse_transcript}
        return IngestPolicy(evidence=self.evidence_policy, parsers=parsers,
                            dedup_window=dt.timedelta(days=self.settings.dedup_window_days),
                            acknowledgement=self.ack_policy,
                            attachment_store=self.attachment_store,
                            attachment_extractors={EMAIL_CONTENT_TYPE: attachment_blobs},
                            max_attachment_bytes=self.settings.max_attachment_bytes,
                            sla=self.sla_setup, routing=self.routing,
                            regroup_late=self.settings.ingest_regroup_late)

    @cached_property
    def sla_setup(self) -> SlaSetup:
        path = self.config_dir / "sla.toml"
        doc = read_toml(path)
        try:
            calendars = calendars_from_config(doc)
            mail = (EscalationMail(from_address=self.settings.support_address)
                    if self.settings.sla_escalation_email else None)
            return SlaSetup(config=sla_config_from(doc, list(calendars)), calendars=calendars,
                            mail=mail)
        except ValueError as exc:
            raise InvalidInput(f"{path}: {exc}") from exc

    @cached_property
    def canned_replies(self) -> tuple[CannedReply, ...]:
        """The ticket page's canned replies and macros (``config/canned_replies.toml``;
        none when the file is absent)."""
        path = self.config_dir / "canned_replies.toml"
        if not path.exists():
            return ()
        try:
            return parse_canned(read_toml(path))
        except ValueError as exc:
            raise InvalidInput(f"{path}: {exc}") from exc

    @cached_property
    def routing(self) -> RoutingConfig:
        """Teams, auto-assignment and presence rules (``config/routing.toml``), checked against
        the topics the classifier knows."""
        path = self.config_dir / "routing.toml"
        try:
            return routing_config_from(read_toml(path),
                                       topics=self.evidence_policy.classifier.topics)
        except ValueError as exc:
            raise InvalidInput(f"{path}: {exc}") from exc

    @cached_property
    def agent_cache(self) -> AgentCache:
        """Claims' memo of agents' eligibility in this process (checked by each claim)."""
        return AgentCache()

    @cached_property
    def attachment_store(self) -> FileAttachmentStore:
        return FileAttachmentStore(self.settings.attachment_dir)

    @cached_property
    def ack_policy(self) -> AckPolicy | None:
        """The acknowledgement templates, one per language the desk answers in:
        ``acknowledgement.email.<lang>.txt`` (Indonesian required, English optional)."""
        if not self.settings.ack_enabled:
            return None
        folder = self.config_dir / "templates"
        templates: dict[str, str] = {}
        for lang in ("id", "en"):
            path = folder / f"acknowledgement.email.{lang}.txt"
            if lang == "id" or path.exists():
                try:
                    templates[lang] = path.read_text(encoding="utf-8")
                    AckText.from_template(templates[lang])
                except (OSError, ValueError) as exc:
                    raise InvalidInput(f"{path}: {exc}") from exc
        return AckPolicy.from_templates(
            templates, from_address=self.settings.support_address,
            own_domains=tuple(d.lower() for d in self.settings.smtp_domains),
            first_response_hours=self.settings.first_response_hours,
            max_per_hour=self.settings.ack_max_per_hour)

    @cached_property
    def capabilities(self) -> dict[str, ChannelCapability]:
        """What each channel can do for a reply, as the channel declares it (a table keyed by
        channel, like the parsers); every channel that can send has a sender below."""
        declared = (EMAIL_CAPABILITY, PHONE_CAPABILITY, *PENDING, API_CAPABILITY)
        return {c.channel: c for c in declared}

    @cached_property
    def senders(self) -> dict[str, Sender]:
        """Outbound adapters by channel, for the outbox worker."""
        return {"email": make_email_sender(self.settings.outbound_smtp_url,
                                           mailbox=self.dev_mailbox)}

    @cached_property
    def dev_mailbox(self) -> DevMailbox | None:
        """Where outgoing mail lands when no relay is configured (``make run``), else None."""
        if self.settings.outbound_smtp_url:
            return None
        return DevMailbox(self.settings.dev_mailbox_dir)

    @cached_property
    def fetchers(self) -> dict[str, Fetcher]:
        """Attachment fetchers by channel, for attachments a channel only referenced."""
        return {}

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def build_app(settings: Settings | None = None, clock: Clock | None = None) -> App:
    return App(settings=settings or load_settings(), clock=clock or SystemClock())


def settle_for_throughput(app: App) -> None:
    """For a long-running ingest process (CLI bulk ingest, worker, prepare helper): build the
    policies now, then move everything alive after start-up (topic tables, calendars, compiled
    patterns) out of the garbage collector's view and collect the young generation less often.
    A batch allocates many short-lived objects; with the default thresholds the collector
    re-scans the start-up heap over and over (~13 % of the writer's CPU, measured)."""
    app.ingest_policy  # noqa: B018 - built before the freeze, so it is frozen too
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
