"""The composition root: settings → engine, policies and parsers, wired once.

Drivers (CLI, API, worker, channel transports) ask for an ``App``; nothing below this module
reads configuration files or the environment.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import sqlalchemy as sa

from ticketing.domain.calendar import calendars_from_config
from ticketing.domain.canned import CannedReply
from ticketing.domain.canned import parse as parse_canned
from ticketing.domain.errors import InvalidInput
from ticketing.domain.routing import RoutingConfig, routing_config_from
from ticketing.domain.search import SearchVocabulary
from ticketing.domain.sla_policy import sla_config_from
from ticketing.domain.text import Role
from ticketing.domain.topics import TopicClassifier
from ticketing.services.clock import Clock, SystemClock
from ticketing.domain.channels import API as API_CAPABILITY
from ticketing.domain.channels import ChannelCapability
from ticketing.services.ports import Fetcher, Sender
from ticketing.services.escalation import EscalationMail
from ticketing.services.intake import GroupCommitSink
from ticketing.services.routing import AgentCache
from ticketing.services.sla import SlaSetup
from channels.email.parse import attachment_blobs, parse_email
from channels.email.capability import CAPABILITY as EMAIL_CAPABILITY
from channels.email.mailbox import DevMailbox
from channels.email.send import make_sender as make_email_sender
from channels.pending import PENDING
from channels.telegram.bot import BotRunner, make_bot
from channels.telegram.capability import CAPABILITY as TELEGRAM_CAPABILITY
from channels.telegram.capability import OFF as TELEGRAM_OFF
from channels.telegram.parse import CONTENT_TYPE as TELEGRAM_CONTENT_TYPE
from channels.telegram.parse import parse_update
from channels.telegram.send import TelegramFetcher, TelegramSender
from channels.phone.capability import CAPABILITY as PHONE_CAPABILITY
from channels.email.server import CONTENT_TYPE as EMAIL_CONTENT_TYPE
from channels.instagram.capability import capability as instagram_capability
from channels.instagram.events import CONTENT_TYPE as INSTAGRAM_CONTENT_TYPE
from channels.instagram.fetch import make_fetcher as make_instagram_fetcher
from channels.instagram.parse import parse_event as parse_instagram_event
from channels.instagram.send import make_sender as make_instagram_sender
from channels.phone.parse import CONTENT_TYPE as TRANSCRIPT_CONTENT_TYPE
from channels.phone.parse import parse_transcript
from channels.phone.roles import RoleHints, channel_roles_from
from channels.webchat.capability import CAPABILITY as WEBCHAT_CAPABILITY
from channels.webchat.parse import CONTENT_TYPE as WEBCHAT_CONTENT_TYPE
from channels.webchat.parse import parse_webchat
from ticketing.domain.message import Ignored, InboundMessage
from ticketing.services.ingest import (NORMALIZED_JSON, AckPolicy, EvidencePolicy, IngestPolicy,
                                       parse_normalized_bytes)
from ticketing.services.ingest.acknowledge import AckText
from ticketing.services.ingest.policy import CommandHandler
from ticketing.services.commands import CommandSetup, answer_command
from ticketing.domain.message import Command
from ticketing.settings import Settings, load_settings
from ticketing.store.attachments import FileAttachmentStore
from ticketing.store.db import Transactions, make_engine
from ticketing.store.staff import staff_names

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
    def search_vocabulary(self) -> SearchVocabulary:
        """How a staff search is read: the general slang, ``topics.toml``'s spellings and typos
        (its ``[slang]`` table, checked by the classifier) and the classifier's typo fixes."""
        classifier = self.evidence_policy.classifier
        slang = read_toml(self.config_dir / "topics.toml").get("slang", {})
        return SearchVocabulary.with_topics_slang(dict(slang), correct=classifier.correct)

    @cached_property
    def ingest_policy(self) -> IngestPolicy:
        self.channel_roles  # noqa: B018 - a bad setting stops start-up, not every call later
        parsers = {NORMALIZED_JSON: parse_normalized_bytes, EMAIL_CONTENT_TYPE: parse_email,
                   TRANSCRIPT_CONTENT_TYPE: self.parse_transcript,
                   TELEGRAM_CONTENT_TYPE: parse_update,
                   INSTAGRAM_CONTENT_TYPE: parse_instagram_event,
                   WEBCHAT_CONTENT_TYPE: parse_webchat}
        return IngestPolicy(evidence=self.evidence_policy, parsers=parsers,
                            dedup_window=dt.timedelta(days=self.settings.dedup_window_days),
                            acknowledgement=self.ack_policy,
                            attachment_store=self.attachment_store,
                            attachment_extractors={EMAIL_CONTENT_TYPE: attachment_blobs},
                            max_attachment_bytes=self.settings.max_attachment_bytes,
                            sla=self.sla_setup, routing=self.routing,
                            regroup_late=self.settings.ingest_regroup_late,
                            related_grouping=self.settings.ingest_related_grouping,
                            commands=self.command_handler)

    @cached_property
    def command_handler(self) -> CommandHandler:
        """Answers to requests to a chat bot (/start, /status, /bantuan, a link code)."""
        setup = CommandSetup(capabilities=self.capabilities,
                             from_address=self.settings.support_address, sla=self.sla_setup,
                             first_response_hours=self.settings.first_response_hours,
                             max_attachment_bytes=self.settings.max_attachment_bytes)

        def handle(conn: sa.Connection, command: Command, now: dt.datetime) -> None:
            answer_command(conn, command, now, setup=setup)
        return handle

    @cached_property
    def channel_roles(self) -> dict[str, Role]:
        try:
            return channel_roles_from(self.settings.phone_channel_roles)
        except ValueError as exc:
            raise InvalidInput(f"setting phone_channel_roles: {exc}") from exc

    def role_hints(self) -> RoleHints:
        """The desk's speaker hints for call transcripts: the configured channel roles and
        agent names plus the active staff users' names (re-read at most once a minute, so a new
        agent is recognised without a restart)."""
        now = time.monotonic()
        cached = self.__dict__.get("_role_hints")
        if cached is not None and now - cached[0] < 60:
            return cast(RoleHints, cached[1])
        try:
            staff = self.read(staff_names)
        except sa.exc.SQLAlchemyError:  # the names are a help, never a reason to stop ingest
            log.warning("staff names unavailable for transcript speaker roles", exc_info=True)
            staff = []
        hints = RoleHints.build(agent_names=(*self.settings.phone_agent_names, *staff),
                                channel_roles=self.channel_roles)
        self.__dict__["_role_hints"] = (now, hints)
        return hints

    def parse_transcript(self, raw: bytes, meta: Mapping[str, Any]) -> InboundMessage | Ignored:
        return parse_transcript(raw, meta, self.role_hints())

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
        telegram = TELEGRAM_CAPABILITY if self.settings.telegram_token else TELEGRAM_OFF
        instagram = instagram_capability(human_agent=self.settings.meta_human_agent)
        declared = (EMAIL_CAPABILITY, PHONE_CAPABILITY, WEBCHAT_CAPABILITY, *PENDING, telegram,
                    instagram,
                    API_CAPABILITY)
        return {c.channel: c for c in declared}

    @cached_property
    def senders(self) -> dict[str, Sender]:
        """Outbound adapters by channel, for the outbox worker."""
        s = self.settings
        out: dict[str, Sender] = {
            "email": make_email_sender(s.outbound_smtp_url, mailbox=self.dev_mailbox,
                                       files=self.attachment_store.read),
            "instagram": make_instagram_sender(
                graph_url=s.meta_graph_url, access_token=s.meta_access_token,
                account_id=s.instagram_account_id, human_agent=s.meta_human_agent)}
        if self.telegram is not None:
            out["telegram"] = TelegramSender(self.telegram, self.attachment_store.read)
        return out

    @cached_property
    def dev_mailbox(self) -> DevMailbox | None:
        """Where outgoing mail lands when no relay is configured (``make run``), else None."""
        if self.settings.outbound_smtp_url:
            return None
        return DevMailbox(self.settings.dev_mailbox_dir)

    @cached_property
    def fetchers(self) -> dict[str, Fetcher]:
        """Attachment fetchers by channel, for attachments a channel only referenced."""
        s = self.settings
        out: dict[str, Fetcher] = {"instagram": make_instagram_fetcher(
            graph_url=s.meta_graph_url, access_token=s.meta_access_token,
            account_id=s.instagram_account_id)}
        if self.telegram is not None:
            out["telegram"] = TelegramFetcher(self.telegram)
        return out

    @cached_property
    def telegram(self) -> BotRunner | None:
        """The Bot API client (python-telegram-bot on its own event loop); None: no token."""
        s = self.settings
        if not s.telegram_token:
            return None
        return BotRunner(make_bot(s.telegram_token, s.telegram_api_url,
                                  poll_timeout=s.telegram_poll_timeout + 15))

    @cached_property
    def raw_sink(self) -> GroupCommitSink:
        """Where webhook transports commit raw bodies (group commits).  One writer thread on
        SQLite (one writer at a time anyway); on PostgreSQL four, each with its own connection,
        so that while one group waits for its durable commit the next is already on its way
        (the server flushes the WAL of concurrent commits together)."""
        return GroupCommitSink(self.uow, self.clock,
                               writers=4 if self.uow.has_row_locks() else 1)

    def close(self) -> None:
        if "telegram" in self.__dict__ and self.telegram is not None:
            self.telegram.close()
        if "raw_sink" in self.__dict__:
            self.raw_sink.close()
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
