"""Citizen identifiers: normalisation, validation and masking.

Owns what counts as the *same citizen*: the canonical form of every identifier kind (E.164 phones,
16-digit NIK, lower-cased email, channel ids), the structural NIK check and the masks shown in logs
and the UI.  Which identifiers in free text the writer gives as their *own* is
``ticketing.domain.claimed``.

A wrong link merges two citizens and shows one citizen's data to another, so every rule here leans
to precision: an identifier that is not clearly the writer's (someone else's number, a bank account,
an unlabelled number outside a signature) is dropped.  Pure: no files, clock, env or database.
"""

from __future__ import annotations

import calendar
import functools
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import phonenumbers

from ticketing.domain.message import Sender


class IdentityKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    NIK = "nik"
    TELEGRAM = "telegram"
    INSTAGRAM = "instagram"
    INSTAGRAM_USERNAME = "instagram_username"
    # A web chat session (its public id): the one browser conversation, resumable by its token.
    WEBCHAT = "webchat"


# Usernames can be changed and then taken by someone else: shown and searched, never used to link.
LINKING_KINDS: Final = frozenset(IdentityKind) - {IdentityKind.INSTAGRAM_USERNAME}


@dataclass(frozen=True, slots=True, kw_only=True)
class Identifier:
    kind: IdentityKind
    value: str  # normalized
    source: str  # "sender" (structured channel field) or "text" (claimed in the body)


# --- normalisation ---------------------------------------------------------------------------------

_PHONE_CHARS_RE: Final = re.compile(r"^[\d\s+().\-/\u00a0]+$")


@functools.lru_cache(maxsize=65536)
def normalize_phone(raw: str) -> str | None:
    """E.164 for a valid phone number, else None.

    Indonesian numbers are accepted in every way citizens write them (0812..., +62 812..., 62812...,
    0062..., (+62) 812..., 812...).  Foreign numbers need their "+" (or "00"): bare digits that are not
    Indonesian-looking are not guessed, since a wrong guess would link strangers.
    """
    text = raw.strip()
    if not text or len(text) > 40 or not _PHONE_CHARS_RE.match(text):
        return None
    plus = text.lstrip("(").lstrip().startswith("+")
    digits = re.sub(r"\D", "", text)
    if plus:
        candidate = "+" + digits
    elif digits.startswith("00"):
        candidate = "+" + digits[2:]
    elif digits.startswith("62"):
        # phonenumbers reads "62812..." without "+" as a landline: try the country code first.
        candidate = "+" + digits
    elif digits.startswith(("0", "8")):
        candidate = digits
    else:
        return None
    if candidate.startswith("+620"):  # "+62 0812...": the trunk 0 kept after the country code
        candidate = "+62" + candidate[4:]
    try:
        number = phonenumbers.parse(candidate, "ID")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Kode wilayah of Indonesia's provinces (Kemendagri), including the 2022 Papua provinces (93-96).
PROVINCE_CODES: Final = frozenset({
    11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53,
    61, 62, 63, 64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96,
})
_NIK_SEPARATORS_RE: Final = re.compile(r"[\s.\-]")


def normalize_nik(raw: str) -> str | None:
    """The 16 digits of a structurally valid NIK (PP KK CC DDMMYY SSSS), else None.

    There is no checksum, so the structure is all we can check: a real province, non-zero regency
    and district, a real birth date (women add 40 to the day) and a non-zero serial.  A 16-digit bank
    account or card number usually fails one of these.
    """
    digits = _NIK_SEPARATORS_RE.sub("", raw.strip())
    if len(digits) != 16 or not digits.isascii() or not digits.isdigit():
        return None
    day, month = int(digits[6:8]), int(digits[8:10])
    if day > 40:
        day -= 40
    if (int(digits[:2]) not in PROVINCE_CODES or digits[2:4] == "00" or digits[4:6] == "00"
            or not 1 <= month <= 12 or digits[12:] == "0000"):
        return None
    # Year 2000 is a leap year, so 29 February is accepted whatever the (two-digit) year.
    if not 1 <= day <= calendar.monthrange(2000, month)[1]:
        return None
    return digits


_EMAIL_RE: Final = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)


