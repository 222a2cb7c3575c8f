"""The staff pages answer an impossible ticket, message or attachment number with 404 and a
report range in year 1 or 9999 with 422 (the form again, with the reason), never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ticketing.app import App
from ticketing.entrypoints.server import create_http_app
from ticketing.services import accounts
from ticketing.services.clock import FixedClock
from tests.helpers import ingest_one, message

PASSWORD = "kata-sandi-rahasia"
HUGE = "99999999999999999999"


@pytest.fixture
def signed_in(app: App, clock: FixedClock) -> Iterator[TestClient]:
    with app.engine.begin() as conn:
        accounts.create_user(conn, email="spv@example.id", name="Supervisor",
                             role="supervisor", password=PASSWORD, clock=clock)
    ingest_one(app, message("OTP tidak masuk", email="a@example.id"))
    with TestClient(create_http_app(app), follow_redirects=False,
                    raise_server_exceptions=False) as client:
        r = client.post("/login", data={"email": "spv@example.id", "password": PASSWORD})
        assert r.status_code == 303
        yield client


@pytest.mark.parametrize("path", [
    f"/tickets/{HUGE}", "/tickets/9223372036854775808", "/tickets/0", "/tickets/-1",
    f"/tickets/1/messages/{HUGE}/attachments/0", f"/tickets/1/messages/1/attachments/{HUGE}",
    f"/tickets/{HUGE}/messages/1/attachments/0"])
def test_an_impossible_number_in_a_page_address_is_404(signed_in: TestClient,
                                                       path: str) -> None:
    assert signed_in.get(path).status_code == 404


@pytest.mark.parametrize("form", [{"source": HUGE}, {"source": "0"}])
def test_merging_an_impossible_ticket_number_is_refused(signed_in: TestClient,
                                                        form: dict[str, str]) -> None:
    r = signed_in.post("/tickets/1/merge", data=form)
    assert r.status_code == 422 and "pilih tiket" in r.text


@pytest.mark.parametrize("query", ["from=0001-01-01&to=0001-01-02",
                                   "from=9999-12-30&to=9999-12-31",
                                   "from=2026-03-01&to=9999-12-31"])
def test_a_report_range_out_of_bounds_is_422(signed_in: TestClient, query: str) -> None:
    r = signed_in.get(f"/reports/sla?{query}")
    assert r.status_code == 422 and "2000-01-01..2099-12-31" in r.text


def test_a_browser_at_an_address_no_page_has_gets_a_page_in_its_language(
        signed_in: TestClient) -> None:
    html = {"Accept": "text/html,application/xhtml+xml"}
    r = signed_in.get("/laporan", headers=html)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "Halaman tidak ditemukan" in r.text and "not_found" not in r.text
    assert 'href="/login"' not in r.text  # signed in: the way back is the queue, not the login
    signed_in.cookies.set("lang", "en")
    assert "Page not found" in signed_in.get("/laporan", headers=html).text
    # Programs keep the API's JSON error body, whatever they accept.
    for path in ("/api/v1/nothing", "/channels/nothing"):
        r = signed_in.get(path, headers=html)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert signed_in.get("/laporan").json()["error"]["code"] == "not_found"
