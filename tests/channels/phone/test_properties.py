"""Property tests (hypothesis) of the transcript parser: any bytes give a message or a
quarantine with a reason, never another exception; a generated call in any format reads back
with its speakers' roles, times and words; who speaks first never decides the roles.  Kept small
(the long run is ``bench/fuzz_transcripts.py``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.phone import parse_transcript, read_transcript
from channels.phone.call import stamp_ms
from channels.phone.roles import RoleHints
from ticketing.domain.errors import MalformedPayload
from ticketing.domain.message import InboundMessage
from ticketing.domain.text import Role

CORPUS = Path(__file__).parent / "corpus"
SEEDS = [p.read_bytes() for p in sorted(CORPUS.iterdir())
         if p.is_file() and p.name != "SOURCES" and not p.name.endswith(".expected.json")]
META = {"caller": "081234567002", "received_at": "2026-03-04T00:00:00+00:00"}
FAST = settings(max_examples=int(os.environ.get("TRANSCRIPT_EXAMPLES", "60")), deadline=None, suppress_health_check=[HealthCheck.too_slow])

DESK = ["Selamat pagi, layanan pengaduan Prakerja, ada yang bisa dibantu?",
        "Boleh disebutkan NIK Bapak?", "Mohon ditunggu, kami cek dulu.",
        "Thank you for calling, how can I help?"]
CITIZEN = ["Insentif saya belum cair sudah dua bulan.", "OTP tidak masuk ke HP saya.",
           "Akun saya terblokir, kenapa ya?", "I can't log in to my account."]
FILLER = ["Halo?", "Iya.", "Baik.", "Oke, terima kasih."]


def outcome(raw: bytes) -> InboundMessage | str:
    try:
        return parse_transcript(raw, META)
    except MalformedPayload as exc:
        assert str(exc).strip(), "a quarantine needs a reason"
        assert not str(exc).startswith("unparseable transcript"), f"parser bug: {exc}"
        return str(exc)


@FAST
@given(st.binary(max_size=600))
def test_any_bytes_are_a_message_or_a_quarantine_with_a_reason(raw: bytes) -> None:
    outcome(raw)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at:at + draw(st.integers(1, 40))]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from([b"-->", b"\n\n", b"<v ", b"\"", b"{", b"]",
                                                b"\x00", b"\xff", b"0:0:0.0", b"NOTE ",
                                                b"Pelapor: ", b"\r"]))
        else:
            data[at:at] = data[at:at + draw(st.integers(1, 80))]
    return bytes(data)


@FAST
@given(mutated())
def test_mutated_real_transcripts_never_crash(raw: bytes) -> None:
    outcome(raw)


# --- generated calls in every format -----------------------------------------------------------

@st.composite
def calls(draw: st.DrawFn) -> list[tuple[Role, int, int, str]]:
    """Alternating turns (either side first), each with a line of its side's speech."""
    first = draw(st.sampled_from([Role.AGENT, Role.CALLER]))
    count = draw(st.integers(2, 8))
    out: list[tuple[Role, int, int, str]] = []
    at = draw(st.integers(0, 5_000))
    for n in range(count):
        role = first if n % 2 == 0 else (Role.CALLER if first is Role.AGENT else Role.AGENT)
        said = draw(st.sampled_from(DESK if role is Role.AGENT else CITIZEN))
        if n < 2:  # each side's first turn says who it is
            said = (DESK if role is Role.AGENT else CITIZEN)[0 if role is Role.AGENT else n % 2]
        elif draw(st.booleans()):
            said = f"{draw(st.sampled_from(FILLER))} {said}"
        length = draw(st.integers(300, 9_000))
        out.append((role, at, at + length, said))
        at += length + draw(st.integers(0, 2_000))
    return out


def _vtt_stamp(ms: int, teams: bool) -> str:
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, milli = divmod(rest, 1000)
    # Teams leaves out leading and trailing zeros: 3.520 s is "0:0:3.52"
    frac = f"{milli:03}".rstrip("0") or "0"
    return f"{h}:{m}:{s}.{frac}" if teams else f"{h:02}:{m:02}:{s:02}.{milli:03}"


NAMES = {Role.AGENT: "Rina Wulandari", Role.CALLER: "Budi Santoso"}


