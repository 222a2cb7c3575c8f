"""The SLA report as one self-contained HTML document with inline SVG charts (no scripts, no
external assets: it can be mailed or archived), and its sections for the staff page
(``render_body``).  Every value is escaped."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date

from ticketing.services.reports import AGE_LABELS

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


def _bars(title: str, items: Sequence[tuple[str, float | None]], *, unit: str = "",
          percent: bool = False) -> str:
    """Horizontal bars; a None value (nothing measured: no ticket answered yet) is shown as
    "—" with no bar, never as a zero that would read as instant."""
    width, row = 640, 26
    top = max((v for _, v in items if v is not None), default=0) or 1
    height = row * len(items) + 40
    parts = [f'<svg role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(items):
        y = 30 + i * row
        w = 0 if value is None else (value / (1 if percent else top)) * 400
        shown = "—" if value is None else f"{value:.0%}" if percent else f"{value:,.0f}{unit}"
        parts.append(f'<text x="0" y="{y + 16}" font-size="13">{escape(label)}</text>'
                     f'<rect x="180" y="{y}" width="{w:.1f}" height="18" fill="{COLOURS[0]}"/>'
                     f'<text x="{186 + w:.1f}" y="{y + 14}" font-size="12">{escape(shown)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _short_day(value: str) -> str:
    try:
        return format_date(dt.date.fromisoformat(value[:10]), "d MMM", locale="id")
    except ValueError:
        return value


def _stacked_days(volumes: Sequence[Mapping[str, Any]]) -> str:
    per_day: dict[str, dict[str, int]] = defaultdict(dict)
    channels: list[str] = []
    for v in volumes:
        if v["direction"] != "in":
            continue
        per_day[str(v["day"])][str(v["channel"])] = int(v["messages"])
        if v["channel"] not in channels:
            channels.append(str(v["channel"]))
    days = sorted(per_day)
    if not days:
        return "<p>Tidak ada pesan pada periode ini.</p>"
    top = max(sum(d.values()) for d in per_day.values()) or 1
    bar, height = max(8, min(40, 600 // len(days))), 220
    # Wide enough for the legend too (one entry per channel), not only for the bars.
    width = max(60 + len(days) * (bar + 4), 60 + len(channels) * 110)
    parts = [f'<svg role="img" aria-label="Pesan masuk per hari per kanal" width="{width}" '
             f'height="{height + 60}" xmlns="http://www.w3.org/2000/svg">'
             '<title>Pesan masuk per hari per kanal</title>']
    for i, day in enumerate(days):
        x, y = 50 + i * (bar + 4), float(height)
        for j, channel in enumerate(channels):
            h = per_day[day].get(channel, 0) / top * (height - 20)
            y -= h
            parts.append(f'<rect x="{x}" y="{y:.1f}" width="{bar}" height="{h:.1f}" '
                         f'fill="{COLOURS[j % len(COLOURS)]}"><title>{escape(day)} '
                         f'{escape(channel)}: {per_day[day].get(channel, 0)}</title></rect>')
    every = max(1, -(-len(days) * 70 // max(width - 60, 1)))  # a label per ~70 px
    for i, day in enumerate(days):
        if i % every == 0 or i == len(days) - 1 and i % every > every // 2:
            x = 50 + i * (bar + 4)
            parts.append(f'<text x="{x}" y="{height + 18}" font-size="11">'
                         f'{escape(_short_day(day))}</text>')
    parts.append(f'<text x="0" y="12" font-size="11">{top} pesan</text>'
                 f'<text x="0" y="{height}" font-size="11">0</text>')
    for j, channel in enumerate(channels):
        parts.append(f'<rect x="{50 + j * 110}" y="{height + 32}" width="12" height="12" '
                     f'fill="{COLOURS[j % len(COLOURS)]}"/><text x="{66 + j * 110}" '
                     f'y="{height + 43}" font-size="12">{escape(channel)}</text>')
    parts.append("</svg>")
    return "".join(parts)


STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;
text-align:right}td:first-child,th:first-child{text-align:left}"""
COLUMNS = ("grp", "tickets", "citizens", "served_rate", "citizens_served_rate",
           "first_response_breach_rate", "resolution_breach_rate", "first_response_avg_min",
           "first_response_p50_min", "first_response_p90_min", "resolution_avg_min",
           "resolution_p50_min", "resolution_p90_min", "resolved")


