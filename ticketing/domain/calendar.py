"""Business calendars: when the complaint desk is open, and business-time arithmetic over them.

Owns ``BusinessCalendar`` (an IANA time zone, opening windows per weekday, closed dates, and an
override list of extra closed or extra open days), its validation from a parsed TOML mapping, and
the two pure functions the SLA clock is built on:
``add_business_minutes`` (a due time) and ``business_minutes_between`` (consumed business time).

Rules:
* all datetimes are timezone-aware (a naive one is a ``ValueError``); results are in UTC;
* the walk is done in the calendar's local wall-clock time, windows counted by their nominal
  length (Indonesia has no DST; in a DST zone a window spanning the switch counts its nominal
  length);
* precedence for a date: an override, then a holiday, then the weekday's windows;
* long spans skip whole days (one lookup each) and whole holiday-free weeks (one step per run of
  weeks), never minutes.

Pure: no clock, env, files or database.  Holidays come from ``ticketing.domain.closed_days``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ticketing.domain.closed_days import holiday_dates

WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_US_PER_MINUTE: Final = 60_000_000
_DAY_US: Final = 1440 * _US_PER_MINUTE
_WINDOW_RE: Final = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-\u2013]\s*(\d{1,2}):(\d{2})\s*$")

_Span = tuple[int, int]  # [start, end) in microseconds after local midnight


def _fail(where: str, message: str) -> ValueError:
    return ValueError(f"invalid SLA config: {where}: {message}")


@dataclass(frozen=True, slots=True, kw_only=True)
class OpeningWindow:
    start: int  # minutes after local midnight
    end: int  # minutes after local midnight; 1440 means 24:00

    def __post_init__(self) -> None:
        if not 0 <= self.start < 1440 or not 0 < self.end <= 1440:
            raise ValueError(f"opening window {self} is outside 00:00-24:00")
        if self.end <= self.start:
            raise ValueError(f"opening window {self} ends at or before it starts")

    @classmethod
    def parse(cls, text: str) -> OpeningWindow:
        """``"08:00-12:00"`` (an en dash works too; ``24:00`` is the end of the day)."""
        m = _WINDOW_RE.match(text) if isinstance(text, str) else None
        if m is None:
            raise ValueError(f"opening window {text!r} is not HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if m1 > 59 or m2 > 59 or h1 > 23 or h2 > 24 or (h2 == 24 and m2):
            raise ValueError(f"opening window {text!r} has an impossible time")
        return cls(start=h1 * 60 + m1, end=h2 * 60 + m2)

    def __str__(self) -> str:
        return f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarOverride:
    """One date handled by hand: closed all day (no windows) or open with its own windows."""

    day: date
    windows: tuple[OpeningWindow, ...] = ()
    reason: str = ""

    @property
    def closed(self) -> bool:
        return not self.windows


def _day_windows(windows: Iterable[OpeningWindow], where: str) -> tuple[OpeningWindow, ...]:
    ordered = tuple(sorted(windows, key=lambda w: w.start))
    for prev, nxt in zip(ordered, ordered[1:]):
        if nxt.start < prev.end:
            raise ValueError(f"{where}: opening windows {prev} and {nxt} overlap")
    return ordered


def _spans(windows: tuple[OpeningWindow, ...]) -> tuple[_Span, ...]:
    return tuple((w.start * _US_PER_MINUTE, w.end * _US_PER_MINUTE) for w in windows)


def _overlap(spans: tuple[_Span, ...], lo: int, hi: int) -> int:
    total = 0
    for s, e in spans:
        a, b = (s if s > lo else lo), (e if e < hi else hi)
        if b > a:
            total += b - a
    return total


@dataclass(frozen=True, slots=True, kw_only=True)
class BusinessCalendar:
    name: str
    time_zone: str  # IANA: Asia/Jakarta (WIB), Asia/Makassar (WITA), Asia/Jayapura (WIT)
    week: tuple[tuple[OpeningWindow, ...], ...]  # seven entries, Monday first
    holidays: Mapping[date, str] = field(default_factory=dict, hash=False)  # closed dates
    overrides: tuple[CalendarOverride, ...] = ()
    version: int = 1
    _zone: ZoneInfo = field(init=False, repr=False, compare=False, hash=False)
    _week_spans: tuple[tuple[_Span, ...], ...] = field(init=False, repr=False, compare=False)
    _week_totals: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _week_total: int = field(init=False, repr=False, compare=False)
    _special: Mapping[int, tuple[_Span, ...]] = field(init=False, repr=False, compare=False,
                                                      hash=False)
    _special_days: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = f"calendar {self.name!r}"
        if not self.name:
            raise ValueError("a calendar needs a name")
        try:
            zone = ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{where}: unknown time zone {self.time_zone!r}") from exc
        if len(self.week) != 7:
            raise ValueError(f"{where}: week needs seven days (Monday first), got {len(self.week)}")
        week = tuple(_day_windows(day, f"{where} {WEEKDAYS[i]}") for i, day in enumerate(self.week))
        spans = tuple(_spans(day) for day in week)
        totals = tuple(_overlap(day, 0, _DAY_US) for day in spans)
        if not sum(totals):
            raise ValueError(f"{where}: the calendar never opens (no weekly opening windows)")
        special: dict[int, tuple[_Span, ...]] = {d.toordinal(): () for d in self.holidays}
        seen: set[date] = set()
        overrides = []
        for ov in self.overrides:
            if ov.day in seen:
                raise ValueError(f"{where}: override date {ov.day} is listed twice")
            seen.add(ov.day)
            wins = _day_windows(ov.windows, f"{where} override {ov.day}")
            overrides.append(CalendarOverride(day=ov.day, windows=wins, reason=ov.reason))
            special[ov.day.toordinal()] = _spans(wins)
        setattr_ = object.__setattr__
        setattr_(self, "week", week)
        setattr_(self, "overrides", tuple(overrides))
        setattr_(self, "holidays", MappingProxyType(dict(self.holidays)))
        setattr_(self, "_zone", zone)
        setattr_(self, "_week_spans", spans)
        setattr_(self, "_week_totals", totals)
        setattr_(self, "_week_total", sum(totals))
        setattr_(self, "_special", MappingProxyType(special))
        setattr_(self, "_special_days", tuple(sorted(special)))

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    @classmethod
    def from_config(cls, name: str, table: Mapping[str, Any], *,
                    holidays: Mapping[date, str] | None = None,
                    overrides: Sequence[CalendarOverride] = ()) -> BusinessCalendar:
        """One ``[calendars.<name>]`` table: ``time_zone``, ``version``, ``hours.<mon..sun>``.

        The holiday dates and the overrides are given (``calendars_from_config`` resolves them).
        """
        where = f"calendars.{name}"
        if not isinstance(table, Mapping):
            raise _fail(where, "must be a table")
        unknown = set(table) - {"time_zone", "version", "hours", "holidays", "description"}
        if unknown:
            raise _fail(where, f"unknown key(s) {sorted(unknown)}")
        zone_name = table.get("time_zone")
        if not isinstance(zone_name, str):
            raise _fail(where, "time_zone must be an IANA name such as 'Asia/Jakarta'")
        version = table.get("version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise _fail(where, "version must be a positive integer")
        hours = table.get("hours")
        if not isinstance(hours, Mapping):
            raise _fail(where, "needs an [hours] table (mon = [\"08:00-12:00\", ...])")
        bad_days = set(hours) - set(WEEKDAYS)
        if bad_days:
            raise _fail(f"{where}.hours", f"unknown day(s) {sorted(bad_days)}; use {WEEKDAYS}")
        week = tuple(_parse_windows(hours.get(day, []), f"{where}.hours.{day}") for day in WEEKDAYS)
        try:
            return cls(name=name, time_zone=zone_name, week=week, holidays=holidays or {},
                       overrides=tuple(overrides), version=version)
        except ValueError as exc:
            raise _fail(where, str(exc)) from exc

    def windows_on(self, day: date) -> tuple[OpeningWindow, ...]:
        """The opening windows of a local date, after holidays and overrides."""
        for ov in self.overrides:
            if ov.day == day:
                return ov.windows
        if day in self.holidays:
            return ()
        return self.week[day.weekday()]

    # -- internals: local positions are (proleptic ordinal, microseconds after midnight) --------

    def _spans_on(self, ordinal: int) -> tuple[_Span, ...]:
        spans = self._special.get(ordinal)
        return self._week_spans[(ordinal - 1) % 7] if spans is None else spans

    def _total_on(self, ordinal: int) -> int:
        spans = self._special.get(ordinal)
        if spans is None:
            return self._week_totals[(ordinal - 1) % 7]
        return _overlap(spans, 0, _DAY_US)

    def _free_weeks(self, ordinal: int) -> int:
        """Whole weeks from ``ordinal`` without any holiday or override (a large number if none)."""
        i = bisect.bisect_left(self._special_days, ordinal)
        if i == len(self._special_days):
            return 1 << 40
        return (self._special_days[i] - ordinal) // 7

    def _local(self, at: datetime) -> tuple[int, int]:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"naive datetime {at.isoformat()}: business time needs an aware one")
        loc = at.astimezone(self._zone)
        return loc.toordinal(), (((loc.hour * 60 + loc.minute) * 60 + loc.second) * 1_000_000
                                 + loc.microsecond)

    def _utc(self, ordinal: int, us: int) -> datetime:
        naive = datetime.fromordinal(ordinal) + timedelta(microseconds=us)
        return naive.replace(tzinfo=self._zone).astimezone(UTC)

    def _add(self, ordinal: int, us: int, remaining: int) -> tuple[int, int]:
        if remaining == 0:
            return ordinal, us
        while True:
            for s, e in self._spans_on(ordinal):
                if e <= us:
                    continue
                begin = s if s > us else us
                if remaining <= e - begin:
                    return ordinal, begin + remaining
                remaining -= e - begin
            ordinal, us = ordinal + 1, 0
            while True:  # whole days that cannot hold the remainder are skipped in one step each
                weeks = min((remaining - 1) // self._week_total, self._free_weeks(ordinal))
                if weeks > 0:
                    remaining -= weeks * self._week_total
                    ordinal += 7 * weeks
                    continue
                total = self._total_on(ordinal)
                if total >= remaining:
                    break
                remaining -= total
                ordinal += 1

    def _between(self, o0: int, u0: int, o1: int, u1: int) -> int:
        if (o1, u1) <= (o0, u0):
            return 0
        if o0 == o1:
            return _overlap(self._spans_on(o0), u0, u1)
        total = _overlap(self._spans_on(o0), u0, _DAY_US)
        day = o0 + 1
        while day < o1:
            weeks = min((o1 - day) // 7, self._free_weeks(day))
            if weeks > 0:
                total += weeks * self._week_total
                day += 7 * weeks
            else:
                total += self._total_on(day)
                day += 1
        return total + _overlap(self._spans_on(o1), 0, u1)


def _parse_windows(value: Any, where: str) -> tuple[OpeningWindow, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise _fail(where, "must be a list of \"HH:MM-HH:MM\" strings")
    try:
        return _day_windows((OpeningWindow.parse(v) for v in value), where)
    except ValueError as exc:
        raise _fail(where, str(exc)) from exc


# -- the public arithmetic ------------------------------------------------------------------------

def add_business_time(calendar: BusinessCalendar, start: datetime, amount: timedelta) -> datetime:
    """The earliest instant (UTC) by which ``amount`` of business time has elapsed since ``start``.

    A start outside opening hours begins counting at the next opening; a zero amount is ``start``
    itself.  An amount used up exactly at a window's end gives that end (Friday 17:00), not the
    next opening.
    """
    if amount < timedelta(0):
        raise ValueError("business time to add must not be negative")
    ordinal, us = calendar._local(start)
    if not amount:
        return start.astimezone(UTC)
    return calendar._utc(*calendar._add(ordinal, us, amount // timedelta(microseconds=1)))


def add_business_minutes(calendar: BusinessCalendar, start: datetime, minutes: int) -> datetime:
    """The due time (UTC) ``minutes`` business minutes after ``start``."""
    return add_business_time(calendar, start, timedelta(minutes=minutes))


def business_time_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Opening time inside ``[start, end)``; zero when ``end`` is not after ``start``."""
    return timedelta(microseconds=calendar._between(*calendar._local(start),
                                                    *calendar._local(end)))


