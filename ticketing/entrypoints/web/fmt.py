"""Small formatting shared by the agents' pages: status names, times in WIB, text that may be
empty, links to tickets.  Everything returned is HTML-escaped."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from ticketing.domain.zones import WIB

STATUS = {"new": "baru", "open": "dibuka", "pending_customer": "menunggu warga",
          "resolved": "selesai", "closed": "ditutup"}


def when(value: str | None) -> str:
    """An ISO time from a use case, as WIB for people (escaped: it is text)."""
    if not value:
        return "—"
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return escape(value)
    return escape(moment.astimezone(WIB).strftime("%d-%m-%Y %H:%M") + " WIB")


def text(value: Any) -> str:
    return escape(str(value)) if value not in (None, "") else "—"


def ticket_link(ticket_id: Any) -> str:
    number = int(ticket_id)
    return f'<a href="/tickets/{number}">#{number}</a>'