def _distribution(report: Mapping[str, Any], measure: str, title: str) -> str:
    bands = [(str(d["band"]), float(d["tickets"])) for d in report.get("distribution", ())
             if d["measure"] == measure]
    if not any(v for _, v in bands):
        return "<p>Belum ada yang selesai pada periode ini.</p>"
    return _bars(title, bands, unit=" tiket")


# Column headings for people (the keys stay in CSV and JSON, and in each cell's data-key).
LABELS = {"grp": "Kelompok", "tickets": "Tiket", "citizens": "Warga",
          "served_rate": "Terlayani tepat waktu", "citizens_served_rate": "Warga terlayani",
          "first_response_breach_rate": "Respons pertama terlewat",
          "resolution_breach_rate": "Penyelesaian terlewat",
          "first_response_avg_min": "Respons pertama rata-rata (mnt)",
          "first_response_p50_min": "Respons pertama median (mnt)",
          "first_response_p90_min": "Respons pertama p90 (mnt)",
          "resolution_avg_min": "Penyelesaian rata-rata (mnt)",
          "resolution_p50_min": "Penyelesaian median (mnt)",
          "resolution_p90_min": "Penyelesaian p90 (mnt)", "resolved": "Selesai"}
GROUP_HEADINGS = {"channel": "Kanal", "topic": "Topik", "day": "Hari", "agent": "Agen",
                  "team": "Tim"}
# The queue filter that shows the tickets behind a group's figures (the page only).
QUEUE_FILTER = {"channel": "channel", "topic": "topic", "team": "team"}