def normalize_email(raw: str) -> str | None:
    """Lower-cased address of a plausible shape, else None (no provider-specific folding)."""
    text = raw.strip().strip("<>").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    text = text.rstrip(".,;:").lower()
    if len(text) > 254 or not _EMAIL_RE.match(text):
        return None
    return text


_ID_RE: Final = re.compile(r"^\d{1,20}$")
# Instagram: the Instagram-scoped id Meta's webhooks give, or — for a commenter only the
# reconciliation poller saw, without the Graph API to translate — their Instagram user id in its
# own space, ``pk:<digits>`` (never equal to a scoped id; channels/instagram/reconcile.py).
_INSTAGRAM_RE: Final = re.compile(r"^(?:pk:)?\d{1,20}$")
_USERNAME_RE: Final = re.compile(r"^[a-z0-9._]{1,30}$")
_SESSION_RE: Final = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def normalize_identifier(kind: IdentityKind, raw: str) -> str | None:
    if kind is IdentityKind.EMAIL:
        return normalize_email(raw)
    if kind is IdentityKind.PHONE:
        return normalize_phone(raw)
    if kind is IdentityKind.NIK:
        return normalize_nik(raw)
    if kind is IdentityKind.INSTAGRAM_USERNAME:
        name = raw.strip().lstrip("@").lower()
        return name if _USERNAME_RE.match(name) else None
    value = raw.strip()
    if kind is IdentityKind.WEBCHAT:
        return value if _SESSION_RE.match(value) else None
    if kind is IdentityKind.INSTAGRAM:
        return value if _INSTAGRAM_RE.match(value) else None
    return value if _ID_RE.match(value) else None


def sender_identifiers(sender: Sender) -> list[Identifier]:
    fields = ((IdentityKind.EMAIL, sender.email), (IdentityKind.PHONE, sender.phone),
              (IdentityKind.TELEGRAM, sender.telegram_id), (IdentityKind.INSTAGRAM, sender.instagram_id),
              (IdentityKind.INSTAGRAM_USERNAME, sender.instagram_username),
              (IdentityKind.WEBCHAT, sender.webchat_id))
    out: list[Identifier] = []
    typed = {ADDRESS_KINDS[f] for f in sender.unverified if f in ADDRESS_KINDS}
    for kind, raw in fields:
        value = normalize_identifier(kind, raw) if raw else None
        if value is not None:
            out.append(Identifier(kind=kind, value=value,
                                  source="text" if kind in typed else "sender"))
    return out


# A sender (or outbox recipient) field → the identity kind its value is.
ADDRESS_KINDS: Final = {"email": IdentityKind.EMAIL, "phone": IdentityKind.PHONE,
                        "telegram_id": IdentityKind.TELEGRAM,
                        "instagram_id": IdentityKind.INSTAGRAM,
                        "instagram_username": IdentityKind.INSTAGRAM_USERNAME,
                        "webchat_id": IdentityKind.WEBCHAT}


def address_identity(key: str, raw: object) -> tuple[IdentityKind, str] | None:
    """The identity a channel address is (``("telegram_id", 123)`` → telegram ``"123"``), or
    None for a field that names no identity or a value that is not one."""
    kind = ADDRESS_KINDS.get(key)
    if kind is None or raw is None or raw == "":
        return None
    value = normalize_identifier(kind, str(raw))
    return (kind, value) if value is not None else None


def mask(kind: IdentityKind, value: str) -> str:
    """A display form that identifies nothing on its own (UU PDP): keep only the edges."""
    if kind is IdentityKind.EMAIL and "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    if kind is IdentityKind.NIK:
        return value[:4] + "*" * max(0, len(value) - 8) + value[-4:] if len(value) > 8 else "*" * len(value)
    if kind is IdentityKind.PHONE:
        keep = 6 if value.startswith("+") else 4
        if len(value) <= keep + 4:
            return value[:2] + "*" * max(0, len(value) - 2)
        return value[:keep] + "*" * (len(value) - keep - 4) + value[-4:]
    if kind is IdentityKind.INSTAGRAM_USERNAME:
        return value[:2] + "***"
    return value[:2] + "*" * max(0, len(value) - 4) + value[-2:] if len(value) > 4 else "****"
