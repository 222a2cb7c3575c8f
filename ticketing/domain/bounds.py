"""What a value from outside may be before it reaches a query: ids and cursors, calendar dates
and instants, filter values, and how deep a JSON document may nest.  Every door (the API, the
pages, the CLI) checks with these, so a 20-digit id, a report in year 1 or a JSON document
nested 100,000 deep is refused (404/422) instead of overflowing a database integer, a
``datetime`` or the parser's stack.  Pure: no clock, no database."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection

from ticketing.domain.errors import InvalidInput

# Primary keys are 64-bit (PostgreSQL BIGINT/SERIAL, SQLite INTEGER): anything larger cannot
# name a row, and the drivers raise on it instead of answering "no such row".
ID_MAX = 2**63 - 1
# The dates a desk can have data for; far enough either way, yet far from ``date.min`` and
# ``date.max``, where a time-zone shift or "the day after" overflows.
DATE_MIN = dt.date(2000, 1, 1)
DATE_MAX = dt.date(2099, 12, 31)
# JSON nesting: the normalized message is four levels deep; 64 leaves room for channel data.
MAX_JSON_DEPTH = 64
MAX_ATTACHMENT_INDEX = 10_000

_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# Objects and arrays nest alike: "{" counts as "[", and every other byte is dropped.
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def parse_int(raw: str | None, low: int, high: int) -> int | None:
    """ASCII digits (no sign, no spaces) for a number in ``low..high``, else None."""
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > len(str(high)):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def parse_id(raw: str | None) -> int | None:
    """A row id written as text (a path segment, a form field): a possible row
    (1..``ID_MAX``), else None (the caller answers 404 or 422)."""
    return parse_int(raw, 1, ID_MAX)


def check_id(value: int, name: str) -> int:
    if not 1 <= value <= ID_MAX:
        raise InvalidInput(f"{name} must be between 1 and {ID_MAX}")
    return value


def check_date(value: dt.date, name: str) -> dt.date:
    if not DATE_MIN <= value <= DATE_MAX:
        raise InvalidInput(f"{name}: {value.isoformat()} is outside "
                           f"{DATE_MIN.isoformat()}..{DATE_MAX.isoformat()}")
    return value


def check_instant(value: dt.datetime, name: str) -> dt.datetime:
    """An aware instant within the date bounds (checked before any time-zone arithmetic)."""
    check_date(value.date(), name)
    return value


def check_choices(value: str | None, allowed: Collection[str], name: str) -> list[str] | None:
    """A comma-separated filter (``status=new,open``): every part must be known."""
    if value is None or value == "":
        return None
    parts = [p.strip() for p in value.split(",")]
    unknown = [p for p in parts if p not in allowed]
    if unknown:
        raise InvalidInput(f"{name}: unknown value {unknown[0][:40]!r} "
                           f"(one of {', '.join(sorted(allowed))})")
    return parts


def json_too_deep(data: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a JSON text nests arrays and objects deeper than ``limit``, found without
    parsing it (the stdlib parser recurses, and overflows the stack on deep input).

    Strings are cut out and every byte but brackets dropped; then each pass removes the
    innermost pairs (one level, in C).  A pair still there after ``limit`` passes is deeper.
    Only unbalanced (malformed) text is counted bracket by bracket."""
    brackets = _STRINGS.sub(b"", data).translate(_AS_SQUARE, _NOT_BRACKETS)
    rest = brackets
    for _ in range(limit):
        if not rest:
            return False
        shorter = rest.replace(b"[]", b"")
        if len(shorter) == len(rest):
            break  # no pair left, brackets left: unbalanced
        rest = shorter
    else:
        if not rest:
            return False
        if b"[]" in rest:
            return True
    return _opens_deeper(brackets, limit)


def _opens_deeper(brackets: bytes, limit: int) -> bool:
    """Unbalanced text: how deep a parser gets before it meets the first stray ``]``."""
    depth = 0
    for byte in brackets:
        depth += 1 if byte == 0x5B else -1
        if depth > limit:
            return True
        if depth < 0:
            return False  # the parser stops here
    return False
