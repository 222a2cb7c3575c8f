"""The agents' pages' HTML: the queue (claim next, what waits for me, my tickets) and one ticket
(header, citizen, the conversation across channels, and the forms to reply, note, change the
status and release).

Input is what the read use cases return (``routing.waiting_for``, ``views.list_tickets``,
``views.get_ticket``), already masked for the viewer's role.  Every value from a citizen or a
user goes through ``html.escape``; the pages carry no script at all."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from ticketing.domain.lifecycle import ALLOWED, TicketStatus
from ticketing.services.accounts import Principal, Role
from ticketing.entrypoints.web import related_html, reply_html
from ticketing.entrypoints.web.fmt import STATUS, when
from ticketing.entrypoints.web.fmt import text as _text
from ticketing.entrypoints.web.fmt import ticket_link as _ticket_link
from ticketing.entrypoints.web.pages import shell

PRIORITY = {"low": "rendah", "normal": "normal", "high": "tinggi", "urgent": "mendesak"}
CLOCK = {"running": "berjalan", "paused": "dijeda", "met": "terpenuhi", "breached": "terlewat"}
DIRECTION = {"in": "Warga", "out": "Balasan", "note": "Catatan internal"}
DELIVERY = {"pending": "menunggu dikirim", "sending": "sedang dikirim", "sent": "terkirim",
            "failed": "gagal dikirim", "reached": "telepon balik tersambung",
            "not_reached": "telepon balik tidak tersambung"}
IDENTITY = {"nik": "NIK", "phone": "Telepon", "email": "E-mail", "telegram": "Telegram",
            "instagram": "Instagram", "instagram_username": "Nama pengguna Instagram"}
STYLE = """.body{white-space:pre-wrap;overflow-wrap:anywhere;margin:.25rem 0}
.msg{border:1px solid #ccc;border-radius:4px;padding:.5rem .75rem;margin:.5rem 0}
.msg-in{background:#fff}.msg-out{background:#eef5ff;margin-left:2rem}
.msg-note{background:#fff8d6;border-style:dashed;margin-left:2rem}.meta{color:#444;font-size:.9rem}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dl.facts dd{margin:0}
textarea{width:100%;max-width:48rem}section{margin-bottom:1.5rem}
.breached{color:#a00;font-weight:600}
#waiting td,#waiting th,#mine td,#mine th{text-align:left}
.failed{color:#a00;font-weight:600}#reply-channels{list-style:none;padding-left:0}
.impossible{color:#777}.reason{color:#555;font-size:.9rem}"""


def _label(labels: Mapping[str, str], value: Any) -> str:
    return escape(labels.get(str(value), str(value)) if value is not None else "—")


def _page(title: str, body: str, who: Principal) -> str:
    return shell(title, body, who=who, style=STYLE)


def _alerts(notice: str | None, error: str | None) -> str:
    out = f'<p class="notice" id="notice" role="status">{escape(notice)}</p>' if notice else ""
    if error:
        out += f'<p class="error" id="error" role="alert">{escape(error)}</p>'
    return out


def _failed_flag(item: Mapping[str, Any]) -> str:
    """A reply to this citizen failed for good and none reached them since."""
    return (' <span class="failed reply-failed">balasan gagal terkirim</span>'
            if item.get("reply_failed_at") else "")


def _load(waiting: Mapping[str, Any]) -> str:
    capacity: Mapping[str, int] = waiting.get("capacity") or {}
    load: Mapping[str, int] = waiting.get("load") or {}
    parts = [f"{escape(ch)} {int(load.get(ch, 0))}/{int(cap)}"
             for ch, cap in sorted(capacity.items())]
    return f'<p id="load">Beban per kanal: {", ".join(parts) or "—"}</p>'


def queue_page(*, who: Principal, waiting: Mapping[str, Any], mine: Mapping[str, Any],
               notice: str | None = None, error: str | None = None) -> str:
    rows = "".join(
        f'<tr data-ticket="{int(i["ticket_id"])}"><td>{_ticket_link(i["ticket_id"])}'
        f'{_failed_flag(i)}</td>'
        f'<td>{_text(i.get("subject"))}</td><td>{_text(i.get("topic"))}</td>'
        f'<td>{_text(i.get("channel"))}</td><td>{_label(PRIORITY, i.get("priority"))}</td>'
        f'<td>{_text(i.get("team"))}</td><td>{when(i.get("queue_due_at"))}</td></tr>'
        for i in waiting["items"])
    waiting_table = (
        '<table id="waiting"><thead><tr><th>Tiket</th><th>Subjek</th><th>Topik</th>'
        '<th>Kanal</th><th>Prioritas</th><th>Tim</th><th>Batas SLA</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>" if rows else
        '<p id="waiting-empty">Tidak ada tiket yang menunggu untuk Anda.</p>')
    full = "" if waiting.get("can_claim", True) else (
        '<p id="full">Anda belum bisa mengambil tiket baru: kapasitas kanal Anda penuh '
        "atau profil Anda tidak punya tim/kanal.</p>")
    mine_rows = "".join(
        f'<tr data-ticket="{int(i["ticket_id"])}"><td>{_ticket_link(i["ticket_id"])}'
        f'{_failed_flag(i)}</td>'
        f'<td>{_text(i.get("subject"))}</td><td>{_label(STATUS, i.get("status"))}</td>'
        f'<td>{_text(i.get("topic"))}</td><td>{_text(i.get("channel"))}</td>'
        f'<td>{_label(PRIORITY, i.get("priority"))}</td>'
        f'<td>{when(i.get("first_response_due_at"))}</td>'
        f'<td>{when(i.get("resolution_due_at"))}</td></tr>' for i in mine["items"])
    mine_table = (
        '<table id="mine"><thead><tr><th>Tiket</th><th>Subjek</th><th>Status</th><th>Topik</th>'
        '<th>Kanal</th><th>Prioritas</th><th>Batas respons pertama</th>'
        f"<th>Batas penyelesaian</th></tr></thead><tbody>{mine_rows}</tbody></table>"
        if mine_rows else '<p id="mine-empty">Belum ada tiket yang ditugaskan kepada Anda.</p>')
    more = ('<p>Hanya tiket terbaru yang ditampilkan.</p>' if mine.get("next_cursor") else "")
    body = f"""{_alerts(notice, error)}
<section><form method="post" action="/queue/claim" id="claim-form">
<button type="submit">Ambil tiket berikutnya</button></form>{full}{_load(waiting)}</section>
<section><h2>Menunggu di antrean</h2>
<p>Tiket yang bisa Anda ambil, paling mendesak lebih dulu (batas SLA dalam WIB).</p>
{waiting_table}</section>
<section><h2>Tiket saya</h2>{mine_table}{more}</section>"""
    return _page("Antrian", body, who)


def _attachment(tid: int, mid: int, n: int, a: Mapping[str, Any]) -> str:
    name = _text(a.get("filename") or "lampiran")
    if a.get("stored") and a.get("sha256"):
        name = (f'<a class="download" download '
                f'href="/tickets/{tid}/messages/{mid}/attachments/{n}">{name}</a>')
    return (f'<li>{name} ({_text(a.get("content_type"))}, {int(a.get("size") or 0):,} bita'
            f'{"" if a.get("stored") else ", tidak disimpan"})</li>')


def _attachments(tid: int, message: Mapping[str, Any]) -> str:
    items: Sequence[Mapping[str, Any]] = message.get("attachments") or []
    if not items:
        return ""
    shown = "".join(_attachment(tid, int(message["id"]), n, a) for n, a in enumerate(items))
    return f'<p class="meta">Lampiran:</p><ul class="attachments">{shown}</ul>'


def _message(tid: int, m: Mapping[str, Any]) -> str:
    direction = str(m.get("direction"))
    delivery = m.get("delivery") or {}
    sent = f' · {_label(DELIVERY, delivery.get("status"))}' if delivery else ""
    if delivery.get("status") == "failed":
        sent = f' · <strong class="failed">{_label(DELIVERY, "failed")}</strong>'
    if delivery.get("error"):
        sent += f' ({_text(delivery["error"])})'
    full = ""
    if m.get("full_text") and m.get("full_text") != m.get("body"):
        full = ('<details><summary>Teks lengkap (kutipan, tanda tangan)</summary>'
                f'<div class="body">{escape(str(m["full_text"]))}</div></details>')
    auto = ' · <strong>pesan otomatis</strong>' if m.get("automated") else ""
    if m.get("sender_source") == "envelope":
        auto += (' · <span class="envelope-sender" title="Surel tanpa kepala From:">'
                 'pengirim dari amplop SMTP</span>')
    auto += _speaker_roles(m.get("speaker_roles"))
    if m.get("sender_warnings"):
        claimed = f' mengaku {_text(m.get("sender_claimed"))}' if m.get("sender_claimed") else ""
        auto += (' · <strong class="sender-warning" title="'
                 f'{escape(", ".join(map(str, m["sender_warnings"])))}">'
                 f'⚠ pengirim mungkin dipalsukan{claimed}</strong>')
    return (f'<article class="msg msg-{escape(direction)}" id="m-{int(m["id"])}" '
            f'data-direction="{escape(direction)}"><div class="meta">'
            f'<strong>{_label(DIRECTION, direction)}</strong> · {_text(m.get("channel"))} · '
            f'<time datetime="{escape(str(m.get("sent_at") or ""))}">{when(m.get("sent_at"))}'
            f'</time> · {_text(m.get("author"))}{sent}{auto}</div>'
            + (f'<div class="meta">Subjek: {escape(str(m["subject"]))}</div>'
               if m.get("subject") and direction == "in" else "")
            + f'<div class="body">{escape(str(m.get("body") or ""))}</div>'
            f"{_attachments(tid, m)}{full}</article>")


_ROLE_WAYS = {"stated": "dinyatakan berkas",
              "participant_role": "dinyatakan berkas (ParticipantRole)", "labels": "label pembicara", "agent_speaker": "ditentukan saat unggah",
              "channel_roles": "pemetaan kanal audio", "agent_names": "nama petugas",
              "other_speaker": "pembicara lain", "content": "ditebak dari isi percakapan"}


def _speaker_roles(report: Any) -> str:
    """How a call's speakers got their roles; a guess from the content is shown plainly."""
    if not isinstance(report, Mapping):
        return ""
    who = ", ".join(f'{escape(str(s.get("speaker")))} → '
                    f'{"petugas" if s.get("role") == "agent" else "penelepon"}'
                    for s in report.get("speakers") or [] if isinstance(s, Mapping))
    way = escape(_ROLE_WAYS.get(str(report.get("method")), str(report.get("method"))))
    if report.get("inferred"):
        return (f' · <strong class="roles-inferred" title="{who}">peran pembicara ditebak dari '
                f'isi percakapan: {who}</strong>')
    return f' · <span class="roles" title="{who}">peran pembicara: {way}</span>'


def _clock(name: str, clock: Mapping[str, Any]) -> str:
    state = clock.get("state")
    css = ' class="breached"' if state == "breached" else ""
    return (f"<dt>{name}</dt><dd{css}>{_label(CLOCK, state)} · batas "
            f"{when(clock.get('due_at'))}</dd>")


def _header(t: Mapping[str, Any]) -> str:
    sla = t.get("sla") or {}
    return f"""<dl class="facts" id="facts">
<dt>Status</dt><dd id="status">{_label(STATUS, t.get("status"))}</dd>
<dt>Prioritas</dt><dd id="priority">{_label(PRIORITY, t.get("priority"))}</dd>
<dt>Topik</dt><dd id="topic">{_text(t.get("topic"))}</dd>
<dt>Kanal</dt><dd id="channel">{_text(t.get("channel"))}</dd>
<dt>Tim</dt><dd id="team">{_text(t.get("team"))}</dd>
<dt>Petugas</dt><dd id="assignee">{_text(t.get("assignee"))}</dd>
{_clock("SLA respons pertama", sla.get("first_response") or {})}
<dt>Respons berikutnya</dt><dd>batas {when((sla.get("next_response") or {}).get("due_at"))}</dd>
{_clock("SLA penyelesaian", sla.get("resolution") or {})}{_failed_fact(t)}
<dt>Dibuat</dt><dd>{when(t.get("created_at"))}</dd></dl>"""


def _failed_fact(t: Mapping[str, Any]) -> str:
    if not t.get("reply_failed_at"):
        return ""
    return ('<dt>Pengiriman</dt><dd class="failed" id="reply-failed">balasan gagal terkirim '
            f'({when(t.get("reply_failed_at"))}); SLA tetap berjalan</dd>')


def _citizen(customer: Mapping[str, Any]) -> str:
    idents = "".join(
        f'<li data-kind="{escape(str(i.get("kind")))}">{_label(IDENTITY, i.get("kind"))}: '
        f'<span class="value">{_text(i.get("value"))}</span>'
        + (' <em class="claimed">(hanya diklaim di pesan, belum diverifikasi)</em>'
           if i.get("claimed") else "")
        + (f' <em class="unreachable">(tidak bisa dihubungi: {_text(i.get("unreachable"))})</em>'
           if i.get("unreachable") else "") + '</li>'
        for i in customer.get("identities") or [])
    return (f'<section id="citizen"><h2>Warga</h2><p>Nama: <strong id="citizen-name">'
            f'{_text(customer.get("name"))}</strong></p>'
            f'<ul id="identities">{idents or "<li>Belum ada identitas.</li>"}</ul></section>')


def _links(t: Mapping[str, Any]) -> str:
    links = t.get("links") or {}
    out = ""
    if links.get("merged_into"):
        out += (f'<p class="error" id="merged">Tiket ini digabung ke '
                f'{_ticket_link(links["merged_into"])}; kerjakan di sana.</p>')
    if links.get("duplicates"):
        out += ("<p>Tiket yang digabung ke sini: "
                + ", ".join(_ticket_link(d) for d in links["duplicates"]) + "</p>")
    return out


def _forms(t: Mapping[str, Any], who: Principal, drafts: Mapping[str, str],
           topics: Sequence[tuple[str, str]]) -> str:
    tid = int(t["ticket_id"])
    status = str(t.get("status"))
    try:
        targets = sorted(ALLOWED[TicketStatus(status)], key=list(TicketStatus).index)
    except ValueError:
        targets = []
    after = "".join(f'<option value="{s}">{STATUS[s]}</option>'
                    for s in ("pending_customer", "resolved") if s in targets)
    answers = t.get("reply_options") or {}
    reply = "" if status == TicketStatus.CLOSED else (
        reply_html.reply_form(tid, answers, draft=drafts.get("reply", ""), after=after)
        + reply_html.call_back_form(tid, answers, draft=drafts.get("callback", "")))
    note = f"""
<form method="post" action="/tickets/{tid}/note" id="note-form"><h3>Catatan internal</h3>
<p><textarea name="body" rows="3" required maxlength="100000"
aria-label="Catatan">{escape(drafts.get("note", ""))}</textarea></p>
<p><button type="submit">Simpan catatan</button></p></form>"""
    options = "".join(f'<option value="{s}">{STATUS[s]}</option>' for s in targets)
    change = (f"""
<form method="post" action="/tickets/{tid}/status" id="status-form"><h3>Ubah status</h3>
<p><label>Status baru <select name="status" required>{options}</select></label>
<button type="submit">Ubah status</button></p></form>""" if options
              else "<p>Status tiket ini tidak bisa diubah lagi.</p>")
    mine = t.get("assignee") == who.email
    release = (f"""
<form method="post" action="/tickets/{tid}/release" id="release-form">
<button type="submit">Kembalikan ke antrean</button></form>"""
               if t.get("assignee") and (mine or who.role != Role.AGENT) else "")
    return (f'<section id="actions"><h2>Tindakan</h2>{reply}{note}{change}'
            f'{related_html.topic_form(t, topics)}{release}'
            f'{related_html.unmerge_form(t, who)}</section>')


def ticket_page(*, who: Principal, ticket: Mapping[str, Any], notice: str | None = None,
                error: str | None = None, drafts: Mapping[str, str] | None = None,
                related: Mapping[str, Any] | None = None,
                topics: Sequence[tuple[str, str]] = ()) -> str:
    tid = int(ticket["ticket_id"])
    messages = "".join(_message(tid, m) for m in ticket.get("messages") or [])
    body = f"""{_alerts(notice, error)}<p><a href="/queue">← Antrian</a></p>
<h2 id="subject">{_text(ticket.get("subject"))}</h2>{_links(ticket)}{_header(ticket)}
{_citizen(ticket.get("customer") or {})}
<section id="conversation"><h2>Percakapan</h2>
{messages or "<p>Belum ada pesan.</p>"}</section>
{related_html.related_section(ticket=ticket, related=related, who=who)}
{_forms(ticket, who, drafts or {}, topics)}"""
    return _page(f"Tiket #{tid}", body, who)