def _cell(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key.endswith("_rate"):
        return f"{float(value) * 100:.1f}%"
    if key.endswith("_min"):
        return f"{float(value):,.1f}"
    return str(value)


def _day(value: str) -> str:
    try:
        return format_date(dt.date.fromisoformat(value[:10]), "d MMM yyyy", locale="id")
    except ValueError:
        return value


def _row(g: Mapping[str, Any], group_by: str, links: bool) -> str:
    cells = []
    target = QUEUE_FILTER.get(group_by)
    for key in COLUMNS:
        shown = escape(_cell(key, g.get(key)))
        if links and target and key in ("grp", "tickets") and g.get("grp") is not None:
            href = "/queue?" + urlencode({target: str(g["grp"])}) + "#all-tickets"
            shown = f'<a href="{escape(href)}" class="to-tickets">{shown}</a>'
        cells.append(f'<td data-key="{key}">{shown}</td>')
    return "<tr>" + "".join(cells) + "</tr>"


def render_body(report: Mapping[str, Any], *, links: bool = False) -> str:
    """The report's sections (tables and charts), for a page or a document to wrap;
    ``links``: figures link to the queue filtered to the tickets behind them (the page)."""
    groups: Sequence[Mapping[str, Any]] = report["groups"]
    group_by = str(report["group_by"])
    heads = {**LABELS, "grp": GROUP_HEADINGS.get(group_by, LABELS["grp"])}
    head = "".join(f'<th data-key="{c}">{escape(heads[c])}</th>' for c in COLUMNS)
    body = "".join(_row(g, group_by, links) for g in groups)
    backlog = _backlog(report["backlog"])
    served = [(str(g["grp"]), float(g["served_rate"] or 0)) for g in groups]
    p50 = [(str(g["grp"]), None if g.get("first_response_p50_min") is None
            else float(g["first_response_p50_min"])) for g in groups]
    per = escape(GROUP_HEADINGS.get(group_by, group_by).lower())
    return f"""<p>Periode {escape(_day(report['from']))} s.d. {escape(_day(report['to']))} (WIB),
dikelompokkan per {per}; dibuat {escape(str(report['generated_at'])[:16].replace('T', ' '))}.
Waktu dalam menit kerja (jam layanan); tingkat dalam persen.</p>
<h2>Ringkasan</h2><div class="scroll"><table id="summary"><thead><tr>{head}</tr></thead>
<tbody>{body}</tbody></table></div>
<h2>Pesan masuk per hari</h2><div class="chart">{_stacked_days(report['volumes'])}</div>
<h2>Tingkat terlayani (respons pertama tepat waktu) per {per}</h2>
<div class="chart">{_bars('Tingkat terlayani', served, percent=True)}</div>
<h2>Waktu respons pertama, median (menit kerja)</h2>
<div class="chart">{_bars('Median respons pertama', p50, unit=' mnt')}</div>
<h2>Sebaran waktu respons pertama</h2>
<div class="chart">{_distribution(report, 'first_response', 'Sebaran waktu respons pertama')}</div>
<h2>Sebaran waktu penyelesaian</h2>
<div class="chart">{_distribution(report, 'resolution', 'Sebaran waktu penyelesaian')}</div>
<h2>Antrean saat ini</h2><div class="scroll">{backlog}</div>"""


def _backlog(rows: Sequence[Mapping[str, Any]]) -> str:
    """Open work now as one row per channel and a column per age of the first contact (the
    ages in the report's own order), with the channel's total."""
    ages = list(dict.fromkeys(str(b["age"]) for b in sorted(rows, key=_age_order)))
    cells: dict[str, dict[str, int]] = defaultdict(dict)
    for b in rows:
        cells[str(b["channel"])][str(b["age"])] = int(b["tickets"])
    head = "".join(f"<th>{escape(a)}</th>" for a in ages)
    body = "".join(
        f"<tr><td>{escape(ch)}</td>" + "".join(f"<td>{by.get(a, '')}</td>" for a in ages)
        + f"<td><strong>{sum(by.values())}</strong></td></tr>" for ch, by in sorted(cells.items()))
    if not body:
        return "<p>Tidak ada tiket terbuka.</p>"
    return (f'<table id="backlog"><thead><tr><th>Kanal</th>{head}<th>Jumlah</th></tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _age_order(b: Mapping[str, Any]) -> int:
    return AGE_LABELS.index(b["age"]) if b["age"] in AGE_LABELS else len(AGE_LABELS)


RATING_HEADINGS = {"channel": "Kanal", "topic": "Topik", "agent": "Agen", "team": "Tim"}


def _rating_row(g: Mapping[str, Any]) -> str:
    counts = "".join(f"<td>{int(d['count'])}</td>" for d in g["distribution"])
    return (f"<tr><td>{escape(str(g['grp']))}</td><td>{int(g['count'])}</td>"
            f"<td>{float(g['average']):.2f}</td>{counts}</tr>")


def ratings_section(report: Mapping[str, Any]) -> str:
    """The chat ratings (Indonesian, for the self-contained document; the staff page renders
    ``templates/report_ratings.html`` with the English catalogue)."""
    r = report.get("ratings") or {}
    if not r.get("count"):
        return ("<h2>Penilaian obrolan (1–5)</h2><p id=\"no-ratings\">Belum ada penilaian "
                "pada periode ini.</p>")
    bars = _bars("Sebaran penilaian", [(f"{d['value']} ★", float(d["count"]))
                                       for d in r["distribution"]], unit=" penilaian")
    heading = RATING_HEADINGS.get(str(r.get("by")), "Kelompok")
    rows = "".join(_rating_row(g) for g in r["groups"])
    stars = "".join(f"<th>{v} ★</th>" for v in range(1, 6))
    return (f"<h2>Penilaian obrolan (1–5)</h2><p id=\"rating-summary\">{r['count']} penilaian, "
            f"rata-rata {r['average']:.2f} dari 5 (diberikan pada periode ini).</p>"
            f"<div class=\"chart\">{bars}</div><div class=\"scroll\"><table id=\"ratings\">"
            f"<thead><tr><th>{escape(heading)}</th><th>Penilaian</th><th>Rata-rata</th>{stars}"
            f"</tr></thead><tbody>{rows}</tbody></table></div>")


def render(report: Mapping[str, Any]) -> str:
    """The whole report as one self-contained document."""
    return f"""<!doctype html>
<html lang="id"><head><meta charset="utf-8">
<title>Laporan SLA {escape(report['from'])} – {escape(report['to'])}</title>
<style>{STYLE}</style></head>
<body><h1>Laporan SLA</h1>
{render_body(report)}
{ratings_section(report)}</body></html>
"""
