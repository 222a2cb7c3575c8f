"""The supervisors' SLA report: every figure is a SQL aggregate (GROUP BY in the database),
never a loop over tickets in Python.

Served rate = share of tickets (and of citizens) whose first response was met; breach rates per
target; first-response and resolution times in business minutes (the measures the SLA service
stores on each ticket once a target is fulfilled: pauses excluded, on the ticket's calendar):
mean, p50 and p90; backlog with ageing buckets; volumes in and out.

Made for a million tickets in the period (docs/benchmarks.md): the figures come from rollups
kept by database triggers (migration 0009, ``ticketing/models/report.py``), never from the
tickets: one grouped pass over a range of days of ``report_rollup`` gives the ticket counts, the
flags and both per-minute histograms (percentiles: ``ticketing.domain.histogram``, exactly
``percentile_cont`` over the stored whole minutes, on both databases); distinct citizens are the
tickets of single-ticket customers plus a distinct count over ``report_repeat_tickets``; agents'
names are looked up for the groups only.  On PostgreSQL the triggers append to
``report_rollup_delta``, which the report reads too and the worker folds in
(``store.rollup.fold``)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from ticketing.domain import bounds, histogram
from ticketing.domain.errors import InvalidInput
from ticketing.domain.zones import WIB
from ticketing.store import rollup, tables

t, m, u = tables.tickets, tables.messages, tables.users
rp = tables.report_repeat_tickets
GROUPS = ("channel", "agent", "topic", "day", "team")
UNASSIGNED = "(unassigned)"
MAX_DAYS = 366  # volumes (and grouping by day) are one index range per day
# Flags of a ticket, summed per (group, first-response minutes) in the first pass.
_MET, _FR_BREACHED, _RES_BREACHED, _RESOLVED = 1, 2, 4, 8
# Shown as a distribution chart (business minutes): upper bounds, exclusive.
BANDS = ((60, "< 1 j"), (120, "1-2 j"), (240, "2-4 j"), (480, "4-8 j"), (1440, "8-24 j"))


def _group_column(group_by: str) -> Any:
    """The rollups store each ticket's groups as the report shows them (no topic: ``lainnya``,
    no team: ``-``, unassigned: agent 0)."""
    if group_by not in GROUPS:
        raise InvalidInput(f"group_by must be one of {', '.join(GROUPS)}")
    return {"channel": "channel", "topic": "topic", "team": "team", "agent": "agent",
            "day": "day"}[group_by]


def _days(start: dt.date, end: dt.date) -> list[tuple[str, dt.datetime, dt.datetime]]:
    """The desk's days (WIB, not UTC) as ranges of instants: the volumes are one index range
    per day, with no date arithmetic per row."""
    out = []
    day = start
    while day <= end:
        lo = dt.datetime.combine(day, dt.time(), WIB)
        out.append((day.isoformat(), lo, lo + dt.timedelta(days=1)))
        day += dt.timedelta(days=1)
    return out


def _flag(condition: Any, bit: int) -> Any:
    return sa.case((condition, bit), else_=0)


def sla_report(conn: sa.Connection, *, start: dt.date, end: dt.date, group_by: str = "channel",
               now: dt.datetime) -> dict[str, Any]:
    """Tickets whose first contact falls in [start, end] (WIB days), grouped."""
    bounds.check_date(start, "from")
    bounds.check_date(end, "to")
    if end < start:
        raise InvalidInput("the report's end is before its start")
    if (end - start).days >= MAX_DAYS:
        raise InvalidInput(f"a report covers at most {MAX_DAYS} days")
    column = _group_column(group_by)
    groups: dict[Any, _Group] = {}
    _passes(conn, groups, column, start, end)
    if group_by == "day":
        groups = {grp.isoformat(): g for grp, g in groups.items()}
    elif group_by == "agent":
        groups = {(None if grp == 0 else grp): g for grp, g in groups.items()}
    names = _agent_names(conn, groups) if group_by == "agent" else {}
    rows = [g.row(names.get(grp, grp) if group_by == "agent" else grp)
            for grp, g in groups.items()]
    rows.sort(key=lambda r: str(r["grp"]))
    return {"from": start.isoformat(), "to": end.isoformat(), "group_by": group_by,
            "generated_at": now.isoformat(), "groups": rows,
            "distribution": _distribution(groups.values()),
            "backlog": backlog(conn, now=now), "volumes": volumes(conn, start=start, end=end),
            "ratings": ratings(conn, start=start, end=end, group_by=group_by)}


def _passes(conn: sa.Connection, groups: dict[Any, _Group], column: str, start: dt.date,
            end: dt.date) -> None:
    # Counts and flags (kind 0) and both per-minute histograms (kinds 1 and 2) from the
    # rollup: a range of days, a few hundred thousand rows at most for a million tickets.
    # PostgreSQL's triggers append to the delta table until the worker folds it in: both count.
    rows = rollup.counted_rows(conn, column)
    key = rows.c[column]
    for grp, kind, value, n in conn.execute(
            sa.select(key, rows.c.kind, rows.c.value, sa.func.sum(rows.c.n))
            .where(rows.c.day >= start, rows.c.day <= end)
            .group_by(key, rows.c.kind, rows.c.value).having(sa.func.sum(rows.c.n) != 0)):
        g = groups.setdefault(grp, _Group())
        if kind == 0:
            g.add(int(value), int(n))
        else:
            histo = g.first_response if kind == 1 else g.resolution
            histo[int(value)] = histo.get(int(value), 0) + int(n)
    # Distinct citizens: a customer with a single live ticket is one citizen in that
    # ticket's group; customers with several are counted distinct from their tickets' rows.
    for g in groups.values():
        g.citizens, g.citizens_served = g.tickets, g.met
    key = rp.c[column]
    served = sa.case((rp.c.met == 1, rp.c.customer_id))
    for grp, n, citizens, met, citizens_served in conn.execute(
            sa.select(key, sa.func.count(), sa.func.count(sa.distinct(rp.c.customer_id)),
                      sa.func.sum(rp.c.met), sa.func.count(sa.distinct(served)))
            .where(rp.c.day >= start, rp.c.day <= end).group_by(key)):
        g = groups.setdefault(grp, _Group())
        g.citizens += int(citizens) - int(n)
        g.citizens_served += int(citizens_served or 0) - int(met or 0)




class _Group:
    """One group's counts and histograms, as the passes fill them."""

    def __init__(self) -> None:
        self.tickets = self.met = self.fr_breached = self.res_breached = self.resolved = 0
        self.citizens = self.citizens_served = 0
        self.first_response: dict[int, int] = {}
        self.resolution: dict[int, int] = {}

    def add(self, bits: int, n: int) -> None:
        self.tickets += n
        self.met += n if bits & _MET else 0
        self.fr_breached += n if bits & _FR_BREACHED else 0
        self.res_breached += n if bits & _RES_BREACHED else 0
        self.resolved += n if bits & _RESOLVED else 0

    def row(self, grp: Any) -> dict[str, Any]:
        n = self.tickets

        def rate(x: int, of: int) -> float | None:
            return round(x / of, 4) if of else None

        def one(x: float | None) -> float | None:
            return None if x is None else round(x, 1)

        return {
            "grp": grp, "tickets": n, "citizens": self.citizens,
            "first_response_met": self.met, "first_response_breached": self.fr_breached,
            "resolution_breached": self.res_breached, "resolved": self.resolved,
            "citizens_served": self.citizens_served,
            "served_rate": rate(self.met, n),
            "citizens_served_rate": rate(self.citizens_served, self.citizens),
            "first_response_breach_rate": rate(self.fr_breached, n),
            "resolution_breach_rate": rate(self.res_breached, n),
            "first_response_avg_min": one(histogram.mean(self.first_response)),
            "resolution_avg_min": one(histogram.mean(self.resolution)),
            "first_response_p50_min": one(histogram.percentile(self.first_response, 0.5)),
            "first_response_p90_min": one(histogram.percentile(self.first_response, 0.9)),
            "resolution_p50_min": one(histogram.percentile(self.resolution, 0.5)),
            "resolution_p90_min": one(histogram.percentile(self.resolution, 0.9)),
        }


