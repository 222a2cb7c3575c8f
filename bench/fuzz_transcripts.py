"""Fuzz run of the phone channel's transcript parser (issue 16): at least 100,000 generated and
mutated transcripts of every format, and 0 exceptions other than a quarantine with a reason.

Each case is one of:
* a generated call (2-12 alternating turns, either side first, Indonesian or English desk and
  citizen speech, some filler) written as plain text (role labels or names, Meet-style stamps),
  WebVTT (Teams' unpadded stamps and named voices, Zoom's "Name: text", role voices, NOTE /
  STYLE blocks, cue settings, identifiers, a missing blank line), SRT, AWS Transcribe JSON
  (diarization or channel identification, labels on the items or only in the segments), Contact
  Lens or Call Analytics JSON — parsed as is, and then its roles must come out as written;
* the same, mutated: bytes flipped, cut, inserted (arrows, tags, quotes, NULs, invalid UTF-8,
  CRs ...), duplicated, truncated, or for JSON a value replaced by one of another type;
* a real transcript of the test corpus (tests/channels/phone/corpus), mutated the same ways.

Counted: parsed, quarantined (by the first words of the reason), and failures — any other
exception, a quarantine without a reason, the parser's own last-resort wrapper
("unparseable transcript ...", a bug caught), or an unmutated generated call not read back with
its roles.  Usage:

    .venv/bin/python bench/fuzz_transcripts.py [--cases 100000] [--seed 16]
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from channels.phone import parse_transcript  # noqa: E402
from channels.phone.roles import RoleHints  # noqa: E402
from ticketing.domain.errors import MalformedPayload  # noqa: E402
from ticketing.domain.text import Role  # noqa: E402

META = {"caller": "081234567002", "received_at": "2026-03-04T00:00:00+00:00"}
DESK = ["Selamat pagi, layanan pengaduan Prakerja, ada yang bisa dibantu?",
        "Boleh disebutkan NIK Bapak?", "Mohon ditunggu, kami cek dulu.",
        "Terima kasih sudah menunggu, Bu.", "Thank you for calling, how can I help?",
        "Can I have your account number?", "Baik, kami teruskan ke tim pencairan."]
CITIZEN = ["Insentif saya belum cair sudah dua bulan.", "OTP tidak masuk ke HP saya.",
           "Akun saya terblokir, kenapa ya?", "I can't log in to my account.",
           "NIK saya ditolak waktu daftar.", "Saldo e-wallet saya masih kosong.",
           "I've been on hold for an hour."]
FILLER = ["Halo?", "Iya.", "Baik.", "Oke.", "Hmm, sebentar.", "3201 0541 0795 0002."]
NAMES = ("Rina Wulandari", "Budi Santoso")
TOKENS = [b"-->", b" --> ", b"\n\n", b"\n", b"\r", b"\r\n", b"<v ", b">", b"</v>", b"<c.x>",
          b"\"", b"{", b"}", b"[", b"]", b",", b":", b"\x00", b"\xff", b"\xc3", b"\xef\xbb\xbf",
          b"0:0:0.0", b"99:99:99.999", b"00:00:01,000", b"NOTE ", b"STYLE\n", b"WEBVTT\n",
          b"Pelapor: ", b"Petugas: ", b"Rina Wulandari: ", b"\"spk_0\"", b"\"ch_1\"", b"null",
          b"-1", b"1e999", b"NaN", b"\"\\ud800\"", "é".encode(), b"\t", b"\x0b", b"\x0c"]


def call(rng: random.Random) -> list[tuple[bool, int, int, str]]:
    """(is_agent, start ms, end ms, text) alternating turns; each side's first turn says who it
    is."""
    agent = rng.random() < 0.5
    at, out = rng.randint(0, 5_000), []
    seen: set[bool] = set()
    for _ in range(rng.randint(2, 12)):
        pool = DESK if agent else CITIZEN
        text = pool[0] if agent and agent not in seen else rng.choice(pool)
        if agent not in seen and not agent:
            text = rng.choice(CITIZEN[:3])
        elif rng.random() < 0.3:
            text = f"{rng.choice(FILLER)} {text}"
        seen.add(agent)
        length = rng.randint(300, 9_000)
        out.append((agent, at, at + length, text))
        at += length + rng.randint(0, 2_000)
        agent = not agent
    return out


def stamp(ms: int, form: str) -> str:
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, milli = divmod(rest, 1000)
    if form == "teams":
        return f"{h}:{m}:{s}.{(f'{milli:03}'.rstrip('0') or '0')}"
    if form == "srt":
        return f"{h:02}:{m:02}:{s:02},{milli:03}"
    if form == "short" and h == 0:
        return f"{m:02}:{s:02}.{milli:03}"
    return f"{h:02}:{m:02}:{s:02}.{milli:03}"


def as_text(c: list[tuple[bool, int, int, str]], rng: random.Random) -> tuple[bytes, RoleHints]:
    named = rng.random() < 0.5
    lines = ["Transkrip panggilan"] if rng.random() < 0.3 else []
    for agent, start, _, text in c:
        who = NAMES[0 if agent else 1] if named else ("Petugas" if agent else "Pelapor")
        if rng.random() < 0.3:
            lines.append(stamp(start, "hms")[:8])  # a Meet-style bare stamp line
            lines.append(f"{who}: {text}")
        else:
            lines.append(f"[{stamp(start, 'hms')[:8]}] {who}: {text}")
    return "\n".join(lines).encode(), RoleHints()


def as_cues(c: list[tuple[bool, int, int, str]], rng: random.Random,
            kind: str) -> tuple[bytes, RoleHints]:
    form = "srt" if kind == "srt" else rng.choice(["teams", "hms", "short"])
    style = rng.choice(["voice", "prefix", "role"])
    lines = [] if kind == "srt" else ["WEBVTT" + rng.choice(["", " - rekaman"]),
                                      "Kind: captions", ""]
    if kind == "webvtt" and rng.random() < 0.3:
        lines += ["STYLE", "::cue { color: red }", "", "NOTE dicatat otomatis", ""]
    for n, (agent, start, end, text) in enumerate(c, 1):
        name = NAMES[0 if agent else 1] if style != "role" else ("Petugas" if agent else "Pelapor")
        if kind == "srt" or rng.random() < 0.4:
            lines.append(str(n) if kind == "srt" else f"{n:x}-{n}")
        settings = " align:start position:10%" if rng.random() < 0.2 else ""
        lines.append(f"{stamp(start, form)} --> {stamp(end, form)}{settings}")
        lines.append(f"<v {name}>{text}</v>" if style in ("voice", "role") and kind == "webvtt"
                     else f"{name}: {text}")
        if rng.random() < 0.9:  # sometimes a timing line right after the text
            lines.append("")
    hints = RoleHints.build(agent_names=[NAMES[0]]) if rng.random() < 0.5 else RoleHints()
    return "\n".join(lines).encode(), hints


def as_aws(c: list[tuple[bool, int, int, str]], rng: random.Random) -> tuple[bytes, RoleHints]:
    channels = rng.random() < 0.5
    key = "channel_label" if channels else "speaker_label"
    on_items = rng.random() < 0.7
    items: list[dict[str, Any]] = []
    for agent, start, end, text in c:
        label = ("ch_0" if agent else "ch_1") if channels else ("spk_1" if agent else "spk_0")
        words = text.rstrip(".?!").split()
        step = max(1, (end - start) // len(words))
        for i, w in enumerate(words):
            item = {"type": "pronunciation", "start_time": f"{(start + i * step) / 1000:.3f}",
                    "end_time": f"{(start + (i + 1) * step) / 1000:.3f}",
                    "alternatives": [{"confidence": "0.9", "content": w}]}
            if on_items:
                item[key] = label
            items.append(item)
        items.append({"type": "punctuation", "alternatives": [{"content": text[-1]}]})
    results: dict[str, Any] = {"items": items}
    labelled = [dict(i, **{key: ("ch_0" if a else "ch_1") if channels else ("spk_1" if a else "spk_0")})
                for i, a in _words_with_side(items, c)]
    if channels:
        results["channel_labels"] = {"channels": [{"channel_label": ch, "items": [
            i for i in labelled if i[key] == ch]} for ch in ("ch_0", "ch_1")]}
    else:
        results["speaker_labels"] = {"segments": [{"speaker_label": i[key], "items": [i]}
                                                  for i in labelled]}
    hints = RoleHints.build(channel_roles={"ch_0": Role.AGENT, "ch_1": Role.CALLER}) if channels \
        and rng.random() < 0.5 else RoleHints()
    return json.dumps({"jobName": "fuzz", "results": results}).encode(), hints


def _words_with_side(items: list[dict[str, Any]],
                     c: list[tuple[bool, int, int, str]]) -> list[tuple[dict[str, Any], bool]]:
    out, turn = [], 0
    for item in items:
        if item["type"] == "punctuation":
            turn += 1
            continue
        out.append(({k: item[k] for k in ("start_time", "end_time")}, c[turn][0]))
    return out


def as_turn_json(c: list[tuple[bool, int, int, str]], rng: random.Random,
                 kind: str) -> tuple[bytes, RoleHints]:
    lens = kind == "contact-lens"
    turns = [{("ParticipantId" if lens else "ParticipantRole"): "AGENT" if a else "CUSTOMER",
              "Content": t, "BeginOffsetMillis": s, "EndOffsetMillis": e,
              "Sentiment": "NEUTRAL"} for a, s, e, t in c]
    doc: dict[str, Any] = {"Transcript": turns, "LanguageCode": "id-ID"}
    if lens:
        doc.update(Channel="VOICE", CustomerMetadata={"ContactId": "c-1"})
    else:
        doc.update(JobName="ca-1", JobStatus="COMPLETED", ConversationCharacteristics={})
    return json.dumps(doc).encode(), RoleHints()


def generated(rng: random.Random, kind: str) -> tuple[bytes, RoleHints, list[str]]:
    c = call(rng)
    if kind == "text":
        raw, hints = as_text(c, rng)
    elif kind in ("webvtt", "srt"):
        raw, hints = as_cues(c, rng, kind)
    elif kind == "aws":
        raw, hints = as_aws(c, rng)
    else:
        raw, hints = as_turn_json(c, rng, kind)
    roles = []
    for agent, *_ in c:
        role = "agent" if agent else "caller"
        if not roles or roles[-1] != role:
            roles.append(role)
    return raw, hints, roles


def mutate(raw: bytes, rng: random.Random) -> bytes:
    if raw[:1] in (b"{", b"[") and rng.random() < 0.4:
        return _mutate_json(raw, rng)
    data = bytearray(raw)
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(data) + 1)
        op = rng.random()
        if op < 0.25 and data:  # mostly printable: invalid UTF-8 alone stops at the decoder
            data[min(at, len(data) - 1)] = rng.randrange(256) if rng.random() < 0.1 \
                else rng.randrange(9, 127)
        elif op < 0.45:
            del data[at:at + rng.randint(1, 60)]
        elif op < 0.75:
            data[at:at] = rng.choice(TOKENS)
        elif op < 0.9:
            data[at:at] = data[at:at + rng.randint(1, 200)]
        else:
            del data[at:]
    return bytes(data)


JUNK: list[Any] = [None, 0, -5, 1.5, 10**30, "", "x", "0.5", [], {}, [1], {"a": 1}, True, "-1",
                   "nan", "1e999", "AGENT", "SPEAKER", "spk_9"]


def _mutate_json(raw: bytes, rng: random.Random) -> bytes:
    try:
        doc = json.loads(raw)
    except ValueError:  # a seed that is not JSON as published: mutate its bytes instead
        return mutate(raw + b" ", rng)
    for _ in range(rng.randint(1, 4)):
        node: Any = doc
        path = []
        while isinstance(node, (dict, list)) and node and rng.random() < 0.8:
            key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
            path.append((node, key))
            node = node[key]
        if path:
            parent, key = path[-1]
            if rng.random() < 0.15 and isinstance(parent, dict):
                del parent[key]
            else:
                parent[key] = copy.deepcopy(rng.choice(JUNK))  # shared junk would make cycles
    return json.dumps(doc).encode()


KINDS = ["text", "webvtt", "srt", "aws", "contact-lens", "call-analytics"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    corpus = ROOT / "tests" / "channels" / "phone" / "corpus"
    seeds = [p.read_bytes() for p in sorted(corpus.iterdir())
             if p.is_file() and p.name != "SOURCES" and not p.name.endswith(".expected.json")]
    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    failures: list[str] = []
    started = time.perf_counter()
    for n in range(args.cases):
        pick = rng.random()
        kind = KINDS[n % len(KINDS)]
        expect: list[str] | None = None
        if pick < 0.15:
            raw, hints, kind = mutate(rng.choice(seeds), rng), RoleHints(), "corpus"
        else:
            raw, hints, roles = generated(rng, kind)
            if pick < 0.45:
                expect = roles
            else:
                raw = mutate(raw, rng)
        label = f"{kind}/{'clean' if expect else 'mutated'}"
        try:
            msg = parse_transcript(raw, META, hints)
        except MalformedPayload as exc:
            reason = str(exc)
            counts[f"{label} quarantined"] += 1
            reasons[" ".join(reason.split()[:4])] += 1
            if not reason.strip() or reason.startswith("unparseable transcript") or expect:
                failures.append(f"{label}: {reason[:160]}")
            continue
        except Exception as exc:  # noqa: BLE001 - exactly what this run looks for
            failures.append(f"{label}: {type(exc).__name__}: {exc}"[:200])
            continue
        counts[f"{label} parsed"] += 1
        if expect is not None:
            got = [s.split(": ", 1)[0] for s in msg.body.splitlines()]
            want = ["Agen" if r == "agent" else "Penelepon" for r in expect]
            if got != want:
                failures.append(f"{label}: roles {got} != {want}")
    took = time.perf_counter() - started
    print(f"{args.cases} cases in {took:.1f} s ({args.cases / took:,.0f}/s), seed {args.seed}")
    for key in sorted(counts):
        print(f"  {key:<36} {counts[key]:>7}")
    print("most common quarantine reasons:")
    for reason, count in reasons.most_common(12):
        print(f"  {count:>7}  {reason}")
    print(f"failures (exceptions other than a quarantine with a reason, parser bugs caught, "
          f"clean calls misread): {len(failures)}")
    for line in failures[:20]:
        print("  " + line)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
