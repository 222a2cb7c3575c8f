"""Every transcript of the corpus (real samples from AWS' documentation, webvtt-py and the W3C
WebVTT tests, plus our own Teams/Zoom/Meet-style files; origins and licences in
``corpus/SOURCES``) parsed as its ``.expected.json`` says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from channels.phone import parse_transcript
from channels.phone.cues import cue_timeline
from channels.phone.roles import RoleHints, channel_roles_from
from ticketing.domain.errors import MalformedPayload

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p for p in CORPUS.iterdir()
               if p.is_file() and p.name != "SOURCES" and not p.name.endswith(".expected.json"))
META = {"caller": "081234567002", "received_at": "2026-03-04T00:00:00+00:00"}


def test_every_file_has_an_expected_parse_and_a_source() -> None:
    sources = (CORPUS / "SOURCES").read_text(encoding="utf-8")
    assert len(CASES) >= 20
    for case in CASES:
        assert (CORPUS / f"{case.name}.expected.json").exists(), case.name
        assert case.name in sources or case.name.split("_")[0] + "_" in sources, case.name


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_file_parses_as_expected(case: Path) -> None:
    expected: dict[str, Any] = json.loads((CORPUS / f"{case.name}.expected.json").read_text())
    raw = case.read_bytes()
    config = expected.get("hints", {})
    hints = RoleHints.build(agent_names=config.get("agent_names", ()),
                            channel_roles=channel_roles_from(config.get("channel_roles", "")))
    if "cues" in expected:
        assert [list(c) for c in cue_timeline(raw.decode("utf-8-sig"))] == expected["cues"]
    if "quarantine" in expected:
        with pytest.raises(MalformedPayload) as caught:
            parse_transcript(raw, META, hints)
        assert str(caught.value) == expected["quarantine"]
        return
    msg = parse_transcript(raw, META, hints)
    report = msg.extra["speaker_roles"]
    assert msg.extra["transcript_format"] == expected["format"]
    assert {k: report[k] for k in ("method", "inferred")} == expected["roles"]
    assert {s["speaker"]: s["role"] for s in report["speakers"]} == expected["speakers"]
    lines = msg.body.splitlines()
    turns = [[role, start, end, line.split(": ", 1)[1]]
             for (role, start, end), line in zip(msg.extra["turns"], lines, strict=True)]
    assert turns == expected["turns"]
    assert all(line.startswith("Agen: " if t[0] == "agent" else "Penelepon: ")
               for t, line in zip(turns, lines, strict=True))
    assert msg.subject == expected["subject"]
    assert msg.sender.name == expected["sender_name"]
    if expected.get("call_id"):
        assert msg.external_id == expected["call_id"]
