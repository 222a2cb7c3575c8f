"""Long fuzz run of the e-mail parser: generated and mutated mails, counted by outcome.

Every input must end as an ``InboundMessage`` (whose extra is JSON and whose text is valid
UTF-8) or a ``MalformedPayload`` with a reason (the quarantine); anything else is a failure,
printed with the input's seed so that it can be replayed.  Inputs, in equal thirds:

* mutated samples: a corpus or fixture mail with 1–6 byte edits (insert, delete, overwrite),
  truncation, CRLF/LF swaps or a duplicated header block;
* structural mutations: a sample with its boundaries, charsets, transfer encodings, From,
  Content-Type or report type replaced by hostile values (missing, reused, unknown, 8-bit);
* generated mails: random MIME trees (depth ≤ 4) of random parts, charsets, encodings, names,
  bodies with quotes, attributions, DSN blocks and encoded words.

Usage:  .venv/bin/python bench/fuzz_mail.py [--n 100000] [--seed 16]
"""

from __future__ import annotations

import argparse
import base64
import collections
import json
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from channels.email import parse_email  # noqa: E402
from ticketing.domain.errors import MalformedPayload  # noqa: E402
from ticketing.domain.message import InboundMessage  # noqa: E402

DIRS = [ROOT / "tests" / "channels" / "email" / "corpus", ROOT / "tests" / "channels" / "email" / "fixtures"]
CHARSETS = ["utf-8", "us-ascii", "iso-8859-1", "gb2312", "gbk", "shift_jis", "iso-2022-jp", "euc-kr",
            "ks_c_5601-1987", "big5", "koi8-r", "utf-7", "utf-16", "x-unknown", "base64", "idna",
            "", "\"", "utf-8\x00", "windows-1252", "tis-620", "unicode-1-1-utf-7"]
CTES = ["7bit", "8bit", "base64", "quoted-printable", "binary", "x-uuencode", "", "base64; junk"]
TYPES = ["text/plain", "text/html", "multipart/mixed", "multipart/alternative", "multipart/related",
         "multipart/report; report-type=delivery-status", "multipart/report; report-type=feedback-report",
         "multipart/report; report-type=disposition-notification", "message/rfc822",
         "message/delivery-status", "text/rfc822-headers", "image/png", "application/pdf",
         "multipart/digest", "message/partial", "text/calendar", "", "multipart/", "/"]
FROMS = ["Budi <budi@example.id>", "alice@example.com <bob@example.com>", "<@example.com>", "a@b, c@d",
         "\"x\" <a@b> <c@d>", "=?utf-8?B?4pyT?= <x@y.id>", "MAILER-DAEMON@mx.example", "", "<>",
         "Warga: a@b.id, c@d.id;", "\xff\xfe@x.id", "budi@", "(comment) x@y.id (more)"]
TEXT = ["Jalan rusak di RT 05.", "> kutipan", "Pada Sen, 3 Jun 2024 pukul 10.15 A <a@b.c> menulis:",
        "-----Original Message-----", "From: A <a@b.c>", "Sent: Mon 10:15", "To: B", "Subject: C",
        "-- ", "Dikirim dari iPhone saya", "Action: failed", "Status: 5.1.1",
        "Original-Recipient: rfc822;x@y.z", "Final-Recipient: rfc822; <q@w.e>", "=?gb2312?B?x?=",
        "2022年1月1日(金) 9:00 田中 <t@x.jp>:", "_" * 40, "warga mailing list", "<p>html</p>",
        "\u202e\u0000\ud800", "Message-ID: <t12.0123456789abcdef0123@d.id>", "镕基路", "=C3=A9", "=ZZ"]


def _samples() -> list[bytes]:
    return [p.read_bytes() for d in DIRS for p in sorted(d.glob("*.eml"))]