def business_minutes_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> int:
    """Whole business minutes consumed between ``start`` and ``end`` (rounded down)."""
    return business_time_between(calendar, start, end) // timedelta(minutes=1)


def is_open(calendar: BusinessCalendar, at: datetime) -> bool:
    ordinal, us = calendar._local(at)
    return any(s <= us < e for s, e in calendar._spans_on(ordinal))


# -- holidays and the [holidays] / [calendars.*] / [[overrides]] sections of config/sla.toml ----

def _override(entry: Any, i: int) -> tuple[CalendarOverride, tuple[str, ...] | None]:
    where = f"overrides[{i}]"
    if not isinstance(entry, Mapping):
        raise _fail(where, "must be a table")
    unknown = set(entry) - {"date", "closed", "hours", "reason", "calendars"}
    if unknown:
        raise _fail(where, f"unknown key(s) {sorted(unknown)}")
    raw = entry.get("date")
    if isinstance(raw, str):
        try:
            raw = date.fromisoformat(raw)
        except ValueError as exc:
            raise _fail(where, f"date {entry.get('date')!r} is not YYYY-MM-DD") from exc
    if not isinstance(raw, date) or isinstance(raw, datetime):
        raise _fail(where, "date must be a local date such as 2026-03-28")
    closed, hours = entry.get("closed", False), entry.get("hours")
    if (closed is True) == (hours is not None) or closed not in (True, False):
        raise _fail(where, "give either closed = true or hours = [...]")
    windows = () if closed else _parse_windows(hours, f"{where}.hours")
    if not closed and not windows:
        raise _fail(where, "hours is empty; write closed = true for a closed day")
    reason = entry.get("reason", "")
    if not isinstance(reason, str):
        raise _fail(where, "reason must be a string")
    names = entry.get("calendars")
    if names is not None and (isinstance(names, str) or not isinstance(names, Sequence)
                              or not all(isinstance(n, str) for n in names)):
        raise _fail(where, "calendars must be a list of calendar names")
    return (CalendarOverride(day=raw, windows=windows, reason=reason),
            None if names is None else tuple(names))


