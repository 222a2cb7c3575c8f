"""Separating a citizen's new text from quoted history and signatures in an email body.

Owns ``split_reply`` (and the richer ``parse_reply``): which lines the citizen wrote now, which are
the signature block, and which are the history their mail client quoted.  A *forward* is not
history: the forwarded mail is what the citizen is sending us, so it stays in the new text and the
result says ``forwarded``.  Pure text rules, no email parsing; never raises.

Recognised (Indonesian and English):
* attributions — Gmail ``Pada <tanggal> <nama> <email> menulis:`` / ``On <date> <name> <email>
  wrote:`` (also wrapped over up to three lines), Yahoo's ``On Monday, June 3, 2024, 10:15 AM GMT+7,
  Name <email> wrote:`` and the old Gmail ``2014-06-03 10:15 GMT+07:00 Name <email>:``;
* Outlook — ``-----Original Message-----`` / ``-----Pesan Asli-----``, ``From:``/``Dari:`` header
  blocks (with ``Sent:``/``Dikirim:``, ``To:``/``Kepada:``, ``Subject:``/``Perihal:``) and the
  ``________________________________`` rule above them;
* ``>``-prefixed runs (two lines or more, or right after an attribution), bottom-posting included;
* forwards — ``---------- Forwarded message ---------``, ``---------- Pesan yang diteruskan
  ---------``, Yahoo's ``----- Pesan yang Diteruskan -----``, Apple's ``Begin forwarded message:``;
* signatures — a ``-- `` / ``--`` line, and client lines such as ``Sent from my iPhone``,
  ``Dikirim dari Yahoo Mail di Android``, ``Get Outlook for Android``, within the last 15 lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_SEPARATOR_RE: Final = re.compile(
    r"^\s*-{3,}\s*(original message|pesan asli|pesan aslinya|pesan semula)\s*-{3,}\s*$",
    re.IGNORECASE)
_FORWARD_RE: Final = re.compile(
    r"^\s*(?:-{2,}\s*(?:forwarded message|pesan yang diteruskan|pesan terusan|pesan diteruskan)"
    r"\s*-{2,}|(?:begin forwarded message|mulai pesan yang diteruskan|awal pesan yang diteruskan)"
    r"\s*:)\s*$", re.IGNORECASE)
_ATTR_START_RE: Final = re.compile(r"^\s*(?:pada|on|le|am|el|em)\b", re.IGNORECASE)
_ATTR_END_RE: Final = re.compile(
    r"(?:menulis|wrote|a écrit|schrieb|escribió|escreveu)\s*:\s*$", re.IGNORECASE)
_INLINE_ATTR_RE: Final = re.compile(
    r"<[^<>\s]{1,200}@[^<>\s]{1,200}>\s*(?:menulis|wrote)\s*:\s{2,}\S", re.IGNORECASE)
_ATTR_EVIDENCE_RE: Final = re.compile(r"@|\d{1,2}[:.]\d{2}")
_OLD_GMAIL_RE: Final = re.compile(r"^\s*\d{4}-\d{2}-\d{2} .{0,80}<[^<>\s]+@[^<>\s]+>\s*:\s*$")
_RULE_RE: Final = re.compile(r"^\s*_{10,}\s*$")
_FROM_RE: Final = re.compile(r"^\s*\*?(?:from|dari|von|de)\s*:\*?\s*\S", re.IGNORECASE)
_FIELD_RE: Final = re.compile(
    r"^\s*\*?(?:sent|dikirim|date|tanggal|to|kepada|cc|subject|perihal|subjek|hal|terkirim"
    r"|gesendet|an|betreff)\s*:", re.IGNORECASE)
_QUOTED_RE: Final = re.compile(r"^\s{0,3}>")
_SIG_DELIM_RE: Final = re.compile(r"^(?:--|—|– )\s*$")
_DEVICE_RE: Final = re.compile(
    r"^\s*(?:sent from|dikirim dari|get outlook for|dapatkan outlook untuk|sent via|"
    r"diketik dari|sent using|dikirim menggunakan|dikirim via)\b", re.IGNORECASE)
_SIG_WINDOW: Final = 15
_MAX_ATTR_CHARS: Final = 400


@dataclass(frozen=True, slots=True)
class ReplyParts:
    new_text: str
    signature: str
    quoted: str
    forwarded: bool


def _attribution_len(lines: list[str], i: int) -> int:
    """Number of lines of an attribution starting at ``lines[i]`` (0 when there is none)."""
    line = lines[i]
    if len(line) > _MAX_ATTR_CHARS:
        return 0
    if _OLD_GMAIL_RE.match(line):
        return 1
    if _ATTR_START_RE.match(line) and _INLINE_ATTR_RE.search(line):
        return 1  # Yahoo's text part runs the quoted text on after "menulis:   "
    if _ATTR_START_RE.match(line):
        joined = ""
        for k in range(3):
            if i + k >= len(lines) or len(lines[i + k]) > _MAX_ATTR_CHARS:
                return 0
            joined = f"{joined} {lines[i + k]}"
            if _ATTR_END_RE.search(lines[i + k]):
                return k + 1 if _ATTR_EVIDENCE_RE.search(joined) else 0
            if not lines[i + k].strip():
                return 0
        return 0
    if _ATTR_END_RE.search(line) and "@" in line:
        return 1  # "Budi <budi@x.id> menulis:" without an opening word
    return 0


def _outlook_block(lines: list[str], i: int) -> bool:
    if not _FROM_RE.match(lines[i]):
        return False
    following = lines[i + 1:i + 6]
    return sum(1 for nxt in following if _FIELD_RE.match(nxt)) >= 2


def _header_len(lines: list[str], i: int) -> int:
    """Lines taken by a quote header (attribution, separator, Outlook block) at ``i``; 0 if none."""
    if _SEPARATOR_RE.match(lines[i]):
        return 1
    if _RULE_RE.match(lines[i]):
        for k in range(i + 1, min(i + 3, len(lines))):
            if lines[k].strip():
                return 1 if _outlook_block(lines, k) else 0
        return 0
    if _outlook_block(lines, i):
        return 1
    return _attribution_len(lines, i)


def _quoted_run_end(lines: list[str], i: int) -> int:
    """End (exclusive) of the run of ``>`` lines and blank lines starting at ``i``."""
    j = i
    last = i
    while j < len(lines) and (_QUOTED_RE.match(lines[j]) or not lines[j].strip()):
        if lines[j].strip():
            last = j + 1
        j += 1
    return last


def _split_signature(lines: list[str]) -> tuple[list[str], list[str]]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    for k in range(max(0, end - _SIG_WINDOW), end):
        if k > 0 and (_SIG_DELIM_RE.match(lines[k]) or _DEVICE_RE.match(lines[k])):
            return lines[:k], lines[k:end]
    return lines, []


def _join(lines: list[str]) -> str:
    # Trailing blanks are noise, except in the RFC 3676 signature delimiter "-- ".
    return "\n".join(line if line == "-- " else line.rstrip() for line in lines).strip("\n")


def parse_reply(text: str, *, forward_hint: bool = False) -> ReplyParts:
    """Split ``text``; with ``forward_hint`` (the subject says Fwd:/Teruskan:) the first quote
    header is read as the start of a forward (Outlook forwards look exactly like its replies)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    new: list[str] = []
    quoted: list[str] = []
    forward: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FORWARD_RE.match(line):
            forward = lines[i:]
            break
        header = _header_len(lines, i)
        if header and forward_hint:
            forward = lines[i:]
            break
        if header:
            after = i + header
            nxt = after
            while nxt < len(lines) and not lines[nxt].strip():
                nxt += 1
            if nxt < len(lines) and _QUOTED_RE.match(lines[nxt]):
                end = _quoted_run_end(lines, nxt)
                quoted.extend(lines[i:end])
                i = end
                continue
            quoted.extend(lines[i:])
            break
        if _QUOTED_RE.match(line):
            end = _quoted_run_end(lines, i)
            if sum(1 for q in lines[i:end] if q.strip()) >= 2:
                quoted.extend(lines[i:end])
                i = end
                continue
        new.append(line)
        i += 1
    body, signature = _split_signature(new)
    new_text = "\n\n".join(part for part in (_join(body), _join(forward)) if part)
    return ReplyParts(new_text=new_text, signature=_join(signature), quoted=_join(quoted),
                      forwarded=bool(forward))


def split_reply(text: str) -> tuple[str, str, str]:
    """``(new_text, signature, quoted)`` of an email body."""
    parts = parse_reply(text)
    return parts.new_text, parts.signature, parts.quoted


def is_client_boilerplate(line: str) -> bool:
    """A mail client's own line ("Sent from my iPhone"): no evidence about the writer."""
    return bool(_DEVICE_RE.match(line))