def _agent_names(conn: sa.Connection, groups: Mapping[Any, object]) -> dict[Any, str]:
    ids = [i for i in groups if i is not None]
    names: dict[Any, str] = {None: UNASSIGNED}
    if ids:
        names.update((r.id, r.email) for r in
                     conn.execute(sa.select(u.c.id, u.c.email).where(u.c.id.in_(ids))))
    return names


def _distribution(groups: Any) -> list[dict[str, Any]]:
    """All groups' times in bands of business minutes, for the distribution chart."""
    out = []
    for measure in ("first_response", "resolution"):
        counts = [0] * (len(BANDS) + 1)
        for g in groups:
            for minutes, n in getattr(g, measure).items():
                band = next((i for i, (upper, _) in enumerate(BANDS) if minutes < upper),
                            len(BANDS))
                counts[band] += n
        labels = [label for _, label in BANDS] + [f"≥ {BANDS[-1][0] // 60} j"]
        out += [{"measure": measure, "band": label, "tickets": n}
                for label, n in zip(labels, counts)]
    return out


# The chat rating's groups: the ticket's own columns, shown as the rollups show them.  Per day
# makes little sense for a handful of ratings: that report shows them per channel.
_RATING_GROUPS = {"channel": t.c.channel, "topic": sa.func.coalesce(t.c.topic, "lainnya"),
                  "team": sa.func.coalesce(t.c.team, "-"),
                  "agent": sa.func.coalesce(t.c.assignee_id, 0)}


