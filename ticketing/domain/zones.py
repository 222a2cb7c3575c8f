"""The desk's time zone, defined once: WIB (``Asia/Jakarta``).  Indonesia has no daylight saving
time, so the zone and a fixed ``+07:00`` give the same wall clock, the same ISO 8601 offset and
the same ``%Z`` ("WIB") for any time since 1964 (before it Jakarta used other offsets)."""

from __future__ import annotations

from typing import Final
from zoneinfo import ZoneInfo

WIB: Final = ZoneInfo("Asia/Jakarta")
