"""Agent profiles: what routing needs to know of a staff member beyond the account — the teams
(queues) they work, their capacity per channel, and their presence kept by heartbeats.

Skills (topics) and languages stay on ``users``; a user without a profile row is offline with
the configured default capacity."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, BigId, Json


class AgentProfile(Base):
    __tablename__ = "agent_profiles"

    user_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), primary_key=True)
    teams: Mapped[list[str]] = mapped_column(Json, default=list)  # empty: every team
    capacity: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)  # channel → tickets
    status: Mapped[str] = mapped_column(sa.String(10))  # online / away / offline
    status_changed_at: Mapped[dt.datetime]
    last_heartbeat_at: Mapped[dt.datetime | None]
    # Round robin: the agent given a ticket longest ago goes next.
    last_assigned_at: Mapped[dt.datetime | None]
    # Bumped by every claim, assignment and profile change: a claim succeeds only if nothing
    # changed the agent since it read the profile (optimistic, no lock held between the two).
    claim_seq: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    updated_at: Mapped[dt.datetime]
