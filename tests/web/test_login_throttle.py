"""Signing in, tried as an attacker would: wrong passwords are answered at once a few times,
then only after growing waits (429 with Retry-After), then the account is locked (423) and the
right password does not get in until a supervisor or admin unlocks it (page, API, CLI).  An
unknown address is answered exactly alike.  The counts are in the database: two app instances
(as two server processes) share them, and attempts at the same moment each count once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from ticketing.app import App
from ticketing.entrypoints.cli import main
from ticketing.entrypoints.server import create_http_app
from ticketing.services import accounts, logins
from ticketing.services.clock import FixedClock
from ticketing.settings import Settings
from tests.conftest import ROOT
from tests.web.test_report_pages import _sign_in

PASSWORD = "kata-sandi-rahasia"
AGENT = "agen@example.id"
SPV = "spv@example.id"


@pytest.fixture
def staff(app: App, clock: FixedClock) -> None:
    with app.engine.begin() as conn:
        accounts.create_user(conn, email=AGENT, name="Agen Satu", role="agent",
                             password=PASSWORD, clock=clock)
        accounts.create_user(conn, email=SPV, name="Supervisor", role="supervisor",
                             password=PASSWORD, clock=clock)


@pytest.fixture
def web(app: App, staff: None) -> Iterator[TestClient]:
    with TestClient(create_http_app(app), follow_redirects=False) as client:
        yield client


def _post(client: TestClient, email: str, password: str) -> httpx.Response:
    return client.post("/login", data={"email": email, "password": password, "next": ""})


def _lock(app: App, email: str, clock: FixedClock) -> None:
    """Ten wrong passwords in a row, each after the wait the previous one asked for."""
    for _ in range(10):
        attempt = app.write(logins.admit, email, client="10.0.0.9", now=clock.now())
        assert app.write(logins.settle, attempt, False, now=clock.now()) is None
        clock.advance(minutes=1)


def test_wrong_passwords_wait_longer_and_longer_then_lock(app: App, clock: FixedClock,
                                                         web: TestClient) -> None:
    answers: list[tuple[int, str | None]] = []
    for _ in range(60):  # as fast as they come: the clock does not move
        r = _post(web, AGENT, "salah-terus")
        answers.append((r.status_code, r.headers.get("retry-after")))
    assert answers[:4] == [(200, None)] * 4  # three free, the fourth counted with a wait
    assert set(answers[4:]) == {(429, "1")}
    r = _post(web, AGENT, PASSWORD)
    assert r.status_code == 429 and "ticketing_session" not in r.cookies
    assert "Coba lagi dalam 1 detik" in r.text

    waits = []
    while True:  # wait as asked each time: 1, 2, 4 ... seconds, then the lock
        clock.advance(seconds=int(r.headers.get("retry-after") or 1))
        r = _post(web, AGENT, "salah-terus")
        assert r.status_code == 200
        r = _post(web, AGENT, "salah-terus")
        if r.status_code != 429:
            break
        waits.append(int(r.headers["retry-after"]))
    assert waits == [2, 4, 8, 16, 32]
    assert r.status_code == 423 and "dikunci" in r.text
    clock.advance(days=2)  # a lock does not wear off
    r = _post(web, AGENT, PASSWORD)
    assert r.status_code == 423 and "ticketing_session" not in r.cookies


def test_an_unknown_address_gets_exactly_the_same_answers(app: App, clock: FixedClock,
                                                         web: TestClient) -> None:
    def run(email: str) -> list[tuple[int, str | None, str]]:
        out = []
        for _ in range(12):
            r = _post(web, email, "salah-terus")
            out.append((r.status_code, r.headers.get("retry-after"),
                        r.text.replace(email, "EMAIL")))
            clock.advance(seconds=40)
        return out
    known = run(AGENT)
    clock.advance(hours=2)  # the client address's count is forgotten after an hour
    unknown = run("tidak-ada@example.id")
    assert known == unknown
    assert [s for s, _, _ in known][-1] == 423


def test_a_success_starts_the_account_count_again(app: App, clock: FixedClock,
                                                 web: TestClient) -> None:
    for _ in range(3):
        assert _post(web, AGENT, "salah").status_code == 200
    assert _post(web, AGENT, PASSWORD).status_code == 303
    for _ in range(3):
        assert _post(web, AGENT, "salah").status_code == 200  # free again


def test_one_client_address_trying_many_accounts_is_slowed(app: App, clock: FixedClock,
                                                          web: TestClient) -> None:
    statuses = [_post(web, f"orang{i}@example.id", "salah").status_code for i in range(25)]
    assert statuses[:21] == [200] * 21 and set(statuses[21:]) == {429}
    # Another client address (another office) is not affected.
    other = app.write(logins.admit, "orang0@example.id", client="10.1.1.1", now=clock.now())
    assert other.failures == 2


def test_counts_are_shared_by_processes_and_concurrent_attempts_count_once(
        app: App, clock: FixedClock, staff: None, db_url: str) -> None:
    second = App(settings=Settings(database_url=db_url, config_dir=str(ROOT / "config")),
                 clock=clock)
    try:
        answers: list[int] = []
        lock = threading.Lock()

        def attempt(core: App) -> None:
            with TestClient(create_http_app(core), follow_redirects=False) as client:
                for _ in range(5):
                    code = _post(client, AGENT, "salah").status_code
                    with lock:
                        answers.append(code)
        threads = [threading.Thread(target=attempt, args=(core,))
                   for core in (app, second, app, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        second.close()
    assert len(answers) == 20
    assert answers.count(200) <= 4  # never more than the free three and one counted wait
    assert set(answers) <= {200, 429}


def test_failed_sign_ins_are_logged_without_the_password(
        app: App, clock: FixedClock, web: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ticketing.services.logins")
    for _ in range(10):
        _post(web, AGENT, "Rahasia-Sekali-123")
        clock.advance(minutes=1)
    text = caplog.text
    assert "failed sign-in for a***@example.id from testclient (1 in a row)" in text
    assert "sign-in locked for a***@example.id after 10 failures" in text
    assert "Rahasia-Sekali-123" not in text and AGENT not in text


def test_supervisor_unlocks_through_the_api_and_agents_may_not(
        app: App, clock: FixedClock, staff: None) -> None:
    _lock(app, AGENT, clock)
    with app.engine.begin() as conn:
        spv = accounts.create_token(conn, email=SPV, clock=clock)
        agent = accounts.create_token(conn, email=AGENT, clock=clock)
    with TestClient(create_http_app(app), follow_redirects=False) as client:
        def auth(token: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}"}
        assert client.post(f"/api/v1/users/{AGENT}/unlock",
                           headers=auth(agent)).status_code == 403
        r = client.get("/api/v1/users/locked", headers=auth(spv))
        assert [(x["email"], x["failures"]) for x in r.json()["items"]] == [(AGENT, 10)]
        assert _post(client, AGENT, PASSWORD).status_code == 423
        r = client.post(f"/api/v1/users/{AGENT}/unlock", headers=auth(spv))
        assert r.status_code == 200 and r.json() == {"email": AGENT, "was_locked": True}
        assert client.get("/api/v1/users/locked", headers=auth(spv)).json()["items"] == []
        assert _post(client, AGENT, PASSWORD).status_code == 303


def test_the_cli_unlocks(app: App, clock: FixedClock, staff: None, db_url: str,
                         monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    _lock(app, AGENT, clock)
    monkeypatch.setenv("TICKETING_DATABASE_URL", db_url)
    monkeypatch.setenv("TICKETING_CONFIG_DIR", str(ROOT / "config"))
    assert main(["users", "unlock", "--email", AGENT.upper()]) == 0
    assert f"unlocked <{AGENT}>" in capsys.readouterr().out
    assert app.read(logins.locked_accounts) == []
    attempt = app.write(logins.admit, AGENT, client="10.0.0.9", now=clock.now())
    assert app.write(logins.settle, attempt, logins.password_ok(attempt, PASSWORD),
                     now=clock.now()) is not None


@pytest.mark.browser
def test_supervisor_sees_the_locked_account_and_unlocks_it_on_the_page(
        app: App, clock: FixedClock, staff: None, live_url: str, page: Any,
        tmp_path: Any) -> None:
    _lock(app, AGENT, clock)
    _sign_in(page, live_url, AGENT)
    assert "dikunci" in page.inner_text("[role=alert]")
    page.screenshot(path=str(tmp_path / "login-locked.png"), full_page=True)
    _sign_in(page, live_url, SPV)
    page.goto(f"{live_url}/reports/sla?from=2026-03-01&to=2026-03-02")
    section = page.inner_text("#locked-accounts")
    assert "Akun terkunci" in section and AGENT in section and "10 kali" in section
    page.screenshot(path=str(tmp_path / "locked.png"), full_page=True)
    with page.expect_navigation():
        page.click("#locked-accounts button")
    assert "Kunci akun dibuka" in page.inner_text("[role=status]")
    assert page.locator("#locked-accounts").count() == 0
    page.click("text=Keluar")
    _sign_in(page, live_url, AGENT)
    assert page.url.endswith("/queue")
