"""The SLA report as one self-contained HTML document with inline SVG charts (no scripts, no
external assets: it can be mailed or archived), and its sections for the staff page
(``render_body``).  Every value is escaped."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


def _bars(title: str, items: Sequence[tuple[str, float]], *, unit: str = "",
          percent: bool = False) -> str:
    width, row = 640, 26
    top = max((v for _, v in items), default=0) or 1
    height = row * len(items) + 40
    parts = [f'<svg role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(items):
        y = 30 + i * row
        w = 0 if top == 0 else (value / (1 if percent else top)) * 400
        shown = f"{value:.0%}" if percent else f"{value:,.0f}{unit}"
        parts.append(f'<text x="0" y="{y + 16}" font-size="13">{escape(label)}</text>'
                     f'<rect x="180" y="{y}" width="{w:.1f}" height="18" fill="{COLOURS[0]}"/>'
                     f'<text x="{186 + w:.1f}" y="{y + 14}" font-size="12">{escape(shown)}</text>')
    parts.append("</svg>")
    return "".join(parts)


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
    bar, height = max(4, min(40, 600 // len(days))), 220
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
    last_x = 50 + (len(days) - 1) * (bar + 4)
    parts.append(f'<text x="50" y="{height + 18}" font-size="11">{escape(days[0])}</text>')
    if len(days) > 1:
        parts.append(f'<text x="{max(last_x, 150)}" y="{height + 18}" font-size="11">'
                     f'{escape(days[-1])}</text>')
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


def render_body(report: Mapping[str, Any]) -> str:
    """The report's sections (tables and charts), for a page or a document to wrap."""
    groups: Sequence[Mapping[str, Any]] = report["groups"]
    head = "".join(f"<th>{escape(c)}</th>" for c in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{escape('' if g.get(c) is None else str(g.get(c)))}"
                                    "</td>" for c in COLUMNS) + "</tr>" for g in groups)
    backlog = "".join(f"<tr><td>{escape(str(b['channel']))}</td><td>{escape(str(b['age']))}</td>"
                      f"<td>{b['tickets']}</td></tr>" for b in report["backlog"])
    served = [(str(g["grp"]), float(g["served_rate"] or 0)) for g in groups]
    p50 = [(str(g["grp"]), float(g.get("first_response_p50_min") or 0)) for g in groups]
    per = escape(str(report["group_by"]))
    return f"""<p>Periode {escape(report['from'])} s.d. {escape(report['to'])} (WIB),
dikelompokkan per {per}; dibuat {escape(report['generated_at'])}. Waktu dalam menit kerja
(jam layanan).</p>
<h2>Ringkasan</h2><table id="summary"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<h2>Pesan masuk per hari</h2>{_stacked_days(report['volumes'])}
<h2>Tingkat terlayani (respons pertama tepat waktu) per {per}</h2>
{_bars('Tingkat terlayani', served, percent=True)}
<h2>Waktu respons pertama, median (menit kerja)</h2>
{_bars('Median respons pertama', p50, unit=' m')}
<h2>Sebaran waktu respons pertama</h2>
{_distribution(report, 'first_response', 'Sebaran waktu respons pertama')}
<h2>Sebaran waktu penyelesaian</h2>
{_distribution(report, 'resolution', 'Sebaran waktu penyelesaian')}
<h2>Antrean saat ini</h2><table id="backlog"><thead><tr><th>kanal</th><th>umur</th><th>tiket</th>
</tr></thead><tbody>{backlog}</tbody></table>"""


def render(report: Mapping[str, Any]) -> str:
    """The whole report as one self-contained document."""
    return f"""<!doctype html>
<html lang="id"><head><meta charset="utf-8">
<title>Laporan SLA {escape(report['from'])} – {escape(report['to'])}</title>
<style>{STYLE}</style></head>
<body><h1>Laporan SLA</h1>
{render_body(report)}</body></html>
"""
