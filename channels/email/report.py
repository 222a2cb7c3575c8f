"""What a machine's report about one of our messages says: delivery status notifications
(RFC 3464), read receipts (RFC 8098), abuse feedback reports (RFC 5965) and plain-text bounces.

Owns ``automation_of`` (an ``automated.auto_reason`` verdict as the core's channel-neutral
``Automation`` kind), ``delivery_report`` and ``receipt_of``.  A DSN's per-recipient blocks are
read one by one: the report is about the block whose ``Action`` is ``failed`` when there is one,
else ``delayed``, else ``delivered``/``relayed``/``expanded``; its recipient is the
``Original-Recipient`` (the address we sent to) when present, else the ``Final-Recipient``.  Only
``failed`` (or a plain bounce, which has no actions) is a ``BOUNCE``, the one kind that marks our
message failed; a delay is ``DELAY``, a successful delivery a ``RECEIPT``, an ARF report a
``FEEDBACK_REPORT``.  Pure; never raises.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from ticketing.domain.message import Automation, DeliveryReport

_STATUS_RE: Final = re.compile(r"^\s*status\s*:\s*([245]\.\d{1,3}\.\d{1,3})", re.IGNORECASE | re.M)
_ANY_STATUS_RE: Final = re.compile(r"\b([45]\.\d{1,3}\.\d{1,3})\b")
_ORIGINAL_ID_RE: Final = re.compile(r"^\s*(?:original-)?message-id\s*:\s*(<[^<>\s]+>)",
                                    re.IGNORECASE | re.M)
_FIELD_RE: Final = re.compile(r"^([A-Za-z][A-Za-z0-9-]{0,60})\s*:\s*(.*)$")
_ADDR: Final = r"[^\s<>\"(),;:\[\]@]+@[^\s<>\"(),;:\[\]@]+\.[^\s<>\"(),;:\[\]@]+"
# Plain-text bounces (qmail, Exim, carriers): the recipient named in the text.
_TEXT_RCPT_RES: Final = (
    re.compile(rf"(?:could not be delivered to|did not reach the following recipient\(s\)"
               rf"|delivery to the following recipients? failed|failed recipient"
               rf"|following address(?:es)? (?:had permanent fatal errors|failed)"
               rf"|delivery has failed to these recipients or [a-z ]{{1,30}}"
               rf"|permanently failed|recipient address rejected|original recipient)"
               rf"\s*[:\-]?\s*<?({_ADDR})>?", re.IGNORECASE),
    re.compile(rf"^\s*<({_ADDR})>\s*:?\s*$", re.MULTILINE),
)
_DELAY_SUBJECT_RE: Final = re.compile(r"\b(?:delayed|delay|warning|tertunda|verzögert|retard)\b",
                                      re.IGNORECASE)
_RECEIPT_ACTIONS: Final = frozenset({"delivered", "relayed", "expanded"})
_ACTION_ORDER: Final = ("failed", "delayed", "delivered", "relayed", "expanded")
_MAX_ID_CHARS: Final = 490
_BOUNCE_REASONS: Final = frozenset({"bounce", "returned-copy"})


def _safe(value: str | None) -> str | None:
    """An id or address from a report, storable as it is (no NUL, no lone surrogate)."""
    if not value:
        return None
    value = value.replace("\x00", "\ufffd")[:_MAX_ID_CHARS]
    return value if value.isascii() else value.encode("utf-8", "replace").decode("utf-8")


def automation_of(reason: str | None, *, report_type: str | None, action: str | None,
                  status: str | None = None, subject: str = "") -> Automation:
    """The kind of automated mail, from ``auto_reason``'s verdict, the ``report-type`` of a
    report, a delivery report's ``Action`` (RFC 3464 §2.3.3) and, for a report without one, its
    status class or a warning subject."""
    if reason is None:
        return Automation.NONE
    if reason == "read-receipt" or report_type == "disposition-notification":
        return Automation.RECEIPT
    if reason == "feedback-report" or report_type == "feedback-report":  # RFC 5965: a complaint
        return Automation.FEEDBACK_REPORT
    if reason not in _BOUNCE_REASONS:
        return Automation.AUTO_REPLY
    if action == "delayed":
        return Automation.DELAY
    if action in _RECEIPT_ACTIONS:
        return Automation.RECEIPT
    if action is None and ((status or "").startswith("4.") or (
            status is None and _DELAY_SUBJECT_RE.search(subject))):
        return Automation.DELAY
    return Automation.BOUNCE


def message_ids(value: str | None) -> list[str]:
    """Every ``<id>`` in a Message-ID / In-Reply-To / References value, in order."""
    return re.findall(r"<[^<>\s]{1,490}>", value or "")


def _blocks(status_text: str) -> list[dict[str, str]]:
    """The field blocks of a DSN (per-message, then one per recipient): lower-case name →
    first value."""
    blocks: list[dict[str, str]] = []
    for chunk in re.split(r"\n\s*\n", status_text.replace("\r\n", "\n")):
        fields: dict[str, str] = {}
        for line in chunk.split("\n"):
            found = _FIELD_RE.match(line.strip())
            if found:
                fields.setdefault(found.group(1).lower(), found.group(2).strip())
        if fields:
            blocks.append(fields)
    return blocks


def _address(value: str | None) -> str | None:
    """``rfc822; <x@y>`` → ``x@y`` (None for an address type we cannot send to)."""
    if not value:
        return None
    kind, sep, address = value.partition(";")
    if sep and kind.strip().lower() not in ("rfc822", "utf-8", "x-unknown"):
        return None
    address = (address if sep else kind).strip().strip("<>").strip().lower()
    return address if re.fullmatch(_ADDR, address) else None


def _recipient_block(blocks: list[dict[str, str]]) -> dict[str, str] | None:
    recipients = [b for b in blocks if "action" in b or "final-recipient" in b
                  or "original-recipient" in b]
    for wanted in _ACTION_ORDER:
        for block in recipients:
            if block.get("action", "").split()[0:1] == [wanted]:
                return block
    return recipients[0] if recipients else None


def _text_recipient(text: str) -> str | None:
    for pattern in _TEXT_RCPT_RES:
        found = pattern.search(text[:20_000])
        if found:
            return found.group(1).lower()
    return None


def delivery_report(status_text: str, original_ids: Sequence[str], in_reply_to: str | None,
                    body_text: str) -> DeliveryReport:
    """What a delivery report says: which of our messages (its Message-ID, taken from the
    returned message or headers, else In-Reply-To, else a ``Message-ID:`` line quoted in the
    text), the ``Status`` code (e.g. ``5.1.1``), the ``Action`` and the recipient."""
    bounce_of = original_ids[0] if original_ids else in_reply_to
    if bounce_of is None:
        quoted = _ORIGINAL_ID_RE.search(body_text)
        bounce_of = quoted.group(1) if quoted else None
    block = _recipient_block(_blocks(status_text))
    action = status = recipient = None
    if block is not None:
        action = (block.get("action") or "").split(" ")[0].lower() or None
        found = _STATUS_RE.search(f"status: {block.get('status', '')}")
        status = found.group(1) if found else None
        recipient = (_address(block.get("original-recipient"))
                     or _address(block.get("final-recipient")))
    if status is None:
        found = _STATUS_RE.search(status_text) or _STATUS_RE.search(body_text) \
            or _ANY_STATUS_RE.search(body_text[:20_000])
        status = found.group(1) if found else None
    if recipient is None and not status_text.strip():
        recipient = _text_recipient(body_text)
    return DeliveryReport(message_id=_safe(bounce_of), status=status,
                          action=action if action and action.isalpha() else None,
                          recipient=_safe(recipient))


def receipt_of(disposition_text: str, in_reply_to: str | None) -> DeliveryReport:
    """Which of our messages a read receipt (RFC 8098) is about."""
    found = _ORIGINAL_ID_RE.search(disposition_text)
    return DeliveryReport(message_id=_safe(found.group(1) if found else in_reply_to),
                          action="displayed")
