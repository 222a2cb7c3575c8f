"""The supervisors' SLA report: every figure is a SQL aggregate (GROUP BY in the database),
never a loop over tickets in Python, so a million tickets cost one scan per query.

Served rate = share of tickets (and of citizens) whose first response was met; breach rates per
target; first-response and resolution times (wall-clock minutes; business-time percentiles come
from the stored due/met states); backlog with ageing buckets; volumes in and out."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from ticketing.domain.errors import InvalidInput
from ticketing.store import tables

t, m, u = tables.tickets, tables.messages, tables.users
GROUPS = ("channel", "agent", "topic", "day", "team")


def _minutes(later: Any, earlier: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return sa.func.extract("epoch", later - earlier) / 60.0
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 1440.0


def _group_column(group_by: str, dialect: str) -> Any:
    if group_by == "channel":
        return t.c.channel
    if group_by == "topic":
        return sa.func.coalesce(t.c.topic, "lainnya")
    if group_by == "team":
        return sa.func.coalesce(t.c.team, "-")
    if group_by == "agent":
        return sa.func.coalesce(u.c.email, "(unassigned)")
    if group_by == "day":
        # The desk's day (WIB), not UTC's.
        if dialect == "postgresql":
            return sa.func.to_char(sa.func.timezone("Asia/Jakarta", t.c.first_message_at),
                                   "YYYY-MM-DD")
        return sa.func.date(t.c.first_message_at, "+7 hours")
    raise InvalidInput(f"group_by must be one of {', '.join(GROUPS)}")


def sla_report(conn: sa.Connection, *, start: dt.date, end: dt.date, group_by: str = "channel",
               now: dt.datetime) -> dict[str, Any]:
    """Tickets whose first contact falls in [start, end] (WIB days), grouped."""
    if end < start:
        raise InvalidInput("the report's end is before its start")
    wib = dt.timezone(dt.timedelta(hours=7))
    lo = dt.datetime.combine(start, dt.time(), wib)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), wib)
    dialect = conn.dialect.name
    key = _group_column(group_by, dialect).label("grp")
    first_met = sa.case((t.c.first_response_state == "met", 1), else_=0)
    first_breached = sa.case((t.c.first_response_state == "breached", 1), else_=0)
    res_breached = sa.case((t.c.resolution_state == "breached", 1), else_=0)
    resolved = sa.case((t.c.resolved_at.is_not(None), 1), else_=0)
    frt = _minutes(t.c.first_response_at, t.c.first_message_at, dialect)
    rt = _minutes(t.c.resolved_at, t.c.first_message_at, dialect)
    served_customer = sa.func.count(sa.distinct(sa.case(
        (t.c.first_response_state == "met", t.c.customer_id))))
    base = (sa.select(key, sa.func.count().label("tickets"),
                      sa.func.count(sa.distinct(t.c.customer_id)).label("citizens"),
                      sa.func.sum(first_met).label("first_response_met"),
                      sa.func.sum(first_breached).label("first_response_breached"),
                      sa.func.sum(res_breached).label("resolution_breached"),
                      sa.func.sum(resolved).label("resolved"),
                      served_customer.label("citizens_served"),
                      sa.func.avg(frt).label("first_response_avg_min"),
                      sa.func.avg(rt).label("resolution_avg_min"))
            .select_from(t.outerjoin(u, u.c.id == t.c.assignee_id))
            .where(t.c.merged_into_id.is_(None), t.c.first_message_at >= lo,
                   t.c.first_message_at < hi)
            .group_by(key).order_by(key))
    rows = [dict(r._mapping) for r in conn.execute(base)]
    percentiles = _percentiles(conn, key, frt, rt, lo, hi, dialect)
    for row in rows:
        n = row["tickets"] or 0
        row["served_rate"] = round((row["first_response_met"] or 0) / n, 4) if n else None
        row["citizens_served_rate"] = round(row["citizens_served"] / row["citizens"], 4) \
            if row["citizens"] else None
        row["first_response_breach_rate"] = round((row["first_response_breached"] or 0) / n, 4) \
            if n else None
        row["resolution_breach_rate"] = round((row["resolution_breached"] or 0) / n, 4) \
            if n else None
        row.update(percentiles.get(row["grp"], {}))
        for k in ("first_response_avg_min", "resolution_avg_min"):
            row[k] = round(float(row[k]), 1) if row[k] is not None else None
    return {"from": start.isoformat(), "to": end.isoformat(), "group_by": group_by,
            "generated_at": now.isoformat(), "groups": rows,
            "backlog": backlog(conn, now=now), "volumes": volumes(conn, lo=lo, hi=hi)}


def _percentiles(conn: sa.Connection, key: Any, frt: Any, rt: Any, lo: dt.datetime,
                 hi: dt.datetime, dialect: str) -> dict[Any, dict[str, Any]]:
    """p50/p90 of first-response and resolution minutes, in the database: PostgreSQL's
    percentile_cont; on SQLite the nearest rank (cume_dist window) over the sorted values."""
    out: dict[Any, dict[str, Any]] = {}
    where = (t.c.merged_into_id.is_(None), t.c.first_message_at >= lo, t.c.first_message_at < hi)
    for name, expr, present in (("first_response", frt, t.c.first_response_at),
                                ("resolution", rt, t.c.resolved_at)):
        if dialect == "postgresql":
            stmt = (sa.select(key, sa.func.percentile_cont(0.5).within_group(expr).label("p50"),
                              sa.func.percentile_cont(0.9).within_group(expr).label("p90"))
                    .select_from(t.outerjoin(u, u.c.id == t.c.assignee_id))
                    .where(*where, present.is_not(None)).group_by(key))
            rows = [(r.grp, r.p50, r.p90) for r in conn.execute(stmt)]
        else:
            ranked = (sa.select(key, expr.label("v"),
                                sa.func.cume_dist().over(partition_by=key, order_by=expr)
                                .label("pr"))
                      .select_from(t.outerjoin(u, u.c.id == t.c.assignee_id))
                      .where(*where, present.is_not(None)).subquery())
            stmt = (sa.select(ranked.c.grp,
                              sa.func.min(sa.case((ranked.c.pr >= 0.5, ranked.c.v))).label("p50"),
                              sa.func.min(sa.case((ranked.c.pr >= 0.9, ranked.c.v))).label("p90"))
                    .group_by(ranked.c.grp))
            rows = [(r.grp, r.p50, r.p90) for r in conn.execute(stmt)]
        for grp, p50, p90 in rows:
            out.setdefault(grp, {})[f"{name}_p50_min"] = round(float(p50), 1) if p50 else None
            out[grp][f"{name}_p90_min"] = round(float(p90), 1) if p90 else None
    return out


AGES = ((dt.timedelta(hours=4), "< 4 h"), (dt.timedelta(days=1), "4-24 h"),
        (dt.timedelta(days=3), "1-3 d"), (dt.timedelta(days=7), "3-7 d"))


def backlog(conn: sa.Connection, *, now: dt.datetime) -> list[dict[str, Any]]:
    """Open work now, by channel and age of the first contact."""
    bucket = sa.case(*[(t.c.first_message_at > now - age, label) for age, label in AGES],
                     else_="> 7 d").label("age")
    stmt = (sa.select(t.c.channel, bucket, sa.func.count().label("tickets"))
            .where(t.c.merged_into_id.is_(None),
                   t.c.status.in_(("new", "open", "pending_customer")))
            .group_by(t.c.channel, bucket).order_by(t.c.channel, bucket))
    return [dict(r._mapping) for r in conn.execute(stmt)]


def volumes(conn: sa.Connection, *, lo: dt.datetime, hi: dt.datetime) -> list[dict[str, Any]]:
    """Messages in and out per WIB day and channel."""
    if conn.dialect.name == "postgresql":
        day = sa.func.to_char(sa.func.timezone("Asia/Jakarta", m.c.sent_at), "YYYY-MM-DD")
    else:
        day = sa.func.date(m.c.sent_at, "+7 hours")
    stmt = (sa.select(day.label("day"), m.c.channel, m.c.direction,
                      sa.func.count().label("messages"))
            .where(m.c.sent_at >= lo, m.c.sent_at < hi, m.c.direction.in_(("in", "out")))
            .group_by(day, m.c.channel, m.c.direction).order_by(day))
    return [dict(r._mapping) for r in conn.execute(stmt)]


def to_csv(report: Mapping[str, Any]) -> str:
    rows: Sequence[Mapping[str, Any]] = report["groups"]
    buf = io.StringIO()
    fields = ["grp"] + sorted({k for r in rows for k in r} - {"grp"})
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in fields})
    return buf.getvalue()
