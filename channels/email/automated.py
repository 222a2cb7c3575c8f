"""Recognising mail written by a machine, which the engine stores but never answers.

Owns ``auto_reason`` (why a message is automated, or None), ``automation_of`` (that reason as the
core's channel-neutral ``Automation`` kind) and ``delivery_report`` (what a DSN says about which of
our messages failed).  Answering an auto-reply, a bounce or a list mail starts mail
loops (RFC 3834 §2), so the verdict errs towards "automated"; the message is still kept and shown.
Pure: works on already-decoded header values, never raises.

Reasons: ``bounce``, ``read-receipt``, ``x-autoreply``, ``out-of-office``, ``auto-submitted``,
``list``, ``precedence:<bulk|junk|list|auto_reply>``, ``loop``, ``null-sender``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

from ticketing.domain.message import Automation, DeliveryReport

_MSGID_RE: Final = re.compile(r"<[^<>\s]{1,490}>")
_OOF_SUBJECT_RE: Final = re.compile(
    r"^\s*(?:automatic reply|auto(?:matic)?[- ]?reply|auto response|autoreply|out of (?:the )?office"
    r"|balasan otomatis|balas otomatis|jawaban otomatis|di luar kantor|sedang cuti"
    r"|abwesenheitsnotiz|réponse automatique|vacation)\b", re.IGNORECASE)
_DAEMON_RE: Final = re.compile(
    r"^(?:mailer-daemon|postmaster|mail-daemon|maildaemon|bounce|bounces|no-reply-bounce)"
    r"(?:[+.-][^@]*)?@", re.IGNORECASE)
_BOUNCE_SUBJECT_RE: Final = re.compile(
    r"(?:undeliver|delivery status notification|delivery failure|failure notice|returned mail"
    r"|mail delivery failed|pesan tidak terkirim|tidak dapat dikirim|gagal terkirim)",
    re.IGNORECASE)
_STATUS_RE: Final = re.compile(r"^\s*status\s*:\s*([245]\.\d{1,3}\.\d{1,3})", re.IGNORECASE | re.M)
_ACTION_RE: Final = re.compile(r"^\s*action\s*:\s*([a-z]+)", re.IGNORECASE | re.M)
_FINAL_RCPT_RE: Final = re.compile(r"^\s*(?:final|original)-recipient\s*:\s*[^;\n]*;\s*(\S+)",
                                   re.IGNORECASE | re.M)
_ORIGINAL_ID_RE: Final = re.compile(r"^\s*(?:original-)?message-id\s*:\s*(<[^<>\s]+>)",
                                    re.IGNORECASE | re.M)
_BULK: Final = frozenset({"bulk", "junk", "list", "auto_reply"})
_MAX_ID_CHARS: Final = 490


def _safe(value: str | None) -> str | None:
    """An id or address from a report, storable as it is (no NUL, no lone surrogate)."""
    if not value:
        return None
    value = value.replace("\x00", "\ufffd")[:_MAX_ID_CHARS]
    return value if value.isascii() else value.encode("utf-8", "replace").decode("utf-8")


def _first(headers: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0].strip() if values else None


def auto_reason(headers: Mapping[str, Sequence[str]], *, sender: str, envelope_from: str | None,
                report_type: str | None, subject: str) -> str | None:
    """Why this mail is automated, or None for mail from a person.

    ``headers`` maps lower-case header names to decoded values; ``report_type`` is the
    ``report-type`` of a top-level ``multipart/report`` (or None).
    """
    if report_type == "disposition-notification":
        return "read-receipt"
    if report_type is not None:  # delivery-status and any other report a server sends
        return "bounce"
    if _DAEMON_RE.match(sender) and (_BOUNCE_SUBJECT_RE.search(subject) or envelope_from == ""):
        return "bounce"
    if "x-autoreply" in headers or "x-autorespond" in headers:
        return "x-autoreply"
    submitted = (_first(headers, "auto-submitted") or "no").split(";")[0].strip().lower()
    suppress = (_first(headers, "x-auto-response-suppress") or "").lower()
    exchange_oof = ("x-ms-exchange-inbox-rules-loop" in headers
                    or bool({"oof", "all"} & {part.strip() for part in suppress.split(",")}))
    if (submitted != "no" or exchange_oof) and (submitted == "auto-replied" or
                                                _OOF_SUBJECT_RE.match(subject)):
        return "out-of-office"
    if submitted != "no" or exchange_oof:
        return "auto-submitted"
    if any(name in headers for name in ("list-id", "list-unsubscribe", "list-post")):
        return "list"
    precedence = (_first(headers, "precedence") or "").lower()
    if precedence in _BULK:
        return f"precedence:{precedence}"
    if "x-loop" in headers:
        return "loop"
    if _DAEMON_RE.match(sender):
        return "bounce"
    return_path = _first(headers, "return-path")
    if envelope_from == "" or (return_path is not None and return_path.replace(" ", "") == "<>"):
        return "null-sender"
    return None


_RECEIPT_ACTIONS: Final = frozenset({"delivered", "relayed", "expanded"})


def automation_of(reason: str | None, *, report_type: str | None,
                  action: str | None) -> Automation:
    """The kind of automated mail, from ``auto_reason``'s verdict, the ``report-type`` of a
    ``multipart/report`` and a delivery report's ``Action`` (RFC 3464 §2.3.3)."""
    if reason is None:
        return Automation.NONE
    if reason == "read-receipt":
        return Automation.RECEIPT
    if reason != "bounce":
        return Automation.AUTO_REPLY
    if report_type == "feedback-report":  # RFC 5965: an abuse or spam complaint
        return Automation.FEEDBACK_REPORT
    if action == "delayed":
        return Automation.DELAY
    if action in _RECEIPT_ACTIONS:
        return Automation.RECEIPT
    return Automation.BOUNCE


def message_ids(value: str | None) -> list[str]:
    """Every ``<id>`` in a Message-ID / In-Reply-To / References value, in order."""
    return _MSGID_RE.findall(value or "")


def delivery_report(status_text: str, original_ids: Sequence[str], in_reply_to: str | None,
                    body_text: str) -> DeliveryReport:
    """What a delivery report says: which of our messages (its Message-ID, taken from the
    returned message or headers, else In-Reply-To, else a ``Message-ID:`` line quoted in the
    text), the first ``Status:`` code (e.g. ``5.1.1``), the ``Action`` (``failed``/``delayed``/
    ...) and the recipient."""
    bounce_of = original_ids[0] if original_ids else in_reply_to
    if bounce_of is None:
        quoted = _ORIGINAL_ID_RE.search(body_text)
        bounce_of = quoted.group(1) if quoted else None
    status = _STATUS_RE.search(status_text) or _STATUS_RE.search(body_text)
    action = _ACTION_RE.search(status_text)
    recipient = _FINAL_RCPT_RE.search(status_text)
    return DeliveryReport(
        message_id=_safe(bounce_of),
        status=status.group(1) if status else None,
        action=action.group(1).lower() if action else None,
        recipient=_safe(recipient.group(1).strip("<>").lower()) if recipient else None)


def receipt_of(disposition_text: str, in_reply_to: str | None) -> DeliveryReport:
    """Which of our messages a read receipt (RFC 8098) is about."""
    found = _ORIGINAL_ID_RE.search(disposition_text)
    return DeliveryReport(message_id=_safe(found.group(1) if found else in_reply_to),
                          action="displayed")
