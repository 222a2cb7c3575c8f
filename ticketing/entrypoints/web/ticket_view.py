"""The ticket page's context: the ticket and its related tickets (read in one read-only
transaction), the conversation in the agent's order, the canned replies suggested by topic
and the one chosen filled from the ticket (missing values asked for), the viewers, and the
words for stored values."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from fastapi import Request
from markupsafe import Markup

from ticketing.app import App
from ticketing.domain import canned
from ticketing.domain.lifecycle import ALLOWED, TicketStatus
from ticketing.domain.zones import WIB
from ticketing.services import merging, relations, views
from ticketing.services.accounts import Principal, Role
from ticketing.entrypoints.web import viewing
from ticketing.entrypoints.web.labels import PRIORITY, STATUS
from ticketing.entrypoints.web.templating import N_, language

ORDER_COOKIE = "conversation_order"
DIRECTION = {"in": N_("Warga"), "out": N_("Balasan"), "note": N_("Catatan internal")}
CLOCK = {"running": N_("berjalan"), "paused": N_("dijeda"), "met": N_("terpenuhi"),
         "breached": N_("terlewat")}
DELIVERY = {"pending": N_("menunggu dikirim"), "sending": N_("sedang dikirim"),
            "sent": N_("terkirim"), "failed": N_("gagal dikirim"),
            "reached": N_("telepon balik tersambung"),
            "not_reached": N_("telepon balik tidak tersambung")}
IDENTITY = {"nik": "NIK", "phone": "Telepon", "email": "E-mail", "telegram": "Telegram",
            "instagram": "Instagram", "instagram_username": "Instagram"}


def read(app: App, ticket_id: int, who: Principal) -> tuple[dict[str, Any], dict[str, Any],
                                                            int | None]:
    with app.engine.connect().execution_options(readonly=True) as conn, conn.begin():
        ticket = views.get_ticket(conn, ticket_id, who, capabilities=app.capabilities,
                                  now=app.clock.now())
        related = relations.related_tickets(conn, ticket_id, who)
        mine = views.list_tickets(conn, who, status="new,open", assignee="me", limit=20)
    following = [int(i["ticket_id"]) for i in mine["items"] if int(i["ticket_id"]) != ticket_id]
    return ticket, related, (following[0] if following else None)


def fill_values(ticket: Mapping[str, Any], who: Principal, lang: str) -> dict[str, str]:
    from babel.dates import format_datetime
    import datetime as dt
    values = {"nama": str((ticket.get("customer") or {}).get("name") or ""),
              "nomor_tiket": f"T-{int(ticket['ticket_id']):06d}",
              "topik": str(ticket.get("topic") or ""), "petugas": who.name}
    due = (ticket.get("sla") or {}).get("resolution", {}).get("due_at")
    if due:
        values["batas_waktu"] = format_datetime(dt.datetime.fromisoformat(due),
                                                "d MMMM yyyy HH:mm", tzinfo=WIB,
                                                locale=lang) + " WIB"
    if "*" in values["nama"]:  # masked for this viewer: ask rather than send stars
        values["nama"] = ""
    return values


def context(request: Request, app: App, who: Principal, ticket: dict[str, Any],
            related: dict[str, Any], next_ticket: int | None,
            drafts: Mapping[str, str]) -> dict[str, Any]:
    params = request.query_params
    tid = int(ticket["ticket_id"])
    order = params.get("order") or request.cookies.get(ORDER_COOKIE) or "old"
    order = order if order in ("old", "new") else "old"
    messages = [{**m, "extra_meta": Markup(_extra_meta(m))} for m in ticket.get("messages") or []]
    if order == "new":
        messages.reverse()
    lang = language(request)
    reply_lang = "en" if ticket.get("language") == "en" else "id"
    suggested = canned.suggested(app.canned_replies, ticket.get("topic"))
    chosen = next((r for r in suggested if r.id == params.get("canned")), None)
    missing: list[str] = []
    drafts = dict(drafts)
    if chosen is not None and not drafts.get("reply"):
        values = fill_values(ticket, who, lang)
        values.update({k[2:]: v for k, v in params.items() if k.startswith("v_") and v})
        drafts["reply"], missing = canned.fill(chosen, reply_lang, values)
    status = str(ticket.get("status"))
    try:
        targets = sorted(ALLOWED[TicketStatus(status)], key=list(TicketStatus).index)
    except ValueError:
        targets = []
    classifier = app.evidence_policy.classifier
    viewing.saw(tid, who.email, who.name)
    return {
        "ticket": ticket, "messages": messages, "order": order, "drafts": drafts,
        "seen": max((int(m["id"]) for m in ticket.get("messages") or []), default=0),
        "canned": suggested, "chosen_canned": chosen, "missing": missing,
        "macro_status": chosen.status if chosen else None,
        "macro_topic": chosen.topic if chosen else None,
        "after": [s for s in ("pending_customer", "resolved") if s in targets],
        "targets": [str(s) for s in targets],
        "topics": [(name, classifier.label(name)) for name in classifier.topics],
        "viewers": viewing.others(tid, who.email), "next_ticket": next_ticket,
        "technical": who.role in (Role.SUPERVISOR, Role.ADMIN),
        "can_release": bool(ticket.get("assignee")) and (
            ticket.get("assignee") == who.email or who.role != Role.AGENT),
        "related": _titled(related, classifier), "may_merge": merging.may_merge(who),
        "status_labels": STATUS, "priority_labels": PRIORITY, "direction_labels": DIRECTION,
        "clock_labels": CLOCK, "delivery_labels": DELIVERY, "identity_labels": IDENTITY,
    }


def _extra_meta(m: Mapping[str, Any]) -> str:
    """How a call's speakers got their roles, and a mail sender that may be forged (escaped
    HTML, as the page showed them before the templates)."""
    out = _speaker_roles(m.get("speaker_roles"))
    if m.get("sender_warnings"):
        claimed = (f' mengaku {escape(str(m.get("sender_claimed")))}'
                   if m.get("sender_claimed") else "")
        out += (' · <strong class="sender-warning" title="'
                f'{escape(", ".join(map(str, m["sender_warnings"])))}">'
                f'⚠ pengirim mungkin dipalsukan{claimed}</strong>')
    return out


_ROLE_WAYS = {"stated": "dinyatakan berkas",
              "participant_role": "dinyatakan berkas (ParticipantRole)",
              "labels": "label pembicara", "agent_speaker": "ditentukan saat unggah",
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


def _titled(related: dict[str, Any], classifier: Any) -> dict[str, Any]:
    """The incident's title from its topic and common words only: its stored label is one
    citizen's words and may hold their name."""
    incident = related.get("incident")
    if incident:
        related = {**related, "incident": {**incident, "label": classifier.safe_title(
            incident.get("topic"), str(incident.get("label") or ""))}}
    return related