def render(call: list[tuple[Role, int, int, str]], form: str) -> tuple[bytes, RoleHints]:
    hints = RoleHints()
    if form in ("teams", "webvtt"):
        lines = ["WEBVTT", ""]
        for role, start, end, text in call:
            lines += [f"{_vtt_stamp(start, form == 'teams')} --> {_vtt_stamp(end, form == 'teams')}",
                      f"<v {NAMES[role]}>{text}</v>", ""]
        hints = RoleHints.build(agent_names=["Rina Wulandari"]) if form == "teams" else hints
        return "\n".join(lines).encode(), hints
    if form == "srt":
        lines = []
        for n, (role, start, end, text) in enumerate(call, 1):
            a, b = (_vtt_stamp(x, False).replace(".", ",") for x in (start, end))
            lines += [str(n), f"{a} --> {b}", f"{'Petugas' if role is Role.AGENT else 'Pelapor'}: "
                      f"{text}", ""]
        return "\n".join(lines).encode(), hints
    if form in ("contact-lens", "call-analytics"):
        key = "ParticipantId" if form == "contact-lens" else "ParticipantRole"
        doc: dict[str, Any] = {"Transcript": [
            {key: "AGENT" if role is Role.AGENT else "CUSTOMER", "Content": text,
             "BeginOffsetMillis": start, "EndOffsetMillis": end}
            for role, start, end, text in call]}
        doc["CustomerMetadata" if form == "contact-lens" else "JobStatus"] = (
            {"ContactId": "c"} if form == "contact-lens" else "COMPLETED")
        return json.dumps(doc).encode(), hints
    # AWS Transcribe with channel identification, the desk's channel configured
    items: list[dict[str, Any]] = []
    for role, start, end, text in call:
        words = text.split()
        step = (end - start) // len(words)
        for i, w in enumerate(words):
            items.append({"type": "pronunciation", "channel_label": "ch_0" if role is Role.AGENT
                          else "ch_1", "start_time": f"{(start + i * step) / 1000:.3f}",
                          "end_time": f"{(start + (i + 1) * step) / 1000:.3f}",
                          "alternatives": [{"confidence": "0.9", "content": w}]})
    hints = RoleHints.build(channel_roles={"ch_0": Role.AGENT, "ch_1": Role.CALLER})
    return json.dumps({"jobName": "j", "results": {"items": items}}).encode(), hints


FORMS = ["teams", "webvtt", "srt", "contact-lens", "call-analytics", "aws"]


@FAST
@given(calls(), st.sampled_from(FORMS))
def test_a_generated_call_reads_back_in_every_format(call: list[tuple[Role, int, int, str]],
                                                     form: str) -> None:
    raw, hints = render(call, form)
    t = read_transcript(raw, hints)
    assert [x.role for x in t.turns] == [role for role, *_ in call]
    assert [x.start_ms for x in t.turns] == [start for _, start, _, _ in call]
    if form != "aws":  # AWS splits a turn into words: its end is the last word's
        assert [x.end_ms for x in t.turns] == [end for _, _, end, _ in call]
    assert [" ".join(x.text.split()) for x in t.turns] == [text for *_, text in call]
    assert t.roles is not None and t.roles.inferred is (form == "webvtt")


@FAST
@given(calls())
def test_who_speaks_first_never_decides_the_roles(call: list[tuple[Role, int, int, str]]) -> None:
    raw, _ = render(call, "webvtt")  # named voices, no configuration: content decides
    roles = [x.role for x in read_transcript(raw).turns]
    assert roles == [role for role, *_ in call]


@FAST
@given(st.integers(0, 99 * 3_600_000), st.sampled_from(["teams", "padded", "srt", "short"]))
def test_time_stamp_forms_round_trip(ms: int, form: str) -> None:
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, milli = divmod(rest, 1000)
    text = {"teams": f"{h}:{m}:{s}.{milli:03}", "padded": f"{h:02}:{m:02}:{s:02}.{milli:03}",
            "srt": f"{h:02}:{m:02}:{s:02},{milli:03}",
            "short": f"{m:02}:{s:02}.{milli:03}" if h == 0 else f"{h}:{m:02}:{s:02}.{milli:03}"}
    assert stamp_ms(text[form]) == ms
