"""Settings: ``config/settings.toml`` overridden by ``TICKETING_<NAME>`` environment variables.

Read once, in the composition root (CLI, ``app.py``); nothing below the drivers reads the
environment.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ticketing.domain.errors import InvalidInput

DEFAULT_CONFIG_DIR = Path("config")
DEFAULT_TEST_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    database_url: str = "sqlite:///./var/ticketing.db"
    config_dir: str = "config"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    smtp_domains: tuple[str, ...] = ("prakerja.example.id",)
    smtp_max_bytes: int = 25 * 1024 * 1024
    smtp_max_recipients: int = 100  # RFC 5321 4.5.3.1.8's minimum; more get 452 4.5.3
    support_address: str = "pengaduan@prakerja.example.id"
    # Empty: replies go to the dev mailbox (a local folder the pages show at /dev/mailbox).
    outbound_smtp_url: str = ""
    dev_mailbox_dir: str = "./var/mailbox"
    telegram_token: str = ""
    telegram_api_url: str = "https://api.telegram.org"
    telegram_webhook_url: str = ""  # set: webhook mode; empty: the worker long-polls
    telegram_webhook_secret: str = ""
    telegram_poll_timeout: int = 25  # seconds a getUpdates call waits for updates
    meta_app_secret: str = ""
    meta_verify_token: str = ""
    meta_access_token: str = ""
    meta_graph_url: str = "https://graph.facebook.com/v21.0"
    # The app has Meta's human_agent permission: DMs up to 7 days after the citizen's last
    # message, tagged HUMAN_AGENT (else 24 hours).
    meta_human_agent: bool = False
    meta_webhook_max_bytes: int = 1024 * 1024
    instagram_account_id: str = "me"  # the professional account whose /messages we post to
    instagram_accounts: tuple[str, ...] = ()
    # The reconciliation poller (instaloader): the login whose saved session it uses (the file
    # ``{instagram_session_dir}/session-{login}``, made by ``instaloader --login``), how often
    # it runs and how many recent posts of each account it reads.
    instagram_login: str = ""
    instagram_session_dir: str = "./var/instagram"
    instagram_poll_seconds: int = 300
    instagram_max_posts: int = 12
    # Also read the recent DMs through the Graph API's conversations endpoint (what the
    # webhook missed); needs meta_access_token.
    instagram_reconcile_dms: bool = True
    transcript_dir: str = "./var/transcripts"
    transcript_max_bytes: int = 5 * 1024 * 1024
    # Call transcripts' speaker roles (channels.phone.roles): AWS channel identification's
    # channels ("ch_0=agent,ch_1=caller"), and names of agents (besides the staff users' own
    # names) that Teams/Zoom transcripts show as named voices.
    phone_channel_roles: str = ""
    phone_agent_names: tuple[str, ...] = ()
    attachment_dir: str = "./var/attachments"
    max_attachment_bytes: int = 10 * 1024 * 1024
    dedup_window_days: int = 14
    first_response_hours: int = 4
    ack_enabled: bool = True
    ack_max_per_hour: int = 3
    sla_escalation_email: bool = False
    ingest_batch_size: int = 500
    # Messages processed out of their sent_at order re-decide the follow-ups after them
    # (services.ingest.late); off only to measure what that costs.
    ingest_regroup_late: bool = True
    # A message joins an open ticket of its citizen by a candidate topic, a close paraphrase or
    # a follow-up marker, not only by its one topic (services.ingest.grouping); off only to
    # measure what that adds.
    ingest_related_grouping: bool = True
    log_level: str = "INFO"
    # Web chat (channels/webchat, entrypoints/webchat).
    webchat_session_hours: int = 24  # a session token lives this long after its last use
    webchat_email_after_minutes: int = 10  # an unread reply then continues by e-mail
    webchat_origins: tuple[str, ...] = ()  # extra allowed Origins (the page's own host always)
    webchat_messages_per_minute: int = 30  # per session, burst up to a third of it
    webchat_ip_messages_per_minute: int = 120  # per client address, all its sessions
    webchat_sessions_per_ip: int = 10  # new sessions per address in 10 minutes before the brake
    webchat_max_upload_bytes: int = 5 * 1024 * 1024
    webchat_minutes_per_chat: int = 5  # an agent's average time per chat, for the wait shown
    webchat_link_minutes: int = 15  # a sign-in link by e-mail works once, this long
    webchat_links_per_address: int = 3  # sign-in links per e-mail address an hour
    webchat_links_per_ip: int = 10  # sign-in link requests per client address an hour
    # The address citizens reach us at, for links in e-mails ("https://pengaduan.example.id").
    # Empty: the request's own host, only when it is a loopback host (development).
    public_url: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


def _coerce(name: str, current: Any, raw: Any) -> Any:
    try:
        if isinstance(current, bool):
            return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes", "on")
        if isinstance(current, int):
            return int(raw)
        if isinstance(current, tuple):
            if isinstance(raw, (list, tuple)):
                return tuple(str(x) for x in raw)
            return tuple(x.strip() for x in str(raw).split(",") if x.strip())
    except ValueError as exc:
        raise InvalidInput(f"setting {name}: cannot read {raw!r}") from exc
    return str(raw)


def load_settings(config_dir: str | Path | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    folder = Path(config_dir or env.get("TICKETING_CONFIG_DIR") or DEFAULT_CONFIG_DIR)
    values: dict[str, Any] = {}
    path = folder / "settings.toml"
    if path.exists():
        try:
            with path.open("rb") as fh:
                values.update(tomllib.load(fh))
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInput(f"{path}: {exc}") from exc
    base = Settings()
    out: dict[str, Any] = {"config_dir": str(folder)}
    known = {f.name for f in fields(Settings)} - {"extra"}
    for name in known:
        raw = env.get(f"TICKETING_{name.upper()}", values.get(name))
        if raw is not None and name != "config_dir":
            out[name] = _coerce(name, getattr(base, name), raw)
    out["extra"] = {k: v for k, v in values.items() if k not in known}
    return Settings(**out)
