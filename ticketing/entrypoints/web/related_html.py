"""The ticket page's parts about other tickets and the topic: the related section (the incident
cluster, suggested duplicates, possible same citizen, each with its score and links), the
supervisors' merge and unmerge forms, and the topic correction form.

Input is ``relations.related_tickets`` (subjects already masked for agents) and the configured
topics.  Every value from a citizen or a user goes through ``html.escape``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from ticketing.services.accounts import Principal
from ticketing.entrypoints.web.fmt import STATUS, when
from ticketing.entrypoints.web.fmt import text as _text
from ticketing.entrypoints.web.fmt import ticket_link as _link
from ticketing.entrypoints.web.session import MERGE_ROLES

REASON = {"same customer": "warga yang sama", "similar name": "nama mirip",
          "similar name, same topic": "nama mirip, topik sama"}


def may_merge(who: Principal) -> bool:
    return who.role in MERGE_ROLES


def _score(value: Any) -> str:
    score = float(value or 0)
    return f'<td class="score" data-score="{score:.3f}">{score:.2f}</td>'


def _incident(incident: Mapping[str, Any] | None) -> str:
    if not incident:
        return ""
    rows = "".join(
        f'<tr data-ticket="{int(r["ticket_id"])}"><td>{_link(r["ticket_id"])}</td>'
        f'<td>{_text(r.get("subject"))}</td>'
        f'<td>{_text(STATUS.get(str(r.get("status")), r.get("status")))}</td>'
        f'{_score(r.get("score"))}</tr>' for r in incident.get("tickets") or [])
    table = ('<table id="incident-tickets"><thead><tr><th>Tiket</th><th>Subjek</th>'
             f'<th>Status</th><th>Skor</th></tr></thead><tbody>{rows}</tbody></table>'
             if rows else "<p>Tidak ada tiket lain dalam insiden ini.</p>")
    return (f'<div id="incident" data-incident="{int(incident["incident_id"])}"><h3>Insiden '
            f'#{int(incident["incident_id"])}</h3><p>Keluhan serupa dari warga lain '
            f'(topik {_text(incident.get("topic"))}, <span id="incident-count">'
            f'{int(incident.get("ticket_count") or 0)}</span> tiket, pertama '
            f'{when(incident.get("first_seen_at"))}, terakhir '
            f'{when(incident.get("last_seen_at"))}): <q class="label">'
            f'{_text(incident.get("label"))}</q>. Tidak digabung: tiap warga dijawab sendiri.'
            f'</p>{table}</div>')


def _merge_button(tid: int, source: int) -> str:
    return (f'<form method="post" action="/tickets/{tid}/merge" class="inline merge-form">'
            f'<input type="hidden" name="source" value="{source}">'
            '<button type="submit">Gabungkan ke tiket ini</button></form>')


def _duplicates(tid: int, items: Sequence[Mapping[str, Any]], can_merge: bool) -> str:
    if not items:
        return ""
    rows = "".join(
        f'<tr data-ticket="{int(d["ticket_id"])}"><td>{_link(d["ticket_id"])}</td>'
        f'<td>{_text(d.get("subject"))}</td><td>{_text(d.get("topic"))}</td>'
        f'<td>{_text(STATUS.get(str(d.get("status")), d.get("status")))}</td>'
        f'{_score(d.get("score"))}'
        + (f'<td>{_merge_button(tid, int(d["ticket_id"]))}</td>' if can_merge else "")
        + "</tr>" for d in items)
    return ('<div id="duplicates"><h3>Kemungkinan duplikat (warga yang sama)</h3>'
            '<table><thead><tr><th>Tiket</th><th>Subjek</th><th>Topik</th><th>Status</th>'
            f'<th>Skor</th>{"<th></th>" if can_merge else ""}</tr></thead>'
            f'<tbody>{rows}</tbody></table></div>')


def _same_citizen(items: Sequence[Mapping[str, Any]]) -> str:
    if not items:
        return ""
    rows = "".join(
        f'<li data-customer="{int(s["customer_id"])}"><span class="name">'
        f'{_text(s.get("name"))}</span> · skor <span class="score">'
        f'{float(s.get("score") or 0):.2f}</span> · '
        f'{_text(REASON.get(str(s.get("reason")), s.get("reason")))}'
        + (f' · tiket {_link(s["ticket_id"])}' if s.get("ticket_id") else "") + "</li>"
        for s in items)
    return ('<div id="same-citizen"><h3>Mungkin warga yang sama</h3><p>Sinyal lemah: periksa '
            f'identitasnya sebelum menggabungkan data warga.</p><ul>{rows}</ul></div>')


def related_section(*, ticket: Mapping[str, Any], related: Mapping[str, Any] | None,
                    who: Principal) -> str:
    """The related tickets; merge buttons only for supervisors on a ticket not merged away."""
    if related is None:
        return ""
    tid = int(ticket["ticket_id"])
    merged = bool((ticket.get("links") or {}).get("merged_into"))
    parts = (_incident(related.get("incident"))
             + _duplicates(tid, related.get("duplicates") or [], may_merge(who) and not merged)
             + _same_citizen(related.get("possible_same_citizen") or []))
    return ('<section id="related"><h2>Tiket terkait</h2>'
            + (parts or '<p id="related-empty">Tidak ada tiket terkait.</p>') + "</section>")


def unmerge_form(ticket: Mapping[str, Any], who: Principal) -> str:
    into = (ticket.get("links") or {}).get("merged_into")
    if not into or not may_merge(who):
        return ""
    return (f'<form method="post" action="/tickets/{int(ticket["ticket_id"])}/unmerge" '
            'id="unmerge-form"><button type="submit">Batalkan penggabungan ke '
            f'#{int(into)}</button></form>')


def topic_form(ticket: Mapping[str, Any], topics: Sequence[tuple[str, str]]) -> str:
    """A select of the configured topics (label and name), the current one selected."""
    if not topics or (ticket.get("links") or {}).get("merged_into"):
        return ""
    current = str(ticket.get("topic") or "")
    options = "".join(
        f'<option value="{escape(name)}"{" selected" if name == current else ""}>'
        f"{escape(label)} ({escape(name)})</option>" for name, label in topics)
    return (f'<form method="post" action="/tickets/{int(ticket["ticket_id"])}/topic" '
            'id="topic-form"><h3>Koreksi topik</h3><p><label>Topik <select name="topic" '
            f'required>{options}</select></label> <button type="submit">Ubah topik</button>'
            '</p></form>')
