"""The staff pages' HTML still built in Python: the shell of a bare report document, the
locked accounts section and the SLA report page (form, download links, and the report's own sections from ``report_html``).

Every value that comes from a person (a name, an address, a topic, a query parameter) goes
through ``html.escape``; the only script is our own live-updates file, and the pages read
without it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import urlencode

from ticketing.services.accounts import Principal
from ticketing.entrypoints.web.report_html import STYLE, render_body
from ticketing.entrypoints.web.session import REPORT_ROLES, WORK_ROLES

GROUP_LABELS = {"channel": "kanal", "topic": "topik", "day": "hari", "agent": "agen",
                "team": "tim"}
FORM_STYLE = """form.inline{display:inline}label{margin-right:1rem}
.error{color:#a00;font-weight:600}.notice{color:#060;font-weight:600}
body>header{display:flex;gap:1rem;align-items:baseline;
justify-content:space-between;border-bottom:1px solid #ccc;margin-bottom:1rem}
nav a{margin-right:1rem}"""
NAV = (("/queue", "Antrian", WORK_ROLES), ("/search", "Cari", (*WORK_ROLES, *REPORT_ROLES)),
       ("/reports/sla", "Laporan SLA", REPORT_ROLES))
# The live updates (``live.py``): new tickets, citizens' messages, tickets taken, the
# notification badge, on every signed-in page.
LIVE_SCRIPT = '<script src="/static/live.js" defer></script>'



def nav(who: Principal) -> str:
    links = "".join(f'<a href="{href}">{label}</a>' for href, label, roles in NAV
                    if who.role in roles)
    return f'<nav id="nav">{links}</nav>'


def shell(title: str, body: str, *, who: Principal | None = None, style: str = "") -> str:
    account = links = ""
    if who is not None:
        links = nav(who)
        account = (f'<span id="account">{escape(who.name)} ({escape(who.email)}, '
                   f'{escape(str(who.role))})</span><form class="inline" method="post" '
                   'action="/logout"><button type="submit">Keluar</button></form>')
    script = LIVE_SCRIPT if who is not None else ""
    return f"""<!doctype html>
<html lang="id"><head><meta charset="utf-8">{script}
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{STYLE}
{FORM_STYLE}
{style}</style></head>
<body><header><h1>{escape(title)}</h1>{links}<div>{account}</div></header>
{body}</body></html>
"""


def _options(selected: str, groups: Sequence[str]) -> str:
    return "".join(f'<option value="{escape(g)}"{" selected" if g == selected else ""}>'
                   f"{escape(GROUP_LABELS.get(g, g))}</option>" for g in groups)


def locked_section(locked: Sequence[Mapping[str, Any]], notice: str | None = None) -> str:
    """Accounts locked after failed sign-ins, each with its unlock button (supervisors and
    admins; the report page carries it, being their start page)."""
    done = f'<p class="notice" role="status">{escape(notice)}</p>' if notice else ""
    if not locked:
        return done
    rows = "".join(
        f'<li>{escape(str(a["name"]))} ({escape(str(a["email"]))}): {int(a["failures"])} kali '
        f'gagal masuk <form class="inline" method="post" action="/users/unlock">'
        f'<input type="hidden" name="email" value="{escape(str(a["email"]))}">'
        f'<button type="submit">Buka kunci</button></form></li>' for a in locked)
    return (f'{done}<section id="locked-accounts"><h2>Akun terkunci</h2>'
            f'<p>Akun ini dikunci setelah terlalu banyak percobaan masuk yang gagal; '
            f'pemiliknya tidak bisa masuk sampai Anda membuka kuncinya.</p><ul>{rows}</ul>'
            f'</section>')


def report_page(*, who: Principal, start: dt.date, end: dt.date, group_by: str,
                groups: Sequence[str], report: Mapping[str, Any] | None,
                error: str | None = None, top: str = "", bare: bool = False) -> str:
    """``top``: what comes before the report (``locked_section``); ``bare``: the page's body
    only (for the ``report.html`` template), not a whole document."""
    form = top + f"""<form method="get" action="/reports/sla" id="report-form">
<label>Dari <input type="date" name="from" value="{start.isoformat()}" required></label>
<label>Sampai <input type="date" name="to" value="{end.isoformat()}" required></label>
<label>Per <select name="group_by">{_options(group_by, groups)}</select></label>
<button type="submit">Tampilkan</button></form>"""
    if error:
        inner = form + f'<p class="error" role="alert">{escape(error)}</p>'
        return inner if bare else shell("Laporan SLA", inner, who=who)
    query = {"from": start.isoformat(), "to": end.isoformat(), "group_by": group_by}
    links = " · ".join(
        f'<a id="download-{fmt}" download '
        f'href="{escape("/reports/sla?" + urlencode({**query, "format": fmt}))}">'
        f"Unduh {fmt.upper()}</a>" for fmt in ("csv", "json"))
    assert report is not None
    inner = f"{form}<p>{links}</p>\n{render_body(report, links=True)}"
    return inner if bare else shell("Laporan SLA", inner, who=who)
