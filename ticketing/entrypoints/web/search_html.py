"""The search page's HTML (``/search``): the form, the results of ``services.search`` (already
masked for the viewer's role) with their snippets marked, and paging.  Indonesian first,
English with ``?lang=en``.  Every value from a person or the database goes through
``html.escape``; the marked words are cut by ``domain.search.marks`` and escaped piece by
piece, so a citizen's markup is shown as text, never run."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any
from urllib.parse import urlencode

from ticketing.domain.search import marks
from ticketing.services.accounts import Principal
from ticketing.entrypoints.web.pages import shell

TEXT: Mapping[str, Mapping[str, str]] = {
    "id": {
        "title": "Cari tiket", "label": "Kata, NIK, nomor HP atau e-mail",
        "button": "Cari", "hint": "Cari di subjek, isi pesan dan transkrip telepon. Ejaan "
        "tidak baku (gmn, gk, insentip) ikut dicari dalam bentuk bakunya.",
        "none": "Tidak ada tiket yang cocok.", "found": "{n} tiket cocok",
        "capped": "Masih ada yang cocok: yang terbaru ditampilkan lebih dulu.",
        "found_more": "Lebih dari {n} tiket cocok",
        "identifier": "Tiket warga dengan {kind} {value}",
        "identifier_text": "Belum ada warga dengan {kind} {value}; pesan yang menyebutnya:",
        "prev": "« Sebelumnya", "next": "Berikutnya »", "page": "Halaman {n}",
        "customer": "Warga", "assignee": "Petugas", "nobody": "belum ada",
        "merged": "digabung ke #{n}", "other": "English",
        "nik": "NIK", "phone": "nomor HP", "email": "e-mail",
        "status": "Status", "in": "warga", "out": "balasan", "note": "catatan",
    },
    "en": {
        "title": "Search tickets", "label": "Words, NIK, phone number or e-mail",
        "button": "Search", "hint": "Searches subjects, message bodies and call transcripts. "
        "Informal spellings (gmn, gk, insentip) are searched as their standard words too.",
        "none": "No ticket matches.", "found": "{n} tickets match",
        "capped": "More match: the newest are shown first.",
        "found_more": "More than {n} tickets match",
        "identifier": "Tickets of the citizen with {kind} {value}",
        "identifier_text": "No citizen has {kind} {value} yet; messages that mention it:",
        "prev": "« Previous", "next": "Next »", "page": "Page {n}",
        "customer": "Citizen", "assignee": "Agent", "nobody": "nobody yet",
        "merged": "merged into #{n}", "other": "Bahasa Indonesia",
        "nik": "NIK", "phone": "phone", "email": "e-mail",
        "status": "Status", "in": "citizen", "out": "reply", "note": "note",
    },
}
STYLE = """#search-form input[type=search]{width:24rem;max-width:90%}
ol#results{padding-left:1.5rem}ol#results li{margin:.6rem 0}
.snippet{color:#333;margin:.2rem 0}.snippet mark{background:#ff6;padding:0}
.meta{color:#555;font-size:.9em}nav.paging a{margin-right:1rem}"""


def language(value: str | None) -> str:
    return "en" if value == "en" else "id"


def _marked(text: str, words: list[str]) -> str:
    return "".join(f"<mark>{escape(piece)}</mark>" if hit else escape(piece)
                   for piece, hit in marks(text, words))


def _link(q: str, page: int, lang: str) -> str:
    params: dict[str, str | int] = {"q": q, "page": page}
    if lang != "id":
        params["lang"] = lang
    return escape("/search?" + urlencode(params))


def _item(item: Mapping[str, Any], words: list[str], t: Mapping[str, str]) -> str:
    tid = int(item["ticket_id"])
    merged = (f' · {escape(t["merged"].format(n=int(item["merged_into"])))}'
              if item.get("merged_into") else "")
    message = item.get("message") or {}
    snippet = (f'<p class="snippet">{_marked(str(message.get("snippet") or ""), words)}</p>'
               if message else "")
    who = t.get(str(message.get("direction")), "") if message else ""
    return (f'<li data-ticket="{tid}"><a href="/tickets/{tid}">#{tid}</a> '
            f'<strong>{escape(str(item.get("subject") or "—"))}</strong>{merged}{snippet}'
            f'<p class="meta">{escape(t["status"])}: {escape(str(item.get("status")))} · '
            f'{escape(str(item.get("channel")))} · {escape(str(item.get("topic") or "—"))} · '
            f'{escape(t["customer"])}: {escape(str(item.get("customer_name") or "—"))} · '
            f'{escape(t["assignee"])}: {escape(str(item.get("assignee") or t["nobody"]))}'
            f'{" · " + escape(who) if who else ""}</p></li>')


def search_page(*, who: Principal, q: str, lang: str, result: Mapping[str, Any] | None,
                error: str | None = None) -> str:
    t = TEXT[language(lang)]
    other = "en" if lang == "id" else "id"
    form = (f'<form method="get" action="/search" id="search-form" role="search">'
            f'<label>{escape(t["label"])} <input type="search" name="q" value="{escape(q)}" '
            f'maxlength="200" autofocus></label>'
            + (f'<input type="hidden" name="lang" value="{escape(lang)}">' if lang != "id"
               else "")
            + f' <button type="submit">{escape(t["button"])}</button></form>'
            f'<p class="meta">{escape(t["hint"])} · <a id="lang-switch" '
            f'href="{_link(q, 1, other) if q else "/search?lang=" + other}">'
            f'{escape(t["other"])}</a></p>')
    body = form
    if error:
        body += f'<p class="error" role="alert">{escape(error)}</p>'
    elif result is not None and result["kind"] != "empty":
        body += _results(result, q, lang, t)
    page = shell(t["title"], body, who=who, style=STYLE)
    return page.replace('<html lang="id">', f'<html lang="{language(lang)}">', 1)


def _results(result: Mapping[str, Any], q: str, lang: str, t: Mapping[str, str]) -> str:
    out = ""
    ident = result.get("identifier")
    if ident:
        key = "identifier_text" if result["kind"] == "identifier_text" else "identifier"
        said = t[key].format(kind=t.get(ident["kind"], ident["kind"]), value=ident["value"])
        out += f'<p id="identifier">{escape(said)}</p>'
    words = list(result.get("terms") or [])
    items = result.get("items") or []
    if not items:
        return out + f'<p id="no-results">{escape(t["none"])}</p>'
    found = t["found_more" if result.get("capped") else "found"]
    out += f'<p id="found">{escape(found.format(n=int(result["total"])))}</p>'
    if result.get("capped"):
        out += f'<p class="meta" id="capped">{escape(t["capped"])}</p>'
    out += '<ol id="results">' + "".join(_item(i, words, t) for i in items) + "</ol>"
    page = int(result["page"])
    links = []
    if page > 1:
        links.append(f'<a id="prev" href="{_link(q, page - 1, lang)}">{escape(t["prev"])}</a>')
    links.append(f'<span>{escape(t["page"].format(n=page))}</span>')
    if result.get("has_more"):
        links.append(f'<a id="next" href="{_link(q, page + 1, lang)}">{escape(t["next"])}</a>')
    return out + '<nav class="paging">' + "".join(links) + "</nav>"
