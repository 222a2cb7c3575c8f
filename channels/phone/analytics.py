"""Turn-level vendor JSON whose turns carry their speaker's role: Amazon Connect Contact Lens and
Amazon Transcribe Call Analytics.  The untrusted JSON is checked here, once.

* Contact Lens (``Transcript[]`` with ``ParticipantId``): the id is resolved through the turn's
  own ``ParticipantRole`` or ``Participants[].ParticipantRole`` (AGENT, CUSTOMER; SUPERVISOR,
  SYSTEM and CUSTOM_BOT are the desk's side); the contact id in ``CustomerMetadata.ContactId`` is
  the call id.
* Call Analytics (``Transcript[]`` with ``ParticipantRole`` and no ``ParticipantId``, next to
  ``ConversationCharacteristics`` / ``Categories`` / ``JobStatus``): its own format, told apart
  from Contact Lens by the turns themselves; ``JobName`` is the call id.

Both: ``BeginOffsetMillis`` / ``EndOffsetMillis`` are whole milliseconds, ``Content`` the text
(``[PII]`` where redacted).  The roles are stated, so nothing is inferred.
"""

from __future__ import annotations

from typing import Any, Final

from channels.phone.call import CallMeta, Role, Transcript, role_of
from channels.phone.roles import Piece, resolve
from ticketing.domain.errors import MalformedPayload

CONTACT_LENS: Final = "contact-lens"
CALL_ANALYTICS: Final = "call-analytics"
_ANALYTICS_KEYS: Final = ("ConversationCharacteristics", "Categories", "JobStatus", "JobName")


def kind_of(doc: dict[str, Any]) -> str | None:
    """``contact-lens``, ``call-analytics`` or None (not a turn-level transcript)."""
    turns = doc.get("Transcript")
    if not isinstance(turns, list):
        return None
    first = next((t for t in turns if isinstance(t, dict)), None)
    if first is not None and "ParticipantId" in first:
        return CONTACT_LENS
    if first is not None and "ParticipantRole" in first:
        return CALL_ANALYTICS
    if "CustomerMetadata" in doc or "Participants" in doc or "Channel" in doc:
        return CONTACT_LENS
    if any(key in doc for key in _ANALYTICS_KEYS):
        return CALL_ANALYTICS
    return None


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise MalformedPayload(f"{what} must be a string")
    return value


def _millis(value: Any, what: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**12:
        raise MalformedPayload(f"{what} must be a whole number of milliseconds")
    return value


def _opt_text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip()[:200] or None


def _role(value: Any) -> Role | None:
    return role_of(value) if isinstance(value, str) else None


def _piece(entry: Any, number: int, speaker: str, role: Role) -> Piece:
    return Piece(speaker[:200],
                 _millis(entry.get("BeginOffsetMillis"), f"Transcript[{number}].BeginOffsetMillis"),
                 _millis(entry.get("EndOffsetMillis"), f"Transcript[{number}].EndOffsetMillis"),
                 _str(entry.get("Content"), f"Transcript[{number}].Content"), role)


def parse_contact_lens(doc: dict[str, Any]) -> Transcript:
    roles: dict[str, Any] = {}
    people = doc.get("Participants")
    for person in people if isinstance(people, list) else []:
        if isinstance(person, dict) and isinstance(person.get("ParticipantId"), str):
            roles[person["ParticipantId"]] = person.get("ParticipantRole")
    pieces: list[Piece] = []
    for number, entry in enumerate(doc["Transcript"], 1):
        if not isinstance(entry, dict):
            raise MalformedPayload(f"Transcript[{number}] must be an object")
        who = _str(entry.get("ParticipantId"), f"Transcript[{number}].ParticipantId")
        role = _role(entry.get("ParticipantRole")) or _role(roles.get(who)) or _role(who)
        if role is None:
            raise MalformedPayload(f"Transcript[{number}]: unknown participant {who[:40]!r} "
                                   "(expected AGENT or CUSTOMER)")
        pieces.append(_piece(entry, number, who, role))
    if not pieces:
        raise MalformedPayload("Contact Lens transcript has no turns")
    turns, report = resolve(pieces, stated_by="participant_role")
    customer = doc.get("CustomerMetadata")
    contact = customer.get("ContactId") if isinstance(customer, dict) else None
    return Transcript(format=CONTACT_LENS, turns=turns, roles=report,
                      meta=CallMeta(call_id=_opt_text(contact),
                                    language=_opt_text(doc.get("LanguageCode"))))


def parse_call_analytics(doc: dict[str, Any]) -> Transcript:
    pieces: list[Piece] = []
    for number, entry in enumerate(doc["Transcript"], 1):
        if not isinstance(entry, dict):
            raise MalformedPayload(f"Transcript[{number}] must be an object")
        said = _str(entry.get("ParticipantRole"), f"Transcript[{number}].ParticipantRole")
        role = role_of(said)
        if role is None:
            raise MalformedPayload(f"Transcript[{number}]: unknown ParticipantRole "
                                   f"{said[:40]!r} (expected AGENT or CUSTOMER)")
        pieces.append(_piece(entry, number, said, role))
    if not pieces:
        raise MalformedPayload("Call Analytics transcript has no turns")
    turns, report = resolve(pieces, stated_by="participant_role")
    return Transcript(format=CALL_ANALYTICS, turns=turns, roles=report,
                      meta=CallMeta(call_id=_opt_text(doc.get("JobName")),
                                    language=_opt_text(doc.get("LanguageCode"))))


__all__ = ["CALL_ANALYTICS", "CONTACT_LENS", "kind_of", "parse_call_analytics",
           "parse_contact_lens"]
