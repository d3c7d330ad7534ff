"""The owner's reply to a summary -> the command lines in it. Pure: bytes and text in.

Only the owner's own replies to Kithkin's summaries ever reach this module (the sync checks
sender and token first); it is the one place a message body is read. The plain-text part is
used, or the HTML part reduced to text; quoted history (`>` lines, everything from an
"On ... wrote:" line or a forwarded/original-message marker on) and the signature (from a
"-- " line on) are dropped.
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from html.parser import HTMLParser

VERBS = ("snooze", "mute", "unmute", "every", "called", "met", "note")
HELP = (
    "snooze NAME 3w            (or: snooze NAME until 2027-01-15)",
    "mute NAME / unmute NAME",
    "every NAME 14d            (how often you want to be in touch)",
    "called NAME [YYYY-MM-DD]  (or: met NAME [YYYY-MM-DD])",
    "note NAME some text",
)
MAX_LINES = 50

_WROTE = re.compile(
    r"(\bwrote\s*:\s*$)|(^Am\s.*\bschrieb\b.*:\s*$)|(^Le\s.*\ba écrit\s*:\s*$)", re.IGNORECASE
)
_WROTE_START = re.compile(r"^(On|Am|Le)\s", re.IGNORECASE)
_QUOTE_START = re.compile(
    r"^\s*(-{2,}\s*(Original Message|Forwarded message|Ursprüngliche Nachricht)\s*-{2,}"
    r"|_{10,}|From:\s.*|Von:\s.*|Sent from my .*)\s*$",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(r"^--\s?$")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff\u00ad]")


@dataclass(frozen=True)
class Command:
    verb: str  # one of VERBS
    words: tuple[str, ...]  # everything after the verb, as typed
    line: str  # the whole line, for reports


def reply_text(raw: bytes) -> str:
    """The text the owner typed: the text/plain part, else the HTML part reduced to text."""
    import mailparser

    try:
        mail = mailparser.parse_from_bytes(raw)
    except Exception:  # noqa: BLE001 - an unparseable body simply has no commands
        return ""
    if mail.text_plain:
        return "\n".join(mail.text_plain)
    if mail.text_html:
        return html_to_text("\n".join(mail.text_html))
    return ""


def html_to_text(html: str) -> str:
    """Visible text of an HTML reply; quoted parts (blockquote, gmail_quote...) left out."""
    reader = _HtmlText()
    with suppress(Exception):  # html.parser is lenient; on a failure keep what was read
        reader.feed(html)
        reader.close()
    return reader.text()


class _HtmlText(HTMLParser):
    BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "pre", "table"})
    QUOTED_CLASSES = ("gmail_quote", "moz-cite-prefix", "yahoo_quoted", "protonmail_quote",
                      "divRplyFwdMsg", "OutlookMessageHeader")  # fmt: skip
    SKIPPED = frozenset({"style", "script", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, hides its content)
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BREAKS:
            self.parts.append("\n")
        if tag in ("br", "hr", "img", "meta", "link", "input"):
            return
        classes = " ".join(value or "" for name, value in attrs if name in ("class", "id"))
        hides = (
            tag in self.SKIPPED
            or tag == "blockquote"
            or any(marker.lower() in classes.lower() for marker in self.QUOTED_CLASSES)
        )
        self.stack.append((tag, hides))
        self.hidden += hides

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            opened, hides = self.stack.pop()
            self.hidden -= hides
            if opened == tag:
                break
        if tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)

    def text(self) -> str:
        lines = "".join(self.parts).replace("\xa0", " ").splitlines()
        return "\n".join(line.strip() for line in lines)


def command_lines(text: str) -> list[str]:
    """The non-empty lines above the quoted history and the signature."""
    lines: list[str] = []
    for raw_line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = _INVISIBLE.sub("", raw_line).strip()
        if _WROTE.search(line):  # "On <date>, <someone> wrote:", maybe wrapped over two lines
            if lines and _WROTE_START.match(lines[-1]) and not _WROTE_START.match(line):
                lines.pop()
            break
        if _QUOTE_START.match(line) or _SIGNATURE.match(raw_line.rstrip()):
            break
        if not line or line.startswith(">"):
            continue
        lines.append(line)
        if len(lines) >= MAX_LINES:
            break
    return lines


def parse_command(line: str) -> Command | None:
    """`snooze Ada 3w` -> Command("snooze", ("Ada", "3w")); None if no known verb starts it."""
    words = line.split()
    if not words:
        return None
    verb = words[0].lower().rstrip(":")
    if verb not in VERBS:
        return None
    return Command(verb, tuple(words[1:]), line)
