"""Screenshots of the workspace for the README: run `make run` (a fresh demo desk), then
`.venv/bin/python docs/make_screenshots.py [http://127.0.0.1:8080]`.  Headless Chromium
(/usr/bin/chromium) through Playwright; writes docs/screenshots/{queue,ticket,report}.png."""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

OUT = Path(__file__).parent / "screenshots"


def sign_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("#login button[type=submit]")


def main(base: str) -> None:
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        page = browser.new_context(viewport={"width": 1400, "height": 900},
                                   locale="id-ID").new_page()
        sign_in(page, base, "agent@prakerja.example.id", "agent-demo-123")
        if page.locator("#presence").input_value() != "online":
            with page.expect_navigation():
                page.select_option("#presence", "online")
        page.goto(base + "/queue")
        page.screenshot(path=str(OUT / "queue.png"), full_page=True)
        first = page.locator("#mine tbody tr a").first
        if first.count() == 0:
            page.click("#claim-form button")
        else:
            first.click()
        page.wait_for_load_state()
        page.goto(page.url.split("?")[0] + "?canned=diterima")
        page.screenshot(path=str(OUT / "ticket.png"), full_page=True)
        sign_in(page, base, "supervisor@prakerja.example.id", "supervisor-demo-123")
        page.goto(base + "/reports/sla?group_by=channel")
        page.screenshot(path=str(OUT / "report.png"), full_page=True)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080")