def ratings(conn: sa.Connection, *, start: dt.date, end: dt.date, group_by: str
            ) -> dict[str, Any]:
    """The citizens' 1-5 chat ratings given in [start, end] (WIB days): how many, the average
    and the distribution, overall and per group (per channel when the report is per day).
    One grouped pass over a range of ``ix_tickets_rated`` (partial, covering)."""
    by = group_by if group_by in _RATING_GROUPS else "channel"
    key = _RATING_GROUPS[by].label("grp")
    lo = dt.datetime.combine(start, dt.time(), WIB)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), WIB)
    counts: dict[Any, list[int]] = {}
    for grp, value, n in conn.execute(
            sa.select(key, t.c.rating, sa.func.count())
            .where(t.c.rated_at >= lo, t.c.rated_at < hi, t.c.rating.between(1, 5))
            .group_by(key, t.c.rating)):
        counts.setdefault(grp, [0] * 5)[int(value) - 1] += int(n)
    names: dict[Any, Any] = {}
    if by == "agent":
        counts = {(None if grp == 0 else grp): c for grp, c in counts.items()}
        names = _agent_names(conn, counts)
    overall = [sum(c[i] for c in counts.values()) for i in range(5)]
    groups = [{"grp": names.get(grp, grp) if by == "agent" else grp, **_rated(c)}
              for grp, c in counts.items()]
    groups.sort(key=lambda r: str(r["grp"]))
    return {"by": by, **_rated(overall), "groups": groups}


def _rated(dist: Sequence[int]) -> dict[str, Any]:
    n = sum(dist)
    average = round(sum((i + 1) * c for i, c in enumerate(dist)) / n, 2) if n else None
    return {"count": n, "average": average,
            "distribution": [{"value": i + 1, "count": c} for i, c in enumerate(dist)]}


AGES = ((dt.timedelta(hours=4), "< 4 h"), (dt.timedelta(days=1), "4-24 h"),
        (dt.timedelta(days=3), "1-3 d"), (dt.timedelta(days=7), "3-7 d"))
AGE_LABELS = tuple(label for _, label in AGES) + ("> 7 d",)
OPEN = ("new", "open", "pending_customer")


def backlog(conn: sa.Connection, *, now: dt.datetime) -> list[dict[str, Any]]:
    """Open work now, by channel and age of the first contact: one pass over the
    ``ix_tickets_backlog`` index, grouped in its own order (status, channel), the age buckets
    as conditional counts."""
    younger = [sa.func.sum(_flag(t.c.first_message_at > now - age, 1)) for age, _ in AGES]
    stmt = (sa.select(t.c.status, t.c.channel, sa.func.count(), *younger)
            .where(t.c.status.in_(OPEN), t.c.merged_into_id.is_(None))
            .group_by(t.c.status, t.c.channel))
    per_channel: dict[str, list[int]] = {}
    for _status, channel, total, *counts in conn.execute(stmt):
        acc = per_channel.setdefault(channel, [0] * (len(AGES) + 1))
        cumulative = [int(c or 0) for c in counts] + [int(total)]
        for i, c in enumerate(cumulative):
            acc[i] += c - (cumulative[i - 1] if i else 0)
    labels = AGE_LABELS
    return sorted(({"channel": channel, "age": label, "tickets": n}
                   for channel, acc in per_channel.items() for label, n in zip(labels, acc)
                   if n), key=lambda r: (r["channel"], r["age"]))


def volumes(conn: sa.Connection, *, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Messages in and out per WIB day and channel.  Per direction, the channels come from a
    skip along ``ix_messages_volume (direction, channel, sent_at)`` (one probe each); per
    (direction, channel), one statement counts every day as a range of that index, read from
    the index alone: no GROUP BY, so no sort on SQLite."""
    days = _days(start, end)
    counts: dict[tuple[str, str, str], int] = {}
    for direction in ("in", "out"):
        channel: str | None = None
        while True:
            after = m.c.channel > channel if channel is not None else sa.true()
            channel = conn.execute(sa.select(sa.func.min(m.c.channel))
                                   .where(m.c.direction == direction, after)).scalar()
            if channel is None:
                break
            per_day = conn.execute(sa.select(*(
                sa.select(sa.func.count()).where(
                    m.c.direction == direction, m.c.channel == channel, m.c.sent_at >= lo,
                    m.c.sent_at < hi).scalar_subquery().label(f"d{i}")
                for i, (_, lo, hi) in enumerate(days)))).one()
            for (day, _, _), n in zip(days, per_day):
                if n:
                    counts[(day, direction, channel)] = int(n)
    return [{"day": day, "channel": channel, "direction": direction, "messages": n}
            for (day, direction, channel), n in sorted(counts.items())]


def to_csv(report: Mapping[str, Any]) -> str:
    """The report's groups as CSV; when the ratings are grouped the same way (every grouping
    but per day), each row also has its ``rating_count`` and ``rating_average``."""
    rows: Sequence[Mapping[str, Any]] = report["groups"]
    rated = report.get("ratings") or {}
    if rows and rated.get("by") == report.get("group_by"):
        per = {str(g["grp"]): g for g in rated.get("groups", ())}
        rows = [{**r, "rating_count": per.get(str(r["grp"]), {}).get("count", 0),
                 "rating_average": per.get(str(r["grp"]), {}).get("average")} for r in rows]
    buf = io.StringIO()
    fields = ["grp"] + sorted({k for r in rows for k in r} - {"grp"})
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in fields})
    return buf.getvalue()
