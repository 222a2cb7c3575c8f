"""Web sessions are rows of api_tokens: valid for a working day, revoked at logout, never
usable as API tokens (and API tokens never open a session)."""

from __future__ import annotations

import datetime as dt

from ticketing.app import App
from ticketing.services import accounts
from ticketing.services.clock import FixedClock


def test_session_lifetime_logout_and_separation_from_api_tokens(app: App,
                                                                 clock: FixedClock) -> None:
    with app.engine.begin() as conn:
        uid = accounts.create_user(conn, email="spv@example.id", name="Spv", role="supervisor",
                                   password="kata-sandi-rahasia", clock=clock)
        api_token = accounts.create_token(conn, email="spv@example.id", clock=clock)
        session = accounts.create_session(conn, user_id=uid, now=clock.now())
    later = clock.now() + accounts.SESSION_LIFETIME - dt.timedelta(seconds=1)
    with app.engine.begin() as conn:
        who = accounts.authenticate_session(conn, session, now=later)
        assert who is not None and who.email == "spv@example.id"
        assert accounts.authenticate_session(conn, session,
                                             now=later + dt.timedelta(seconds=2)) is None
        assert accounts.authenticate_token(conn, session) is None
        assert accounts.authenticate_session(conn, api_token, now=later) is None
        assert accounts.authenticate_token(conn, api_token) is not None
        accounts.end_session(conn, session, now=later)
        assert accounts.authenticate_session(conn, session, now=later) is None


def test_unknown_address_and_wrong_password_both_fail(app: App, clock: FixedClock) -> None:
    with app.engine.begin() as conn:
        accounts.create_user(conn, email="spv@example.id", name="Spv", role="supervisor",
                             password="kata-sandi-rahasia", clock=clock)
        assert accounts.authenticate_password(conn, "spv@example.id", "salah") is None
        assert accounts.authenticate_password(conn, "tidak@example.id", "salah") is None
        assert accounts.authenticate_password(conn, " SPV@example.id ",
                                              "kata-sandi-rahasia") is not None
