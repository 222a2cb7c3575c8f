"""Masking of personal data (UU PDP 27/2022) in free text shown to roles that need not see it,
and in logs: NIK-like 16-digit runs, phone numbers (Indonesian mobile and landline shapes or a
leading "+", so dates, times and amounts stay readable) and e-mail addresses."""

from __future__ import annotations

import re

# 16 digits, possibly grouped by spaces, dots or dashes ("3224 2819 0887 6385", "12.15.40...").
_NIK = re.compile(r"(?<!\d)(\d(?:[ .\-]?\d){15})(?!\d)")
# Phone-like: optional +, 9 to 15 digits with separators and brackets.
_PHONE = re.compile(r"(?<![\w+])(\+?\(?\d[\d\s().\-]{7,18}\d)(?!\w)")
_EMAIL = re.compile(r"\b([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9.\-]+\.[A-Za-z]{2,})\b")


def _mask_digits(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    if len(digits) < 8:
        return text
    keep = set(digits[:2] + digits[-3:])
    return "".join(ch if (i in keep or not ch.isdigit()) else "*" for i, ch in enumerate(text))


# What a phone number's digits look like here: Indonesian mobiles (08…, 628…, +628…),
# landlines with their area code (021…, +6221…), or any number written with a leading "+".
# Dates, times, amounts and reference numbers do not start so, and are left alone.
_PHONE_DIGITS = re.compile(r"(?:0|62)(?:8\d{7,12}|[2-7]\d{7,10})")


def _mask_phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.lstrip("(").startswith("+") and 8 <= len(digits) <= 15:
        return _mask_digits(match)
    return _mask_digits(match) if _PHONE_DIGITS.fullmatch(digits) else text


def redact(text: str) -> str:
    text = _NIK.sub(_mask_digits, text)
    text = _PHONE.sub(_mask_phone, text)
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
