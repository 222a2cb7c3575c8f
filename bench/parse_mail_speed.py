"""Parse speed of ``channels.email.parse_email`` on a typical 20 KB mail.

The mail: an Indonesian citizen's Gmail-style reply, ``multipart/mixed`` of a
``multipart/alternative`` (text/plain with quoted history and a signature; the same as HTML with
a ``gmail_quote`` blockquote) and a small JPEG — about 20 KB, the size of an ordinary reply with
a photo thumbnail.  Also a few corpus samples (bounce, Outlook reply, Japanese) for scale.

Prints the median and p90 wall time per parse, the median and p99 CPU time (the machine is
shared: CPU time is the steadier figure), and two baselines measured in the same run: the
standard library reading the same bytes the way a naive parser does (``message_from_bytes``
with the modern policy, ``get_body()``, ``get_content()``), and the stdlib's compat32 parse alone
(what ``parse_email`` was built on before ``fastparse``), with the ratios.  The CPU figures are
taken interleaved (ours, then the compat32 parse, in each round) so that both see the same load;
the load average is printed before and after.  Usage:

    .venv/bin/python bench/parse_mail_speed.py [--n 2000]
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from channels.email import parse_email  # noqa: E402

META = {"received_at": "2026-03-02T02:16:00+00:00", "mail_from": "budi.santoso@gmail.com",
        "rcpt_tos": ["pengaduan@dinas.example.go.id"]}
CORPUS = ROOT / "tests" / "channels" / "email" / "corpus"


def typical_mail(target: int = 20_000) -> bytes:
    new = ("Selamat siang Bapak/Ibu,\n\nSaya ingin menyampaikan bahwa jalan di depan rumah saya di "
           "Jl. Kenanga No. 12 RT 05 RW 03 masih berlubang dan tergenang air setiap hujan. Sudah "
           "dua minggu sejak laporan pertama saya, belum ada petugas yang datang. Mohon segera "
           "ditindaklanjuti karena sudah ada pengendara motor yang jatuh.\n\nTerima kasih.\n\n"
           "Salam,\nBudi Santoso\n0812-3456-7890\n")
    history = ("Pada Sen, 2 Mar 2026 pukul 09.15 Dinas Pelayanan <pengaduan@dinas.example.go.id> "
               "menulis:\n" + "".join(f"> Baris riwayat percakapan nomor {n}: laporan Anda sudah "
                                       "kami terima dan sedang kami proses.\n" for n in range(40)))
    plain = f"{new}\n{history}\n-- \nDikirim dari iPhone saya\n"
    html = ("<div dir=\"ltr\">" + new.replace("\n\n", "</div><div>").replace("\n", "<br>")
            + "</div><div class=\"gmail_quote\"><div class=\"gmail_attr\">Pada Sen, 2 Mar 2026 "
              "pukul 09.15 Dinas Pelayanan &lt;pengaduan@dinas.example.go.id&gt; menulis:</div>"
              "<blockquote class=\"gmail_quote\" style=\"margin:0 0 0 .8ex;border-left:1px #ccc "
              "solid;padding-left:1ex\">"
            + "".join(f"<div>Baris riwayat percakapan nomor {n}: laporan Anda sudah kami terima "
                      "dan sedang kami proses.</div>" for n in range(40))
            + "</blockquote></div>")
    head = ("From: Budi Santoso <budi.santoso@gmail.com>\r\nTo: pengaduan@dinas.example.go.id\r\n"
            "Subject: Re: [#T-000123] Jalan berlubang di Jl. Kenanga\r\n"
            "Date: Mon, 02 Mar 2026 10:15:00 +0700\r\nMessage-ID: <CAF=typical@mail.gmail.com>\r\n"
            "In-Reply-To: <t123.0123456789abcdef0123@dinas.example.go.id>\r\n"
            "References: <t123.0123456789abcdef0123@dinas.example.go.id>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n--mix\r\n"
            "Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\n"
            "Content-Type: text/plain; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
    import quopri
    body = (head + quopri.encodestring(plain.encode()).decode()
            + "\r\n--alt\r\nContent-Type: text/html; charset=\"UTF-8\"\r\n"
              "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            + quopri.encodestring(html.encode()).decode() + "\r\n--alt--\r\n")
    room = max(0, target - len(body) - 200)
    photo = base64.encodebytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * (room * 3 // 4 // 256)
                               ).decode().replace("\n", "\r\n")
    body += ("--mix\r\nContent-Type: image/jpeg; name=\"jalan.jpg\"\r\nContent-Disposition: "
             "attachment; filename=\"jalan.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
             + photo + "--mix--\r\n")
    return body.encode()


def _stdlib(raw: bytes) -> object:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    part = msg.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""


def _measure(fn: Callable[[bytes], object], raw: bytes, n: int,
             clock: Callable[[], int] = time.perf_counter_ns) -> list[float]:
    for _ in range(min(50, n)):
        fn(raw)
    out = []
    for _ in range(n):
        t0 = clock()
        fn(raw)
        out.append((clock() - t0) / 1e6)
    return sorted(out)


def _compat32(raw: bytes) -> object:
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def _interleaved_cpu(fns: list[Callable[[bytes], object]], raw: bytes,
                     n: int) -> list[list[float]]:
    """CPU ms per call of each function, measured in alternation, each list sorted."""
    for _ in range(min(50, n)):
        for fn in fns:
            fn(raw)
    out: list[list[float]] = [[] for _ in fns]
    clock = time.process_time_ns
    for _ in range(n):
        for fn, times in zip(fns, out, strict=True):
            t0 = clock()
            fn(raw)
            times.append((clock() - t0) / 1e6)
    return [sorted(times) for times in out]


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    raw = typical_mail()
    parsed = parse_email(raw, META)
    assert not isinstance(parsed, type(None)) and "berlubang" in getattr(parsed, "body", "")
    print(f"typical mail: {len(raw):,} bytes")
    cases = [("typical 20 KB reply", raw)] + [
        (name, (CORPUS / name).read_bytes()) for name in (
            "dsn_original_recipient.eml", "reply_outlook.eml", "japanese_iso_2022.eml")
        if (CORPUS / name).exists()]
    print(f"load average (1, 5, 15 min) before: {_load()}")
    for label, data in cases:
        ours = _measure(lambda b: parse_email(b, META), data, args.n)
        base = _measure(_stdlib, data, args.n)
        cpu_ours, cpu_floor = _interleaved_cpu([lambda b: parse_email(b, META), _compat32],
                                               data, args.n)
        cpu, floor = statistics.median(cpu_ours), statistics.median(cpu_floor)
        p99 = cpu_ours[min(len(cpu_ours) - 1, int(len(cpu_ours) * 0.99))]
        m_ours, m_base = statistics.median(ours), statistics.median(base)
        print(f"{label:<28} {len(data):>7,} B  parse_email median {m_ours:6.3f} ms "
              f"(CPU {cpu:6.3f}, p99 {p99:6.3f}) p90 {ours[int(len(ours) * 0.9)]:6.3f} | "
              f"stdlib get_body {m_base:6.3f} ms, ratio {m_ours / m_base:4.2f} | stdlib "
              f"compat32 parse alone CPU {floor:6.3f} ms, ratio {cpu / floor:4.2f}")
    print(f"load average (1, 5, 15 min) after: {_load()}")

if __name__ == "__main__":
    main()
