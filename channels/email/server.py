"""The inbound SMTP transport (aiosmtpd).

It does no business work: it checks the recipient domain, hands the untouched bytes to the raw
sink in a worker thread (the database write is blocking) bounded by a timeout, and only then
answers ``250``.  Storage trouble answers ``451 4.3.0`` so the sending server retries later; an
unexpected error is also a ``451``, never a ``500`` that would bounce a citizen's mail.  Size is
limited by aiosmtpd itself (``552``); recipients per message by ``max_recipients`` (``452 4.5.3``
beyond it, RFC 5321 4.5.3.1.10: the client sends the rest in another transaction).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from ticketing.domain.raw import RawDelivery, content_key
from ticketing.services.ports import RawSink

log = logging.getLogger(__name__)

CONTENT_TYPE = "message/rfc822"
# RFC 5321 4.5.3.1.8: a server must accept at least 100 recipients in one transaction.
DEFAULT_MAX_RECIPIENTS = 100


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().strip(">").lower()


class InboundHandler:
    def __init__(self, sink: RawSink, domains: Sequence[str], *,
                 store_timeout: float = 20.0,
                 max_recipients: int = DEFAULT_MAX_RECIPIENTS) -> None:
        self._sink = sink
        self._domains = {d.lower() for d in domains}
        self._timeout = store_timeout
        self._max_recipients = max(1, max_recipients)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if _domain(address) not in self._domains:
            return "550 5.1.1 No such mailbox here"
        if len(envelope.rcpt_tos) >= self._max_recipients:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content
        if not isinstance(raw, bytes):
            raw = bytes(envelope.content or b"") if isinstance(envelope.content, bytes) \
                else str(envelope.content or "").encode("utf-8", "surrogateescape")
        # The same bytes delivered again (a retry after a lost 250) carry the same key.
        delivery = RawDelivery(channel="email", key=content_key("email", raw), payload=raw,
                               content_type=CONTENT_TYPE,
                               meta={"mail_from": envelope.mail_from,
                                     "rcpt_tos": list(envelope.rcpt_tos),
                                     "peer": str(session.peer[0]) if session.peer else None,
                                     "received_at": dt.datetime.now(dt.UTC).isoformat()})
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.run_in_executor(None, self._sink, delivery),
                                   timeout=self._timeout)
        except TimeoutError:
            log.error("storing inbound mail timed out after %.0f s", self._timeout)
            return "451 4.3.0 Storage is slow; please try again later"
        except Exception:
            log.exception("storing inbound mail failed")
            return "451 4.3.0 Temporary storage failure; please try again later"
        return "250 2.0.0 Message accepted for delivery"

    async def handle_exception(self, error: Exception) -> str:
        log.exception("SMTP session error", exc_info=error)
        return "451 4.3.0 Temporary failure; please try again later"


def make_controller(sink: RawSink, *, host: str, port: int, domains: Sequence[str],
                    max_bytes: int, store_timeout: float = 20.0,
                    max_recipients: int = DEFAULT_MAX_RECIPIENTS) -> Controller:
    """A started-on-demand aiosmtpd server on its own thread and event loop."""
    handler = InboundHandler(sink, domains, store_timeout=store_timeout,
                             max_recipients=max_recipients)
    kwargs: dict[str, Any] = {"data_size_limit": max_bytes, "enable_SMTPUTF8": True,
                              "decode_data": False}
    return Controller(handler, hostname=host, port=port, server_hostname="ticketing",
                      **kwargs)
