"""Separating a citizen's new text from quoted history and signatures in an email body.

Owns ``split_reply`` (and the richer ``parse_reply``): which lines the citizen wrote now, which are
the signature block, and which are the history their mail client quoted.  A *forward* is not
history: the forwarded mail is what the citizen is sending us, so it stays in the new text and the
result says ``forwarded``.  Pure text rules, no email parsing; never raises.

Recognised, in the languages of ``reply_lang.py`` (Indonesian, English, Russian, French,
German, Spanish, Dutch, Portuguese, Japanese, Italian and more):
* attributions — Gmail ``Pada <tanggal> <nama> <email> menulis:`` / ``On <date> <name> <email>
  wrote:`` / ``Le ... a écrit :`` / ``Am ... schrieb Name <email>:`` (wrapped over up to three
  lines), Gmail's verb-less ``<date> <name> <email>:`` (Japanese, Russian), Thunderbird's
  ``On 03/06/2024 10:15, Name wrote:``, Yahoo's run-on ``... menulis:   text``, Apple Mail's
  ``On 3 Jun 2024, at 10:15, Name <email> wrote:`` and the old Gmail ``2014-06-03 ... <email>:``;
  an attribution needs an address or a time, so a sentence ending in "menulis:" is text;
* Outlook desktop and web — ``-----Original Message-----`` in any of those languages (also
  Android's ``-------- Original message --------``), ``From:``/``Dari:``/``Von:``/``De :``/``От:``
  header blocks (two more fields and an address or time among them) and the ``____``/``----``
  rule above them (a block that opens the text, with nothing above it, is a formal letter's
  heading — "Dari:/Kepada:/Perihal:" — and stays text);
* ``>``-prefixed runs (two lines or more, or right after an attribution), bottom-posting included;
* forwards — ``---------- Forwarded message ---------`` and its translations, Apple's ``Begin
  forwarded message:``;
* signatures — a ``-- `` / ``--`` line, and client lines such as ``Sent from my iPhone``,
  ``Dikirim dari Yahoo Mail di Android``, ``Von meinem iPhone gesendet``, ``iPhoneから送信``,
  within the last 15 lines;
* mailing-list footers (Mailman's ``listinfo`` block, Google Groups' "You received this
  message because ..."), kept apart as ``footer``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from channels.email import reply_lang as L

_SIG_WINDOW: Final = 15
_MAYBE_HEADER_RE: Final = re.compile(r"[:：@<\d]|^\s*[-_=—–*]")
_FOOTER_WINDOW: Final = 12
_MAX_ATTR_CHARS: Final = 400


@dataclass(frozen=True, slots=True)
class ReplyParts:
    new_text: str
    signature: str
    quoted: str
    forwarded: bool
    footer: str = ""  # a mailing list's footer (Mailman, Google Groups, unsubscribe blocks)


def _attribution_len(lines: list[str], i: int) -> int:
    """Number of lines of an attribution starting at ``lines[i]`` (0 when there is none)."""
    line = lines[i]
    if len(line) > _MAX_ATTR_CHARS or not line.strip():
        return 0
    if L.OLD_GMAIL_RE.match(line):
        return 1
    if L.ATTR_START_RE.match(line) and L.INLINE_ATTR_RE.search(line):
        return 1
    joined = ""
    for k in range(3):  # wrapped by the client over up to three lines
        if i + k >= len(lines) or len(lines[i + k]) > _MAX_ATTR_CHARS or not lines[i + k].strip():
            return 0
        if k and (L.QUOTED_RE.match(lines[i + k]) or not L.ATTR_START_RE.match(line)):
            return 0  # only a line that starts like an attribution may continue on the next
        joined = f"{joined} {lines[i + k].strip()}"
        if not joined.rstrip().endswith((":", "：")):
            continue
        found = (L.ATTR_VERB_RE.search(joined) and L.ATTR_EVIDENCE_RE.search(joined)) or (
            L.ATTR_ADDRESS_END_RE.search(joined) and L.ATTR_DATE_RE.search(joined)
            and (k or L.ATTR_START_RE.match(line)))
        # "Am heutigen Tage\nAm So., 1. Jan. ... schrieb": the attribution starts at the later
        # line that can start one alone; the first is the citizen's.
        if found and k and L.ATTR_START_RE.match(lines[i + 1]) and _attribution_len(lines, i + 1):
            return 0
        return k + 1 if found else 0
    return 0


def _outlook_block(lines: list[str], i: int) -> bool:
    """``From:``/``Dari:``/``Von:``... followed by three header fields, or by two with an address
    or a time among them."""
    if not L.FROM_RE.match(lines[i]):
        return False
    following = lines[i + 1:i + 7]
    fields = [nxt for nxt in following if L.FIELD_RE.match(nxt)]
    return len(fields) >= 3 or (len(fields) == 2 and any(L.ATTR_EVIDENCE_RE.search(x)
                                                         for x in [lines[i], *fields]))


def _header_len(lines: list[str], i: int) -> int:
    """Lines taken by a quote header (attribution, separator, Outlook block) at ``i``; 0 if none."""
    if L.SEPARATOR_RE.match(lines[i]):
        return 1
    if L.RULE_RE.match(lines[i]):
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
    while j < len(lines) and (L.QUOTED_RE.match(lines[j]) or not lines[j].strip()):
        if lines[j].strip():
            last = j + 1
        j += 1
    return last


def _split_signature(lines: list[str]) -> tuple[list[str], list[str]]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    for k in range(max(0, end - _SIG_WINDOW), end):
        if k > 0 and (L.SIG_DELIM_RE.match(lines[k]) or L.DEVICE_RE.match(lines[k])):
            return lines[:k], lines[k:end]
    return lines, []


def _split_footer(lines: list[str]) -> tuple[list[str], list[str]]:
    """A mailing-list footer among the last lines: from the rule or ``--`` line above it (or
    its paragraph's start) to the end."""
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    for k in range(max(0, end - _FOOTER_WINDOW), end):
        if L.QUOTED_RE.match(lines[k]) or not L.LIST_FOOTER_RE.search(lines[k]):
            continue
        start = k
        while start > 0 and lines[start - 1].strip() and k - start < 6:
            start -= 1
        above = start - 1
        while above >= 0 and not lines[above].strip():
            above -= 1
        if above >= 0 and (L.RULE_RE.match(lines[above]) or L.SIG_DELIM_RE.match(lines[above])):
            start = above
        elif start < len(lines) and (L.RULE_RE.match(lines[start]) or
                                     L.SIG_DELIM_RE.match(lines[start])):
            pass
        if start == 0:
            return lines, []  # nothing but the footer: keep it as the text
        return lines[:start], lines[start:end]
    return lines, []


def _join(lines: list[str]) -> str:
    # Trailing blanks are noise, except in the RFC 3676 signature delimiter "-- ".
    return "\n".join(line if line == "-- " else line.rstrip() for line in lines).strip("\n")


def parse_reply(text: str, *, forward_hint: bool = False) -> ReplyParts:
    """Split ``text``; with ``forward_hint`` (the subject says Fwd:/Teruskan:) the first quote
    header is read as the start of a forward (Outlook forwards look exactly like its replies)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines, footer = _split_footer(lines)
    new: list[str] = []
    quoted: list[str] = []
    forward: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if ("-" in line or ":" in line) and L.FORWARD_RE.match(line):  # either is in every match
            forward = lines[i:]
            break
        # Every quote header has a colon, an address, a bracket, a digit or a rule character:
        # ordinary prose lines skip the dozen patterns below.
        header = _header_len(lines, i) if _MAYBE_HEADER_RE.search(line) else 0
        if header and not forward_hint and L.FROM_RE.match(line) and \
                not any(x.strip() for x in new):
            # "Dari:/Kepada:/Perihal:" opening the text is a formal letter's heading (an
            # Outlook reply has the citizen's text above its block, or a separator line).
            header = 0
        if header and forward_hint:
            forward = lines[i:]
            break
        if header:
            after = i + header
            nxt = after
            while nxt < len(lines) and not lines[nxt].strip():
                nxt += 1
            if nxt < len(lines) and L.QUOTED_RE.match(lines[nxt]):
                end = _quoted_run_end(lines, nxt)
                quoted.extend(lines[i:end])
                i = end
                continue
            quoted.extend(lines[i:])
            break
        if L.QUOTED_RE.match(line):
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
                      forwarded=bool(forward), footer=_join(footer))


def split_reply(text: str) -> tuple[str, str, str]:
    """``(new_text, signature, quoted)`` of an email body."""
    parts = parse_reply(text)
    return parts.new_text, parts.signature, parts.quoted


def is_client_boilerplate(line: str) -> bool:
    """A mail client's own line ("Sent from my iPhone"): no evidence about the writer."""
    return bool(L.DEVICE_RE.match(line))
