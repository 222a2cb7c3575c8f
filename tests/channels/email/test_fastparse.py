"""``fastparse.parse_message`` must build exactly the tree the stdlib's compat32 parser builds
(headers, payloads, preambles, epilogues, default types, defects), on the corpus, on crafted
edge cases of the feedparser's line rules, and on generated MIME trees; and it must really take
its fast path on ordinary mail (else the speed figure would be the stdlib's again)."""

from __future__ import annotations

import email
import sys
from email.message import Message
from email.policy import compat32
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.email.fastparse import _NotPlain, _part, parse_message

HERE = Path(__file__).parent
SAMPLES = sorted([*(HERE / "corpus").glob("*.eml"), *(HERE / "fixtures").glob("*.eml")])


def _shape(msg: Message) -> Any:
    payload = msg._payload  # type: ignore[attr-defined]
    return (type(msg), msg._headers, msg.get_unixfrom(),  # type: ignore[attr-defined]
            msg.preamble, msg.epilogue, msg.get_default_type(),
            msg._charset,  # type: ignore[attr-defined]
            [(type(d), str(d)) for d in msg.defects],
            [_shape(p) for p in payload] if isinstance(payload, list) else payload)


def _fast_path_taken(raw: bytes) -> bool:
    text = raw.decode("ascii", "surrogateescape")
    try:
        _part(text, 0, len(text), (), 0)
    except _NotPlain:
        return False
    return True


def _same(raw: bytes) -> None:
    assert _shape(parse_message(raw)) == _shape(email.message_from_bytes(raw, policy=compat32))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_corpus_and_fixtures_read_as_the_stdlib_reads_them(path: Path) -> None:
    raw = path.read_bytes()
    for variant in (raw, raw.replace(b"\r\n", b"\n"), raw.replace(b"\r\n", b"\n").replace(
            b"\n", b"\r\n")):
        _same(variant)


def test_the_fast_path_is_taken_on_ordinary_mail() -> None:
    sys.path.insert(0, str(HERE.parents[2] / "bench"))
    try:
        from parse_mail_speed import typical_mail  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    assert _fast_path_taken(typical_mail())
    taken = sum(_fast_path_taken(p.read_bytes()) for p in SAMPLES)
    assert taken >= len(SAMPLES) // 2  # most real samples are well formed


