"""The drivers: command line, HTTP server (API and pages), background worker, transcript
folder poller.  Each owns its transactions (begin/commit) and calls use cases from
``ticketing.services`` with a connection; nothing below imports from here."""
