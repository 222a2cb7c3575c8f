"""HTML mail bodies turned into readable plain text.

Owns ``html_to_text``: tags stripped, entities unescaped, line breaks kept for block elements
(``<br>``, ``<p>``, ``<div>``, ``<li>``, table rows), ``<style>``/``<script>``/``<head>`` dropped, and
``<blockquote>`` content prefixed with ``> `` so that the reply splitter sees Gmail's and Apple
Mail's HTML quotes the way it sees plain-text ones.  Pure: never raises on any input.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Final

_SKIP: Final = frozenset({"style", "script", "head", "title", "template", "xml", "svg", "object"})
_BLOCK: Final = frozenset({
    "p", "div", "tr", "table", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
    "pre", "section", "article", "header", "footer", "address", "center", "form", "fieldset",
    "tbody", "thead", "tfoot", "caption", "figure", "main", "nav", "aside",
})
_PARAGRAPH: Final = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"})
_SPACES: Final = re.compile(r"[ \t\r\n\f\v\u00a0\u200b]+")
_TAG_FALLBACK: Final = re.compile(r"<[^>]*>")


class _TextBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._cur: list[str] = []
        self._skip = 0
        self._pre = 0
        self._quote = 0

    # --- line handling -------------------------------------------------------------------
    def _newline(self) -> None:
        text = "".join(self._cur)
        if self._pre == 0:
            text = text.strip()
        self.lines.append(("> " * self._quote) + text if text else (">" * self._quote))
        self._cur = []

    def _break(self, blank: bool = False) -> None:
        if self._cur and "".join(self._cur).strip():
            self._newline()
        if blank and self.lines and self.lines[-1].strip("> "):
            self.lines.append(">" * self._quote)

    # --- parser callbacks ----------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
            return
        if self._skip:
            return
        if tag == "br":
            self._newline()
        elif tag == "hr":
            self._break()
            # Outlook renders its reply rule as underscores; the reply splitter knows that line.
            self.lines.append(("> " * self._quote) + "_" * 32)
        elif tag == "blockquote":
            self._break(blank=True)
            self._quote += 1
        elif tag == "li":
            self._break()
            self._cur.append("- ")
        elif tag in ("td", "th"):
            if self._cur and not self._cur[-1].endswith(" "):
                self._cur.append(" ")
        elif tag in _BLOCK:
            self._break(blank=tag in _PARAGRAPH)
            if tag == "pre":
                self._pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIP:  # "<head/>" must not open a skipped region
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
            return
        if self._skip:
            return
        if tag == "blockquote":
            self._break()
            self._quote = max(0, self._quote - 1)
            self._break(blank=True)
        elif tag == "li":
            self._break()
        elif tag in _BLOCK:
            if tag == "pre":
                self._pre = max(0, self._pre - 1)
            self._break(blank=tag in _PARAGRAPH)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._pre:
            parts = data.replace("\r\n", "\n").split("\n")
            for i, part in enumerate(parts):
                if i:
                    self._newline()
                self._cur.append(part)
            return
        text = _SPACES.sub(" ", data)
        if not self._cur or self._cur[-1].endswith(" ") or not self._cur[-1]:
            text = text.lstrip(" ")
        if text:
            self._cur.append(text)

    def finish(self) -> str:
        self.close()
        if self._cur:
            self._newline()
        out: list[str] = []
        for line in self.lines:
            line = line.rstrip()
            if not line.strip("> ") and out and not out[-1].strip("> "):
                continue  # collapse runs of empty lines
            out.append(line)
        return "\n".join(out).strip("\n")


def html_to_text(markup: str) -> str:
    """Readable text of an HTML document or fragment; never raises."""
    builder = _TextBuilder()
    try:
        builder.feed(markup)
        return builder.finish()
    except (AssertionError, ValueError, IndexError):  # html.parser on pathological markup
        stripped = _TAG_FALLBACK.sub(" ", markup)
        return "\n".join(_SPACES.sub(" ", line).strip() for line in stripped.splitlines()).strip()
