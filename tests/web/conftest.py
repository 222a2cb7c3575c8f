"""The page tests' shared names; the browser and live-server fixtures are in ``tests/browser.py``
(one Playwright for the whole session)."""

# Every script on a page but our own files (``/static/app.js``, ``/static/live.js``, the web
# chat's ``/chat/desk.js``): an escaping test counts these, and any would be injected.
OWN_SCRIPT_EXCLUDED = 'script:not([src="/static/live.js"]):not([src="/static/app.js"]):not([src="/chat/desk.js"])'
