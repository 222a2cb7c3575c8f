"""``ticketing report sla`` and ``ticketing export messages|tickets``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from ticketing.app import App
from ticketing.entrypoints.cli.command import Group, command, date, group
from ticketing.services.export import export_messages, export_tickets


def register(sub: Group) -> None:
    report = group(sub, "report", help="reports")
    rs = command(report, "sla", _report, help="the supervisors' SLA report")
    rs.add_argument("--from", dest="start", required=True, type=date, help="YYYY-MM-DD (WIB)")
    rs.add_argument("--to", dest="end", required=True, type=date, help="YYYY-MM-DD (WIB)")
    rs.add_argument("--format", choices=["html", "csv", "json"], default="html")
    rs.add_argument("--group-by", choices=["channel", "agent", "topic", "day", "team"],
                    default="channel")
    rs.add_argument("--out", type=Path, help="write to this file instead of standard output")

    export = group(sub, "export", help="export stored data as JSON lines")
    for name, what in (("messages", "one line per stored inbound message"),
                       ("tickets", "one line per ticket")):
        e = command(export, name, _export, help=what)
        e.add_argument("--format", choices=["jsonl"], default="jsonl")
        e.add_argument("--out", type=Path, help="write to this file instead of standard output")


def _report(app: App, args: argparse.Namespace) -> int:
    from ticketing.entrypoints.web.report_html import render
    from ticketing.services.reports import sla_report, to_csv
    with app.engine.connect().execution_options(readonly=True) as conn, conn.begin():
        data = sla_report(conn, start=args.start, end=args.end, group_by=args.group_by,
                          now=app.clock.now())
    text = (render(data) if args.format == "html" else to_csv(data) if args.format == "csv"
            else json.dumps(data, ensure_ascii=False, indent=1, default=str))
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def _export(app: App, args: argparse.Namespace) -> int:
    out: Path | None = args.out
    fh: TextIO = out.open("w", encoding="utf-8") if out else sys.stdout
    try:
        with app.engine.connect().execution_options(readonly=True) as conn, conn.begin():
            rows = export_messages(conn) if args.export_cmd == "messages" \
                else export_tickets(conn)
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if out:
            fh.close()
    return 0