HEAD = "From: a@b.id\nSubject: x\nMIME-Version: 1.0\n"
MIX = HEAD + 'Content-Type: multipart/mixed; boundary="b"\n\n'
LEAF = "Content-Type: text/plain\n\nisi\n"
EDGE_CASES = {
    "plain": HEAD + "\nbody\nline\n",
    "plain-no-final-newline": HEAD + "\nbody",
    "preamble-and-epilogue": MIX + "pre\n\n--b\n" + LEAF + "--b--\nepi\n",
    "one-line-preamble": MIX + "\n--b\n" + LEAF + "--b--\n",
    "no-preamble-no-epilogue": MIX + "--b\n" + LEAF + "--b--",
    "close-with-spaces": MIX + "--b\n" + LEAF + "--b--  \t\nafter\n",
    "delimiter-with-spaces": MIX + "--b \t\n" + LEAF + "--b--\n",
    "delimiter-lookalikes": MIX + "--b\n" + "\n x --b\n--bc\n--b--x\n---b\n" + "--b--\n",
    "nested": MIX + "--b\nContent-Type: multipart/alternative; boundary=c\n\n--c\n" + LEAF
    + "--c\nContent-Type: text/html\n\n<p>x</p>\n--c--\nnested epi\n\n--b\n" + LEAF + "--b--\n",
    "nested-empty-epilogue": MIX + "--b\nContent-Type: multipart/alternative; boundary=c\n\n--c\n"
    + LEAF + "--c--\n--b--\n",
    "nested-reuses-boundary": MIX + "--b\nContent-Type: multipart/alternative; boundary=b\n\n--b\n"
    + LEAF + "--b--\n--b\n" + LEAF + "--b--\n",
    "inner-boundary-is-outer-prefix": MIX + "--b\nContent-Type: multipart/mixed; boundary=b--\n\n"
    "--b--\n" + LEAF + "--b----\n--b--\n",
    "no-close": MIX + "--b\n" + LEAF,
    "no-start": MIX + "just text\n--b--\n",
    "close-first": MIX + "--b--\n--b\n" + LEAF,
    "adjacent-delimiters": MIX + "--b\n--b\n" + LEAF + "--b--\n",
    "start-then-close": MIX + "--b\n--b--\n",
    "no-boundary-param": HEAD + "Content-Type: multipart/mixed\n\n--b\n" + LEAF + "--b--\n",
    "empty-boundary": HEAD + 'Content-Type: multipart/mixed; boundary=""\n\n--\n' + LEAF + "----\n",
    "boundary-rfc2231": HEAD + "Content-Type: multipart/mixed; boundary*=''b\n\n--b\n" + LEAF
    + "--b--\n",
    "multipart-base64": MIX.replace("\n\n", "\nContent-Transfer-Encoding: base64\n\n")
    + "--b\n" + LEAF + "--b--\n",
    "lone-cr": MIX + "--b\r" + LEAF + "--b--\n",
    "crlf": (MIX + "--b\n" + LEAF + "--b--\n").replace("\n", "\r\n"),
    "mixed-line-ends": MIX + "--b\r\n" + LEAF + "--b--\r\n",
    "unixfrom": "From a@b.id Mon Jan  1 00:00:00 2024\n" + HEAD + "\nbody\n",
    "misplaced-envelope": HEAD + "From x@y Mon\nX: y\n\nbody\n",
    "missing-blank-line": HEAD + "not a header\nbody\n",
    "headers-only": HEAD,
    "headers-only-newline": HEAD + "\n",
    "first-line-continuation": " folded first\n" + HEAD + "\nbody\n",
    "empty-header-name": HEAD + ": no name\n\nbody\n",
    "folded-headers": "Subject: a\n\tb\n c\nFrom: x@y.id\n\nbody\n",
    "part-without-headers": MIX + "--b\n\nbare body\n--b--\n",
    "part-without-blank-line": MIX + "--b\nContent-Type: text/plain\n--b--\n",
    "message-rfc822": MIX + "--b\nContent-Type: message/rfc822\n\n" + HEAD + "\ninner\n--b--\n",
    "delivery-status": MIX + "--b\nContent-Type: message/delivery-status\n\nA: 1\n\nB: 2\n--b--\n",
    "message-rfc822-multipart": MIX + "--b\nContent-Type: message/rfc822\n\n" + HEAD
    + 'Content-Type: multipart/alternative; boundary="c"\n\n--c\n' + LEAF + "--c--\nepi\n\n--b--\n",
    "message-rfc822-nested": MIX + "--b\nContent-Type: message/rfc822\n\nContent-Type: message/rfc822"
    "\n\n" + HEAD + "\ninner\n\n--b\n" + LEAF + "--b--\n",
    "message-rfc822-empty": MIX + "--b\nContent-Type: message/rfc822\n\n--b--\n",
    "message-rfc822-root": "Content-Type: message/rfc822\n\n" + HEAD + "\ninner\n",
    "delivery-status-blank-lines": MIX + "--b\nContent-Type: message/delivery-status\n\n\nA: 1\n"
    "\n\n\nB: 2\n C\n\n--b--\n",
    "delivery-status-no-final-blank": MIX + "--b\nContent-Type: message/delivery-status\n\nA: 1\n"
    "--b--\n",
    "delivery-status-empty": MIX + "--b\nContent-Type: message/delivery-status\n\n--b--\n",
    "delivery-status-text-line": MIX + "--b\nContent-Type: message/delivery-status\n\nA: 1\nnot a"
    " field\n\n--b--\n",
    "delivery-status-typed-block": MIX + "--b\nContent-Type: message/delivery-status\n\n"
    "Content-Type: multipart/mixed; boundary=z\n\n--b--\n",
    "digest": HEAD + "Content-Type: multipart/digest; boundary=b\n\n--b\n\n" + HEAD + "\nx\n--b--\n",
    "eight-bit": HEAD + "Content-Type: text/plain; charset=utf-8\n\nJalan \u00e9\u8def\n",
    "eight-bit-header": "Subject: \u00e9t\u00e9\n" + HEAD + "\nx\n",
    "form-feed-and-vt": HEAD + "\na\x0cb\x0bc\x1cd\n",
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_edge_cases_read_as_the_stdlib_reads_them(name: str) -> None:
    _same(EDGE_CASES[name].encode("utf-8", "surrogateescape"))


def test_edge_cases_exercise_both_paths() -> None:
    taken = {n for n, t in EDGE_CASES.items() if _fast_path_taken(t.encode("utf-8"))}
    assert {"plain", "preamble-and-epilogue", "nested", "crlf", "delimiter-lookalikes",
            "multipart-base64", "part-without-headers", "message-rfc822", "delivery-status",
            "message-rfc822-multipart", "message-rfc822-nested", "delivery-status-blank-lines",
            "delivery-status-no-final-blank"} <= taken
    assert not {"no-close", "no-start", "adjacent-delimiters", "lone-cr", "unixfrom",
                "digest", "nested-reuses-boundary", "delivery-status-text-line"} & taken


_LINES = st.sampled_from([
    "--b", "--b--", "--c", "--c--", "--b  ", "--bb", " --b", "", "text", "> quote",
    "Content-Type: text/plain", "Content-Type: multipart/mixed; boundary=c",
    "Content-Type: multipart/alternative; boundary=b", "Content-Type: message/rfc822",
    "Content-Transfer-Encoding: base64", "X-A: 1", "Content-Type: message/delivery-status", " folded", "From x", ":", "\u00e9"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_LINES, max_size=30), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_generated_trees_read_as_the_stdlib_reads_them(lines: list[str], eol: str,
                                                       final: bool) -> None:
    text = MIX + "\n".join(lines) + ("\n" if final else "")
    _same(text.replace("\n", eol).encode("utf-8", "surrogateescape"))
