"""Words the pages show for stored values (Indonesian, the source language; the templates pass
them through gettext for English)."""

from __future__ import annotations

from ticketing.entrypoints.web.templating import N_

STATUS = {"new": N_("baru"), "open": N_("dibuka"), "pending_customer": N_("menunggu warga"),
          "resolved": N_("selesai"), "closed": N_("ditutup")}
PRIORITY = {"low": N_("rendah"), "normal": N_("normal"), "high": N_("tinggi"),
            "urgent": N_("mendesak")}
