"""Indonesia's closed days: national holidays and cuti bersama, from the ``holidays`` library,
and the ``[holidays]`` section of ``config/sla.toml`` that chooses the years and categories.
Calendars (``ticketing.domain.calendar``) close on these dates unless an override opens one.

Pure: ``holidays`` computes the dates from rules in code (no files, network or clock).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Final

from holidays.countries.indonesia import Indonesia

# holidays 0.109 supports exactly these two categories for ID: PUBLIC (national holidays, incl.
# estimated future Islamic dates named "... (perkiraan)") and GOVERNMENT (cuti bersama, the joint
# leave days decreed by the SKB of three ministers, listed for the years that have a decree).
HOLIDAY_CATEGORIES: Final = ("PUBLIC", "GOVERNMENT")


def _fail(where: str, message: str) -> ValueError:
    return ValueError(f"invalid SLA config: {where}: {message}")


def indonesian_holidays(years: Iterable[int],
                        categories: Sequence[str] = HOLIDAY_CATEGORIES) -> dict[date, str]:
    """Indonesia's closed dates from ``holidays``: date -> Indonesian name.

    PUBLIC gives the national holidays, GOVERNMENT the cuti bersama of decreed years.  As given
    by holidays 0.109: 2025 Nyepi Sat 29 Mar, Idul Fitri Mon 31 Mar + Tue 1 Apr, cuti bersama
    Fri 28 Mar, Wed 2 - Fri 4 Apr and Mon 7 Apr; 2026 cuti Nyepi Wed 18 Mar, Nyepi Thu 19,
    cuti Fri 20, Idul Fitri Sat 21 + Sun 22, cuti Mon 23 + Tue 24 (closed 18-24 Mar), other
    2026 cuti bersama 16 Feb, 15 May, 28 May, 24 Dec.  Later years' Islamic dates are estimates
    ("... (perkiraan)"); the override list corrects late decrees.  Two names on one date are
    joined with "; " by the library.
    """
    supported = {c.upper(): c for c in Indonesia.supported_categories}
    chosen = []
    for cat in categories:
        if not isinstance(cat, str) or cat.upper() not in supported:
            raise ValueError(f"unknown holiday category {cat!r}; holidays.ID supports "
                             f"{sorted(supported)}")
        chosen.append(supported[cat.upper()])
    calendar = Indonesia(years=sorted(set(years)), categories=tuple(chosen), language="id")
    return {day: str(name) for day, name in sorted(calendar.items())}


def holiday_dates(section: Any) -> dict[date, str]:
    where = "holidays"
    if section is None:
        return {}
    if not isinstance(section, Mapping):
        raise _fail(where, "must be a table")
    unknown = set(section) - {"country", "categories", "first_year", "last_year"}
    if unknown:
        raise _fail(where, f"unknown key(s) {sorted(unknown)}")
    if section.get("country", "ID") != "ID":
        raise _fail(where, "only country = \"ID\" is supported")
    first, last = section.get("first_year"), section.get("last_year")
    if not all(isinstance(y, int) and not isinstance(y, bool) and 1950 <= y <= 2100
               for y in (first, last)):
        raise _fail(where, "first_year and last_year must be years between 1950 and 2100")
    assert isinstance(first, int) and isinstance(last, int)
    if last < first:
        raise _fail(where, "last_year is before first_year")
    categories = section.get("categories", list(HOLIDAY_CATEGORIES))
    if isinstance(categories, str) or not isinstance(categories, Sequence):
        raise _fail(where, "categories must be a list such as [\"PUBLIC\", \"GOVERNMENT\"]")
    try:
        return indonesian_holidays(range(first, last + 1), categories)
    except ValueError as exc:
        raise _fail(where, str(exc)) from exc
