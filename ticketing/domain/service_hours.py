"""How a desk's service hours and a response target are told to a citizen, in their language.

Owns the wording of a ``BusinessCalendar``'s weekly schedule (days with the same windows grouped,
``Senin-Jumat 08.00-12.00 dan 13.00-17.00 WIB``), the Indonesian name of its time zone (WIB,
WITA, WIT; another zone is named by its IANA name) and of a target in business time
(``4 jam kerja``, ``30 business minutes``).  Indonesian is the default; English is the other
language the desk answers in (``domain.language``).

Pure: reads only the calendar it is given (no clock, files or database).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from ticketing.domain.calendar import BusinessCalendar, OpeningWindow
from ticketing.domain.language import ENGLISH, INDONESIAN

# Indonesia's three zones (no DST); Asia/Pontianak is also WIB.
ZONE_NAMES: Final = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA",
                     "Asia/Jayapura": "WIT"}

_DAYS: Final = {
    INDONESIAN: ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
    ENGLISH: ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_WORDS: Final = {
    INDONESIAN: {"and": "dan", "holidays": "di luar hari libur nasional dan cuti bersama"},
    ENGLISH: {"and": "and", "holidays": "except national public holidays and joint leave days"},
}


_MONTHS: Final = {
    INDONESIAN: ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
                 "September", "Oktober", "November", "Desember"),
    ENGLISH: ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"),
}


def _lang(language: str | None) -> str:
    return language if language in _DAYS else INDONESIAN


def zone_name(time_zone: str) -> str:
    """``Asia/Jakarta`` → ``WIB``; a zone outside Indonesia keeps its IANA name."""
    return ZONE_NAMES.get(time_zone, time_zone)


def _clock(minutes: int, language: str) -> str:
    # Indonesian writes times with a dot (08.00), English with a colon.
    sep = "." if language == INDONESIAN else ":"
    return f"{minutes // 60:02d}{sep}{minutes % 60:02d}"


def _windows(windows: tuple[OpeningWindow, ...], language: str) -> str:
    spans = [f"{_clock(w.start, language)}-{_clock(w.end, language)}" for w in windows]
    if len(spans) == 1:
        return spans[0]
    return f"{', '.join(spans[:-1])} {_WORDS[language]['and']} {spans[-1]}"


def moment(when: dt.datetime, calendar: BusinessCalendar, language: str | None = None) -> str:
    """A time as a citizen reads it, in the desk's zone: ``Senin, 7 Desember 2026 08.00 WIB``
    / ``Monday, 7 December 2026 08:00 WIB``."""
    lang = _lang(language)
    local = when.astimezone(calendar.zone)
    return (f"{_DAYS[lang][local.weekday()]}, {local.day} {_MONTHS[lang][local.month - 1]} "
            f"{local.year} {_clock(local.hour * 60 + local.minute, lang)} "
            f"{zone_name(calendar.time_zone)}")


def weekly_hours(calendar: BusinessCalendar, language: str | None = None) -> str:
    """The calendar's weekly schedule in words, consecutive days with equal windows grouped:
    ``Senin-Jumat 08.00-12.00 dan 13.00-17.00 WIB, di luar hari libur nasional dan cuti
    bersama``.  Holidays are mentioned only when the calendar closes on them."""
    lang = _lang(language)
    names = _DAYS[lang]
    groups: list[tuple[int, int, tuple[OpeningWindow, ...]]] = []
    for day, windows in enumerate(calendar.week):
        if not windows:
            continue
        if groups and groups[-1][1] == day - 1 and groups[-1][2] == windows:
            groups[-1] = (groups[-1][0], day, windows)
        else:
            groups.append((day, day, windows))
    zone = zone_name(calendar.time_zone)
    parts = []
    for first, last, windows in groups:
        days = names[first] if first == last else f"{names[first]}-{names[last]}"
        parts.append(f"{days} {_windows(windows, lang)} {zone}")
    text = "; ".join(parts)
    return f"{text}, {_WORDS[lang]['holidays']}" if calendar.holidays else text


def business_duration(minutes: int, language: str | None = None) -> str:
    """A target in business time: ``4 jam kerja``, ``1 jam 30 menit kerja``,
    ``4 business hours``, ``30 business minutes``."""
    lang = _lang(language)
    hours, rest = divmod(max(0, minutes), 60)
    if lang == INDONESIAN:
        parts = ([f"{hours} jam"] if hours else []) + ([f"{rest} menit"] if rest or not hours
                                                        else [])
        return " ".join(parts) + " kerja"

    def unit(n: int, word: str) -> str:
        return f"{n} {word}" if n == 1 else f"{n} {word}s"

    if hours and rest:
        return f"{unit(hours, 'business hour')} and {unit(rest, 'minute')}"
    return unit(hours, "business hour") if hours else unit(rest, "business minute")