def _bytes_mutation(rng: random.Random, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(rng.randint(1, 6)):
        kind = rng.randrange(6)
        at = rng.randrange(len(data) + 1)
        if kind == 0:
            data[at:at] = rng.randbytes(rng.randint(1, 8))
        elif kind == 1:
            del data[at:at + rng.randint(1, 64)]
        elif kind == 2 and data:
            data[at % len(data)] = rng.randrange(256)
        elif kind == 3:
            data = data[:at]
        elif kind == 4:
            data = bytearray(bytes(data).replace(b"\r\n", b"\n") if rng.random() < 0.5
                             else bytes(data).replace(b"\n", b"\r\n"))
        else:
            head = bytes(data).split(b"\n\n", 1)[0]
            data[at:at] = head + b"\n"
    return bytes(data)


def _structural(rng: random.Random, seed: bytes) -> bytes:
    text = seed.decode("latin-1")
    subs = [
        (r'boundary="?([^";\r\n]+)"?', lambda: f'boundary="{rng.choice(["", "x", "--", "a" * 80, "same"])}"'),
        (r"charset=\"?[^\";\r\n]*\"?", lambda: f"charset={rng.choice(CHARSETS)}"),
        (r"(?im)^content-transfer-encoding:.*$", lambda: f"Content-Transfer-Encoding: {rng.choice(CTES)}"),
        (r"(?im)^from:.*$", lambda: f"From: {rng.choice(FROMS)}"),
        (r"(?im)^content-type:[^;\r\n]*", lambda: f"Content-Type: {rng.choice(TYPES)}"),
        (r"(?im)^subject:.*$", lambda: "Subject: " + rng.choice(
            ["Auto reply: x", "Undeliverable: y", "Balasan Otomatis: z", "=?utf-8?B?////?=", "Fwd: a"])),
        (r"(?im)^date:.*$", lambda: rng.choice(["Date: kemarin", "Date: Mon, 99 Foo 1900", ""])),
    ]
    for _ in range(rng.randint(1, 4)):
        pattern, make = rng.choice(subs)
        text = re.sub(pattern, lambda _m: make(), text, count=rng.randint(0, 3))
    return text.encode("latin-1", "replace")


def _part(rng: random.Random, depth: int) -> str:
    ctype = rng.choice(TYPES)
    cte = rng.choice(CTES)
    charset = rng.choice(CHARSETS)
    name = rng.choice(["", "; name=\"foto.png\"", "; name=\"\xe8\xb7\xaf.jpg\"", "; name*=utf-8''%E8%B7%AF.txt",
                       "; filename=\"../../etc/passwd\""])
    head = f"Content-Type: {ctype}; charset=\"{charset}\"{name}\nContent-Transfer-Encoding: {cte}\n"
    if rng.random() < 0.3:
        head += f"Content-ID: <{rng.choice(['root@x', 'img@x', ''])}>\n"
    if ctype.startswith("multipart") and depth < 4:
        boundary = rng.choice(["b1", "b2", "b1", f"b{depth}", ""])
        head = head.replace(f"Content-Type: {ctype};", f"Content-Type: {ctype}; boundary=\"{boundary}\";"
                            + (" start=\"<root@x>\";" if rng.random() < 0.3 else ""))
        parts = "".join(f"--{boundary}\n{_part(rng, depth + 1)}\n" for _ in range(rng.randint(0, 4)))
        close = f"--{boundary}--\n" if rng.random() < 0.8 else ""
        return f"{head}\n{parts}{close}"
    body = "\n".join(rng.choice(TEXT) for _ in range(rng.randint(0, 12)))
    if cte == "base64" and rng.random() < 0.7:
        body = base64.encodebytes(body.encode("utf-8", "surrogatepass")).decode()
    return f"{head}\n{body}\n"


def _generated(rng: random.Random) -> bytes:
    headers = [f"From: {rng.choice(FROMS)}", "To: pengaduan@dinas.example.go.id",
               f"Subject: {rng.choice(TEXT)}", "Date: Mon, 03 Jun 2024 10:15:00 +0700",
               f"Message-ID: <{rng.randrange(10**9)}@x.id>"]
    for extra in ("Auto-Submitted: auto-replied", "X-Apple-Action: VACATION", "List-Id: <l.x>",
                  "Return-Path: <>", "In-Reply-To: <t1.0123456789abcdef0123@d.id>", "Sender: a@b.id"):
        if rng.random() < 0.15:
            headers.append(extra)
    rng.shuffle(headers)
    text = "\n".join(headers) + "\nMIME-Version: 1.0\n" + _part(rng, 0)
    data = text.encode("utf-8", "surrogatepass")
    return data.replace(b"\n", b"\r\n") if rng.random() < 0.5 else data


def _check(raw: bytes, meta: dict[str, str]) -> str:
    try:
        msg = parse_email(raw, meta)
    except MalformedPayload as exc:
        reason = str(exc)
        if not reason:
            raise AssertionError("a quarantine without a reason") from exc
        return "quarantined: " + re.sub(r"\(.*", "", reason)[:60].strip()
    if not isinstance(msg, InboundMessage):
        raise AssertionError(f"unexpected result {type(msg).__name__}")
    json.dumps(msg.extra)
    (msg.body + (msg.subject or "") + (msg.sender.name or "") + (msg.sender.email or "")).encode("utf-8")
    return f"parsed ({msg.automation})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=16)
    args = ap.parse_args()
    seeds = _samples()
    outcomes: collections.Counter[str] = collections.Counter()
    failures: list[str] = []
    metas = [{"received_at": "2024-06-13T08:00:00Z"}, {"received_at": "2024-06-13T08:00:00Z", "mail_from": "<>"},
             {"received_at": "2024-06-13T08:00:00Z", "mail_from": "warga@example.id"}]
    t0 = time.perf_counter()
    for i in range(args.n):
        rng = random.Random(args.seed * 1_000_003 + i)
        kind = i % 3
        raw = (_bytes_mutation(rng, rng.choice(seeds)) if kind == 0
               else _structural(rng, rng.choice(seeds)) if kind == 1 else _generated(rng))
        try:
            outcomes[_check(raw, metas[i % len(metas)])] += 1
        except Exception as exc:  # a failure of the parser's contract: record and go on
            outcomes["FAILED"] += 1
            if len(failures) < 20:
                failures.append(f"input {i} (seed {args.seed}): {type(exc).__name__}: {str(exc)[:200]}")
    elapsed = time.perf_counter() - t0
    print(f"{args.n:,} inputs ({len(seeds)} samples as seeds) in {elapsed:.0f} s "
          f"({args.n / elapsed:,.0f}/s)")
    for outcome, count in outcomes.most_common():
        print(f"  {count:>8,}  {outcome}")
    guard = sum(n for k, n in outcomes.items() if k.startswith("quarantined: unparseable email"))
    print(f"exceptions other than a quarantine with a reason: {outcomes['FAILED']}")
    print(f"of the quarantines, caught by parse_email's last-resort guard (a parser bug turned into"
          f" a quarantine): {guard}")
    for line in failures:
        print("  " + line)
    sys.exit(1 if outcomes["FAILED"] else 0)


if __name__ == "__main__":
    main()
