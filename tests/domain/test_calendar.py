"""Business calendars and business-time arithmetic, on the shipped config/sla.toml.

Calendar facts used below (2026): 1 Mar is a Sunday; WIB is UTC+7, WITA UTC+8, WIT UTC+9.
The ``wib`` calendar is Mon-Fri 08-12, 13-17 (480 min/day), closed on holidays; the tests add two
overrides of their own (the shipped file has them only as commented-out examples): 2026-04-06
closed and Saturday 2026-03-28 open 08-12 (wib only).  ``wita`` has Friday 08-11:30, 13:30-17:00;
``wit`` also opens Saturday 08-12.  Holidays as given by holidays 0.109 (verified in
``test_indonesian_holidays_2026``): Lebaran 2026 closes Wed 18 Mar (cuti Nyepi), Thu 19 (Nyepi),
Fri 20 (cuti), Sat 21 + Sun 22 (Idul Fitri), Mon 23 + Tue 24 (cuti) - seven days in a row.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketing.domain.calendar import (
    BusinessCalendar,
    CalendarOverride,
    OpeningWindow,
    add_business_minutes,
    business_minutes_between,
    calendars_from_config,
    is_open,
)
from ticketing.domain.closed_days import indonesian_holidays

CONFIG = Path(__file__).resolve().parents[2] / "config" / "sla.toml"


def _load() -> dict[str, Any]:
    with CONFIG.open("rb") as fh:
        return tomllib.load(fh)


# The overrides the arithmetic tests below rely on (EXAMPLE_OVERRIDES: the shipped file has them
# commented out, see test_shipped_config_has_no_example_overrides).
EXAMPLE_OVERRIDES = [
    {"date": date(2026, 4, 6), "closed": True, "reason": "test: extra closed day"},
    {"date": date(2026, 3, 28), "hours": ["08:00-12:00"], "reason": "test: open Saturday",
     "calendars": ["wib"]},
]
SHIPPED = _load()
DOC = {**SHIPPED, "overrides": EXAMPLE_OVERRIDES}
CALENDARS = calendars_from_config(DOC)
WIB = CALENDARS["wib"]


def local(cal: BusinessCalendar, text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(cal.time_zone))


# (calendar, start local, minutes, expected due local) -- each hand-checked.
ADD_CASES = [
    # Friday 16:30: 30 min on Friday, weekend closed, 210 min on Monday from 08:00 -> 11:30.
    ("wib", "2026-03-13 16:30", 240, "2026-03-16 11:30"),
    # Lunch break: 30 min before 12:00, the other 30 after 13:00.
    ("wib", "2026-03-10 11:30", 60, "2026-03-10 13:30"),
    # Used up exactly at a window's end: due is 12:00, not 13:00.
    ("wib", "2026-03-10 11:30", 30, "2026-03-10 12:00"),
    # Start inside the lunch break counts from 13:00.
    ("wib", "2026-03-10 12:15", 60, "2026-03-10 14:00"),
    # Saturday start counts from Monday 08:00: 240 min -> 12:00.
    ("wib", "2026-03-07 10:00", 240, "2026-03-09 12:00"),
    # Sunday 23:59 likewise from Monday 08:00.
    ("wib", "2026-03-08 23:59", 240, "2026-03-09 12:00"),
    # A message at 23:59 on a Tuesday: next opening Wednesday 08:00, +60 -> 09:00.
    ("wib", "2026-03-10 23:59", 60, "2026-03-11 09:00"),
    # Midnight start: counts from 08:00 the same day.
    ("wib", "2026-03-09 00:00", 1, "2026-03-09 08:01"),
    # 16:59 + 2: one minute today, one after the midnight crossing -> 08:01.
    ("wib", "2026-03-10 16:59", 2, "2026-03-11 08:01"),
    # Exactly at closing: nothing left today.
    ("wib", "2026-03-10 17:00", 1, "2026-03-11 08:01"),
    # A full business day from the opening ends at that day's closing.
    ("wib", "2026-03-10 08:00", 480, "2026-03-10 17:00"),
    # One minute more spills into the next morning.
    ("wib", "2026-03-10 08:00", 481, "2026-03-11 08:01"),
    # Seconds are kept: 09:15:30 + 4 h crosses lunch -> 14:15:30.
    ("wib", "2026-03-10 09:15:30", 240, "2026-03-10 14:15:30"),
    # Before Nyepi: 60 min on Tue 17 Mar, closed 18-24 Mar, 180 min on Wed 25 -> 11:00.
    ("wib", "2026-03-17 16:00", 240, "2026-03-25 11:00"),
    # A message on Nyepi itself (Thu 19 Mar) waits for Wed 25 Mar.
    ("wib", "2026-03-19 10:00", 60, "2026-03-25 09:00"),
    # Idul Fitri cuti bersama (Fri 20 Mar): 24 h = Wed 25, Thu 26, Fri 27 in full.
    ("wib", "2026-03-20 09:00", 1440, "2026-03-27 17:00"),
    # Resolution over the holiday week: 60 (Tue) + 480 + 480 + 420 (Fri 08-12, 13-16).
    ("wib", "2026-03-17 16:00", 1440, "2026-03-27 16:00"),
    # Override open Saturday 28 Mar (08-12, wib only): 60 min Friday, 60 on Saturday.
    ("wib", "2026-03-27 16:00", 120, "2026-03-28 09:00"),
    # Same local times on the WITA desk (no Saturday override there): Monday 09:00.
    ("wita", "2026-03-27 16:00", 120, "2026-03-30 09:00"),
    # Override closed Mon 6 Apr after Good Friday (3 Apr): Thursday 60, then Tue 7 Apr 09:00.
    ("wib", "2026-04-02 16:00", 120, "2026-04-07 09:00"),
    # Imlek: cuti Mon 16 Feb + Imlek Tue 17 Feb; Fri 13 Feb 16:00 + 120 -> Wed 18 Feb 09:00.
    ("wib", "2026-02-13 16:00", 120, "2026-02-18 09:00"),
    # New Year 2026 (Thu 1 Jan) closed: Wed 31 Dec 2025 60 min, then Fri 2 Jan 09:00.
    ("wib", "2025-12-31 16:00", 120, "2026-01-02 09:00"),
    # Christmas 2026: cuti Thu 24 Dec, Natal Fri 25 Dec -> Mon 28 Dec 09:00.
    ("wib", "2026-12-23 16:00", 120, "2026-12-28 09:00"),
    # Year crossing into 2027: Fri 1 Jan 2027 closed -> Mon 4 Jan 2027 09:00.
    ("wib", "2026-12-31 16:00", 120, "2027-01-04 09:00"),
    # Ascension Thu 14 May + cuti Fri 15 May -> Mon 18 May 09:00.
    ("wib", "2026-05-13 16:00", 120, "2026-05-18 09:00"),
    # Labour Day Fri 1 May -> Mon 4 May 09:00.
    ("wib", "2026-04-30 16:00", 120, "2026-05-04 09:00"),
    # Zero minutes is the start itself, even on a Saturday.
    ("wib", "2026-03-07 10:00", 0, "2026-03-07 10:00"),
    # WITA Friday has a longer break: 30 min to 11:30, 30 more from 13:30 -> 14:00.
    ("wita", "2026-03-13 11:00", 60, "2026-03-13 14:00"),
    # WIT opens on Saturdays: Friday 30 min, Saturday 08:00 + 210 -> 11:30.
    ("wit", "2026-03-13 16:30", 240, "2026-03-14 11:30"),
    # Five holiday-free weeks (Jul 2026) of 2400 min: the fifth Friday's closing.
    ("wib", "2026-07-06 08:00", 12000, "2026-08-07 17:00"),
    # ... and one minute more: Monday 10 Aug 08:01 (17 Aug is later).
    ("wib", "2026-07-06 08:00", 12001, "2026-08-10 08:01"),
]


@pytest.mark.parametrize(("name", "start", "minutes", "due"), ADD_CASES)
def test_add_business_minutes_table(name: str, start: str, minutes: int, due: str) -> None:
    cal = CALENDARS[name]
    got = add_business_minutes(cal, local(cal, start), minutes)
    assert got.tzinfo is UTC
    assert got == local(cal, due)


# The same instant, 09:30 UTC on Tue 10 Mar, is 16:30 WIB, 17:30 WITA (closed) and 18:30 WIT.
# +60: WIB 30 min today, 30 on Wednesday -> 08:30 WIB = 01:30 UTC; WITA and WIT start Wednesday
# 08:00 local -> 09:00 WITA = 01:00 UTC and 09:00 WIT = 00:00 UTC.
@pytest.mark.parametrize(("name", "due_utc"), [
    ("wib", "2026-03-11 01:30"),
    ("wita", "2026-03-11 01:00"),
    ("wit", "2026-03-11 00:00"),
])
def test_same_instant_different_zones(name: str, due_utc: str) -> None:
    start = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
    due = datetime.fromisoformat(due_utc).replace(tzinfo=UTC)
    assert add_business_minutes(CALENDARS[name], start, 60) == due


# (start local, end local, minutes) on the wib calendar, each hand-checked.
BETWEEN_CASES = [
    # Friday 16:30 -> Monday 11:30 is the 240 of the first table case.
    ("2026-03-13 16:30", "2026-03-16 11:30", 240),
    # The lunch hour does not count.
    ("2026-03-10 12:00", "2026-03-10 13:00", 0),
    # A weekend does not count.
    ("2026-03-07 00:00", "2026-03-09 00:00", 0),
    # Lebaran week: Tue 17 Mar 08:00 -> Wed 25 Mar 08:00 is Tuesday alone.
    ("2026-03-17 08:00", "2026-03-25 08:00", 480),
    # End before start: nothing consumed.
    ("2026-03-10 15:00", "2026-03-10 09:00", 0),
    # Five holiday-free weeks.
    ("2026-07-06 08:00", "2026-08-10 08:00", 12000),
    # 59 seconds are not a minute.
    ("2026-03-10 09:00:30", "2026-03-10 09:01:29", 0),
    # The whole of 2026: 261 weekdays - 21 weekday holidays - override 6 Apr = 239 days * 480,
    # plus the override Saturday (240).
    ("2026-01-01 00:00", "2027-01-01 00:00", 239 * 480 + 240),
]


@pytest.mark.parametrize(("start", "end", "minutes"), BETWEEN_CASES)
def test_business_minutes_between_table(start: str, end: str, minutes: int) -> None:
    assert business_minutes_between(WIB, local(WIB, start), local(WIB, end)) == minutes


def test_shipped_config_has_no_example_overrides() -> None:
    # A shipped example that is live closes (or opens) a real desk's day: examples stay comments.
    for entry in SHIPPED.get("overrides", []):
        reason = str(entry.get("reason", "")).lower()
        assert "contoh" not in reason and "example" not in reason, entry


@pytest.mark.parametrize("name", ["wib", "wita", "wit"])
def test_shipped_config_gives_a_normal_desk_on_the_example_dates(name: str) -> None:
    shipped = calendars_from_config(SHIPPED)[name]
    monday, saturday = date(2026, 4, 6), date(2026, 3, 28)
    assert shipped.windows_on(monday) == shipped.week[0]  # an ordinary Monday, open
    assert shipped.windows_on(monday)
    assert shipped.windows_on(saturday) == shipped.week[5]  # an ordinary Saturday
    start = datetime(2026, 4, 6, 9, 0, tzinfo=ZoneInfo(shipped.time_zone))
    assert add_business_minutes(shipped, start, 60) == start + timedelta(hours=1)


def test_indonesian_holidays_2026() -> None:
    # What holidays 0.109 gives for 2026 (cuti bersama per the 2026 SKB), hand-checked.
    days = indonesian_holidays([2026])
    gov = {d for d, n in days.items() if n.startswith("Cuti Bersama")}
    assert gov == {date(2026, 2, 16), date(2026, 3, 18), date(2026, 3, 20), date(2026, 3, 23),
                   date(2026, 3, 24), date(2026, 5, 15), date(2026, 5, 28), date(2026, 12, 24)}
    assert days[date(2026, 3, 19)] == "Hari Suci Nyepi"
    assert days[date(2026, 3, 21)] == "Hari Raya Idul Fitri"
    assert days[date(2026, 3, 22)] == "Hari kedua dari Hari Raya Idul Fitri"
    assert len(days) == 17 + 8
    assert all(d.year == 2026 for d in days)
    public_only = indonesian_holidays([2026], ["PUBLIC"])
    assert date(2026, 3, 20) not in public_only and date(2026, 3, 19) in public_only


def test_unknown_holiday_category_is_rejected() -> None:
    with pytest.raises(ValueError, match="holiday category"):
        indonesian_holidays([2026], ["BANK"])


def test_lebaran_week_is_closed_every_day() -> None:
    for day in range(18, 25):
        assert WIB.windows_on(date(2026, 3, day)) == ()
    assert WIB.windows_on(date(2026, 3, 17)) == WIB.week[1]
    assert WIB.windows_on(date(2026, 3, 28)) == (OpeningWindow.parse("08:00-12:00"),)


def test_is_open() -> None:
    assert is_open(WIB, local(WIB, "2026-03-10 08:00"))
    assert not is_open(WIB, local(WIB, "2026-03-10 12:00"))
    assert not is_open(WIB, local(WIB, "2026-03-19 10:00"))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        add_business_minutes(WIB, datetime(2026, 3, 10, 9), 60)
    with pytest.raises(ValueError, match="naive"):
        business_minutes_between(WIB, local(WIB, "2026-03-10 09:00"), datetime(2026, 3, 10, 10))
    with pytest.raises(ValueError, match="negative"):
        add_business_minutes(WIB, local(WIB, "2026-03-10 09:00"), -1)


def _doc(**changes: Any) -> dict[str, Any]:
    doc = _load()
    doc.pop("holidays")
    for key, value in changes.items():
        doc[key] = value
    return doc


def _with_calendar(**table: Any) -> dict[str, Any]:
    base = {"time_zone": "Asia/Jakarta", "hours": {"mon": ["08:00-12:00", "13:00-17:00"]}}
    base.update(table)
    return _doc(calendars={"x": base}, overrides=[])


@pytest.mark.parametrize(("doc", "message"), [
    (_with_calendar(hours={"mon": ["08:00-12:00", "11:00-17:00"]}), "overlap"),
    (_with_calendar(hours={"mon": ["12:00-08:00"]}), "ends at or before"),
    (_with_calendar(hours={"mon": ["08:00-08:00"]}), "ends at or before"),
    (_with_calendar(hours={"mon": ["8-12"]}), "HH:MM-HH:MM"),
    (_with_calendar(hours={"mon": ["08:00-25:00"]}), "impossible"),
    (_with_calendar(hours={"monday": ["08:00-12:00"]}), "unknown day"),
    (_with_calendar(hours={}), "never opens"),
    (_with_calendar(time_zone="Asia/Bandung"), "unknown time zone"),
    (_with_calendar(time_zone=7), "IANA"),
    (_doc(overrides=[{"date": "2026-02-30", "closed": True}]), "not YYYY-MM-DD"),
    (_doc(overrides=[{"date": 20260301, "closed": True}]), "local date"),
    (_doc(overrides=[{"date": date(2026, 3, 1)}]), "either closed"),
    (_doc(overrides=[{"date": date(2026, 3, 1), "closed": True, "calendars": ["nope"]}]),
     "unknown calendar"),
    (_doc(overrides=[{"date": date(2026, 3, 1), "closed": True},
                     {"date": date(2026, 3, 1), "hours": ["08:00-12:00"]}]), "listed twice"),
    (_doc(holidays={"first_year": 2026, "last_year": 2025}), "before first_year"),
    (_doc(holidays={"first_year": 2026, "last_year": 2026, "categories": ["BANK"]}),
     "holiday category"),
])
def test_bad_calendar_config_is_a_clear_value_error(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        calendars_from_config(doc)


def test_override_can_reopen_a_holiday() -> None:
    cal = BusinessCalendar(name="x", time_zone="Asia/Jakarta",
                           week=((OpeningWindow.parse("08:00-16:00"),),) * 5 + ((), ()),
                           holidays=indonesian_holidays([2026]),
                           overrides=(CalendarOverride(day=date(2026, 3, 19),
                                                       windows=(OpeningWindow(start=600,
                                                                              end=660),)),))
    # Nyepi opened 10:00-11:00 by decree: a 30-minute target from 09:00 ends at 10:30.
    assert add_business_minutes(cal, local(cal, "2026-03-19 09:00"), 30) == local(
        cal, "2026-03-19 10:30")


# -- properties --------------------------------------------------------------------------------

STARTS = st.datetimes(min_value=datetime(2025, 6, 1), max_value=datetime(2027, 6, 1),
                      timezones=st.just(UTC))
MINUTES = st.integers(min_value=0, max_value=30_000)
CALS = st.sampled_from(sorted(CALENDARS))


@given(CALS, STARTS, MINUTES)
def test_due_never_before_start(name: str, start: datetime, minutes: int) -> None:
    assert add_business_minutes(CALENDARS[name], start, minutes) >= start


@given(CALS, STARTS, MINUTES, MINUTES)
def test_due_is_monotone_in_the_target(name: str, start: datetime, a: int, b: int) -> None:
    cal = CALENDARS[name]
    lo, hi = sorted((a, b))
    assert add_business_minutes(cal, start, lo) <= add_business_minutes(cal, start, hi)


@given(CALS, STARTS, MINUTES)
def test_between_inverts_add(name: str, start: datetime, minutes: int) -> None:
    # Holds for any start (one outside opening hours begins at the next opening).
    cal = CALENDARS[name]
    assert business_minutes_between(cal, start, add_business_minutes(cal, start, minutes)) == minutes


@given(STARTS, MINUTES)
def test_between_inverts_add_inside_opening_hours(start: datetime, minutes: int) -> None:
    # From a whole minute, the last half of the first business minute is always open (from
    # 11:59:00.000001 that minute would end at 13:00:00.000001, its last half in the lunch break).
    start = start.replace(second=0, microsecond=0)
    inside = add_business_minutes(WIB, start, 1) - timedelta(seconds=30)
    assert is_open(WIB, inside)
    assert business_minutes_between(WIB, inside, add_business_minutes(WIB, inside, minutes)) == minutes


@given(CALS, STARTS, STARTS, STARTS)
def test_between_is_additive(name: str, a: datetime, b: datetime, c: datetime) -> None:
    cal = CALENDARS[name]
    a, b, c = sorted((a, b, c))
    total = business_minutes_between(cal, a, c)
    parts = business_minutes_between(cal, a, b) + business_minutes_between(cal, b, c)
    assert total - 1 <= parts <= total  # whole minutes: the two floors may lose one


def _reference_add(cal: BusinessCalendar, start: datetime, minutes: int) -> datetime:
    """Minute-by-minute walk, for minute-aligned starts only (the slow obvious definition)."""
    at = start
    while minutes:
        if is_open(cal, at):
            minutes -= 1
        at += timedelta(minutes=1)
    while minutes == 0 and at > start and not is_open(cal, at - timedelta(minutes=1)):
        at -= timedelta(minutes=1)  # the earliest instant: back off the closed minutes walked
    return at


@settings(max_examples=40, deadline=None)
@given(CALS, STARTS, st.integers(min_value=1, max_value=2_000))
def test_add_agrees_with_a_minute_walk(name: str, start: datetime, minutes: int) -> None:
    cal = CALENDARS[name]
    start = start.replace(second=0, microsecond=0)
    assert add_business_minutes(cal, start, minutes) == _reference_add(cal, start, minutes)
