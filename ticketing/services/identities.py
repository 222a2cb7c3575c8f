"""Use case: staff confirm that an address linked to a citizen only through an identifier
written in a message ("NIK saya ..." from a new address) really is that citizen's, after a check
of their own (a call back on the known number, a document).  Audited; supervisors and admins."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from ticketing.domain.errors import Conflict, NotFound, PermissionDenied
from ticketing.domain.events import IdentityVerified
from ticketing.domain.identity import IdentityKind, mask
from ticketing.services.accounts import Principal, Role
from ticketing.store import claims
from ticketing.store.audit import record

VERIFY_ROLES = (Role.SUPERVISOR, Role.ADMIN)


def verify_identity(conn: sa.Connection, identity_id: int, *, by: Principal, now: dt.datetime,
                    note: str | None = None) -> dict[str, Any]:
    if by.role not in VERIFY_ROLES:
        raise PermissionDenied("only supervisors and admins may verify a claimed identity")
    row = claims.identity(conn, identity_id)
    if row is None:
        raise NotFound(f"no identity {identity_id}")
    if row.claimed_link_at is None:
        raise Conflict(f"identity {identity_id} is not a claim (nothing to verify)")
    claims.verify(conn, identity_id)
    shown = f"{row.kind} {mask(IdentityKind(row.kind), row.value)}"
    record(conn, IdentityVerified(at=now, actor=f"user:{by.user_id}",
                                  customer_id=row.customer_id, identity=shown,
                                  method="staff_check", note=(note or "")[:500] or None))
    return {"identity_id": identity_id, "customer_id": row.customer_id, "verified": True}
