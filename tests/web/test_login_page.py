"""The sign-in page and the error pages are templates in both languages (issue 15): the form,
a wrong password and the refusal of a foreign form read in English with the ``lang`` cookie,
in Indonesian without it; what was typed is kept and escaped."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ticketing.app import App
from ticketing.entrypoints.server import create_http_app


def test_login_page_in_both_languages(app: App) -> None:
    with TestClient(create_http_app(app), follow_redirects=False) as client:
        page = client.get("/login?next=/queue")
        assert page.status_code == 200 and 'lang="id"' in page.text
        assert "Kata sandi" in page.text and 'name="next" value="/queue"' in page.text
        wrong = client.post("/login", data={"email": "<b>x</b>@example.id", "password": "no"})
        assert "E-mail atau kata sandi salah." in wrong.text
        assert "&lt;b&gt;x&lt;/b&gt;@example.id" in wrong.text and "<b>x</b>" not in wrong.text
        client.cookies.set("lang", "en")
        page = client.get("/login")
        assert 'lang="en"' in page.text and "Password" in page.text
        wrong = client.post("/login", data={"email": "x@example.id", "password": "no"})
        assert "Wrong e-mail or password." in wrong.text
        foreign = client.post("/login", data={"email": "x@example.id", "password": "no"},
                              headers={"origin": "https://evil.example"})
        assert foreign.status_code == 403 and 'role="alert"' in foreign.text