def calendars_from_config(doc: Mapping[str, Any]) -> dict[str, BusinessCalendar]:
    """All calendars of a parsed config/sla.toml, holidays and overrides applied."""
    tables = doc.get("calendars")
    if not isinstance(tables, Mapping) or not tables:
        raise _fail("calendars", "at least one [calendars.<name>] table is needed")
    closed = holiday_dates(doc.get("holidays"))
    entries = doc.get("overrides", [])
    if not isinstance(entries, Sequence) or isinstance(entries, str):
        raise _fail("overrides", "must be an array of tables ([[overrides]])")
    parsed = [_override(entry, i) for i, entry in enumerate(entries)]
    for i, (_, names) in enumerate(parsed):
        for n in names or ():
            if n not in tables:
                raise _fail(f"overrides[{i}]", f"unknown calendar {n!r}")
    out: dict[str, BusinessCalendar] = {}
    for name, table in tables.items():
        use_holidays = table.get("holidays", True) if isinstance(table, Mapping) else True
        if not isinstance(use_holidays, bool):
            raise _fail(f"calendars.{name}", "holidays must be true or false")
        mine = [ov for ov, names in parsed if names is None or name in names]
        out[name] = BusinessCalendar.from_config(name, table,
                                                 holidays=closed if use_holidays else {},
                                                 overrides=mine)
    return out
