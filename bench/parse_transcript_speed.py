"""Parse speed of a one-hour call transcript (issue 16: a 1-hour AWS transcript ≤ 50 ms, median).

Builds, from a fixed seed, a one-hour two-speaker call as AWS Transcribe writes it with speaker
diarization (``results.items`` with string times and ``speaker_label`` on each word, the
``speaker_labels.segments`` list repeating every word, punctuation items without times; about
9,000 words, 150 a minute, the caller heard first) and the same call as WebVTT with named
voices and as Contact Lens JSON.  Times ``parse_transcript`` on each (the whole path: decode,
JSON, words to turns, roles by content, body, subject), and ``json.loads`` of the AWS file alone
as the baseline measured in the same run (the floor any JSON parser pays).  Usage:

    .venv/bin/python bench/parse_transcript_speed.py [--runs 30] [--minutes 60] [--seed 16]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from channels.phone import parse_transcript  # noqa: E402

META = {"caller": "081234567002", "received_at": "2026-03-04T00:00:00+00:00"}
DESK = ("selamat siang layanan pengaduan prakerja dengan rina ada yang bisa dibantu boleh "
        "disebutkan nik bapak mohon ditunggu kami cek dulu datanya terima kasih sudah menunggu "
        "pencairan gelombang ini tertunda paling lambat tujuh hari kerja").split()
CITIZEN = ("halo bu insentif saya belum cair sudah dua bulan saldo e-wallet masih kosong "
           "padahal pelatihan sudah selesai sertifikat sudah keluar kenapa ya tolong dibantu "
           "nik saya tiga dua nol satu").split()


def call_turns(minutes: int, rng: random.Random) -> list[tuple[str, float, list[str]]]:
    """(speaker, start seconds, words) turns filling ``minutes`` at 150 words a minute."""
    turns: list[tuple[str, float, list[str]]] = []
    at, speaker = 0.4, "spk_0"  # spk_0 is the caller, heard first
    while at < minutes * 60:
        vocab = CITIZEN if speaker == "spk_0" else DESK
        words = [rng.choice(vocab) for _ in range(rng.randint(6, 40))]
        turns.append((speaker, at, words))
        at += len(words) * 0.4 + rng.uniform(0.2, 1.5)
        speaker = "spk_1" if speaker == "spk_0" else "spk_0"
    return turns


def aws_doc(turns: list[tuple[str, float, list[str]]]) -> bytes:
    items: list[dict[str, Any]] = []
    segments: list[dict[str, Any]] = []
    for speaker, start, words in turns:
        seg_items = []
        for i, word in enumerate(words):
            s, e = f"{start + i * 0.4:.3f}", f"{start + i * 0.4 + 0.35:.3f}"
            items.append({"start_time": s, "speaker_label": speaker, "end_time": e,
                          "alternatives": [{"confidence": "0.9871", "content": word}],
                          "type": "pronunciation"})
            seg_items.append({"start_time": s, "speaker_label": speaker, "end_time": e})
            if i % 9 == 8 or i == len(words) - 1:
                items.append({"speaker_label": speaker, "type": "punctuation",
                              "alternatives": [{"confidence": "0.0", "content": "."}]})
        segments.append({"start_time": seg_items[0]["start_time"], "speaker_label": speaker,
                         "end_time": seg_items[-1]["end_time"], "items": seg_items})
    doc = {"jobName": "bench-one-hour", "accountId": "000000000000", "status": "COMPLETED",
           "results": {"transcripts": [{"transcript": "…"}], "speaker_labels": {
               "speakers": 2, "segments": segments}, "items": items}}
    return json.dumps(doc).encode()  # AWS writes compact JSON


def vtt_doc(turns: list[tuple[str, float, list[str]]]) -> bytes:
    names = {"spk_0": "Budi Santoso", "spk_1": "Rina Wulandari"}
    lines = ["WEBVTT", ""]
    for speaker, start, words in turns:
        end = start + len(words) * 0.4
        lines += [f"{_stamp(start)} --> {_stamp(end)}",
                  f"<v {names[speaker]}>{' '.join(words)}.</v>", ""]
    return "\n".join(lines).encode()


def lens_doc(turns: list[tuple[str, float, list[str]]]) -> bytes:
    role = {"spk_0": "CUSTOMER", "spk_1": "AGENT"}
    doc = {"Channel": "VOICE", "CustomerMetadata": {"ContactId": "bench"}, "Transcript": [
        {"ParticipantId": role[s], "Content": " ".join(w) + ".", "BeginOffsetMillis": int(t * 1000),
         "EndOffsetMillis": int((t + len(w) * 0.4) * 1000), "Sentiment": "NEUTRAL"}
        for s, t, w in turns]}
    return json.dumps(doc).encode()


def _stamp(seconds: float) -> str:
    ms = int(seconds * 1000)
    return f"{ms // 3_600_000:02}:{ms // 60_000 % 60:02}:{ms // 1000 % 60:02}.{ms % 1000:03}"


def median_ms(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time of this thread, in ms.  On a shared machine the
    wall time includes waiting for a core; the CPU time is what the parse itself costs."""
    fn()  # warm up
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.thread_time()
        fn()
        cpu.append((time.thread_time() - c0) * 1000)
        wall.append((time.perf_counter() - t0) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    turns = call_turns(args.minutes, random.Random(args.seed))
    words = sum(len(w) for _, _, w in turns)
    aws = aws_doc(turns)
    msg = parse_transcript(aws, META)
    assert msg.extra["speaker_roles"]["speakers"][0] == {
        "speaker": "spk_0", "role": "caller", "by": "content",
        **{k: v for k, v in msg.extra["speaker_roles"]["speakers"][0].items()
           if k.endswith("_cues")}}, "the caller heard first must be read as the caller"
    print(f"{args.minutes}-minute call: {len(turns)} turns, {words} words; AWS file "
          f"{len(aws) / 1e6:.2f} MB")
    base, base_cpu = median_ms(lambda: json.loads(aws), args.runs)
    print(f"{'baseline: json.loads of the AWS file':<44} median {base:6.1f} ms wall "
          f"{base_cpu:6.1f} ms CPU")
    for label, raw in (("parse_transcript, AWS Transcribe JSON", aws),
                       ("parse_transcript, WebVTT named voices", vtt_doc(turns)),
                       ("parse_transcript, Contact Lens JSON", lens_doc(turns))):
        took, cpu = median_ms(lambda raw=raw: parse_transcript(raw, META), args.runs)
        print(f"{label:<44} median {took:6.1f} ms wall {cpu:6.1f} ms CPU   "
              f"({cpu / base_cpu:.2f}x the baseline's CPU, {len(raw) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
