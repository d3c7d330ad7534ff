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
    "snooze NAME 3w            (or 2mo; or: snooze NAME until 2027-01-15)",
    "mute NAME / unmute NAME",
    "every NAME 14d            (how often you want to be in touch: 14d, 3w, 2mo, 1y)",
    "called NAME [DATE]        (or: met NAME [DATE]; yesterday, monday, -3d, 2026-11-20)",
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
    """Text of an HTML reply that a mail client would show; quoted parts (blockquote,
    gmail_quote...) left out, and so is anything hidden: the content of head, style, script,
    title and template, and elements hidden by the `hidden` attribute or by CSS (display:none,
    visibility:hidden, a zero font size, zero opacity, mso-hide:all, zero height with
    overflow:hidden), in a style attribute or a style sheet's simple selector. Where it cannot
    tell, it hides rather than reads."""
    sheets = _StyleSheets()
    with suppress(Exception):  # html.parser is lenient; on a failure keep what was read
        sheets.feed(html)
        sheets.close()
    reader = _HtmlText(hidden_selectors(" ".join(sheets.css)))
    with suppress(Exception):
        reader.feed(html)
        reader.close()
    return reader.text()


# --- CSS: just enough to know what is hidden -----------------------------------------------

_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|$)", re.DOTALL)
_CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})[ \t\r\n\f]?|\\(.)", re.DOTALL)
_IMPORTANT = re.compile(r"!\s*important\b")
_LENGTH = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([a-z%]*)$")
# below these a glyph is less than about a pixel: nobody sees it
_TINY = {"": 1, "px": 1, "pt": 1, "pc": 0.1, "em": 0.1, "rem": 0.1, "ex": 0.2, "ch": 0.2,
         "%": 10, "vw": 0.1, "vh": 0.1, "vmin": 0.1, "vmax": 0.1, "mm": 0.3, "cm": 0.03,
         "in": 0.01, "q": 1}  # fmt: skip
_RULE = re.compile(r"([^{}]*)\{([^{}]*)\}")
_PSEUDO_OR_ATTRIBUTE = re.compile(r"::?[-\w]+(\([^)]*\))?|\[[^\]]*\]")


def _unescape_css(match: re.Match[str]) -> str:
    if match.group(1):
        code = int(match.group(1), 16)
        return chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else "\ufffd"
    return match.group(2)


def _normal_css(text: str) -> str:
    text = _CSS_COMMENT.sub(" ", text)
    return _CSS_ESCAPE.sub(_unescape_css, text).lower()


def declarations(style: str) -> dict[str, str]:
    """`DISPLAY : None !important; x:y` -> {"display": "none", "x": "y"}."""
    found = {}
    for part in _normal_css(style).split(";"):
        name, colon, value = part.partition(":")
        if colon:
            found[name.strip()] = " ".join(_IMPORTANT.sub(" ", value).split())
    return found


def _tiny(value: str, limit_scale: float = 1.0) -> bool:
    match = _LENGTH.match(value)
    if match is None or match.group(2) not in _TINY:
        return False
    return float(match.group(1)) < _TINY[match.group(2)] * limit_scale


def hides(style: dict[str, str]) -> bool:
    """Whether these declarations make an element's text invisible."""
    if style.get("display") == "none" or style.get("visibility") in ("hidden", "collapse"):
        return True
    if style.get("mso-hide") == "all" or style.get("color") == "transparent":
        return True
    if _tiny(style.get("font-size", "")):
        return True
    font = style.get("font", "").split()
    if any(_tiny(word.split("/")[0]) for word in font if word[:1].isdigit() or word[:1] == "."):
        return True
    opacity = style.get("opacity", "")
    if opacity and (_tiny(opacity, 0.1) if not opacity.endswith("%") else _tiny(opacity)):
        return True
    sizes = ("height", "max-height", "width", "max-width")
    return style.get("overflow") == "hidden" and any(
        _tiny(style.get(name, ""), 0.01) for name in sizes
    )


@dataclass(frozen=True)
class Selector:
    """The last compound of a simple CSS selector: `div.a.b#x` (None: any tag)."""

    tag: str | None
    classes: frozenset[str]
    ids: frozenset[str]

    def matches(self, tag: str, classes: set[str], ids: set[str]) -> bool:
        return (self.tag in (None, tag)) and self.classes <= classes and self.ids <= ids


def hidden_selectors(css: str) -> tuple[Selector, ...]:
    """Selectors of the rules in `css` that hide. Only the last compound of each is kept
    (`.a .b` becomes `.b`) and pseudo-classes and attribute tests are dropped, so a selector
    matches more elements than a browser's would: more is hidden, never less."""
    found: list[Selector] = []
    for selectors, body in _RULE.findall(_normal_css(css)):
        if not hides(declarations(body)):
            continue
        for selector in selectors.split(","):
            compounds = re.split(r"[\s>+~]+", selector.strip())
            last = _PSEUDO_OR_ATTRIBUTE.sub("", compounds[-1] if compounds else "")
            tag = re.match(r"^[a-z][a-z0-9-]*", last)
            found.append(
                Selector(
                    tag.group(0) if tag else None,
                    frozenset(re.findall(r"\.([-\w]+)", last)),
                    frozenset(re.findall(r"#([-\w]+)", last)),
                )
            )
    return tuple(found)


class _StyleSheets(HTMLParser):
    """First pass: the text of every <style> element, wherever it is."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.css: list[str] = []
        self.inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.inside = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.css.append(data)


class _HtmlText(HTMLParser):
    BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "pre", "table"})
    QUOTED_CLASSES = ("gmail_quote", "moz-cite-prefix", "yahoo_quoted", "protonmail_quote",
                      "divRplyFwdMsg", "OutlookMessageHeader")  # fmt: skip
    SKIPPED = frozenset({"style", "script", "head", "title", "template"})
    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
                      "meta", "source", "track", "wbr"})  # fmt: skip

    def __init__(self, hidden: tuple[Selector, ...] = ()) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, hides its content)
        self.hidden = 0
        self.selectors = hidden

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BREAKS:
            self.parts.append("\n")
        if tag in self.VOID:
            return
        if tag == "body" and any(opened == "head" for opened, _ in self.stack):
            self.handle_endtag("head")  # a <head> left open ends where <body> begins
        self.stack.append((tag, self._hides(tag, attrs)))
        self.hidden += self.stack[-1][1]

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """`<div/>` opens a div, as in a browser (the slash counts only on void elements)."""
        self.handle_starttag(tag, attrs)

    def _hides(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        values = {name: value or "" for name, value in attrs}
        classes = set(values.get("class", "").lower().split())
        marks = (values.get("class", "") + " " + values.get("id", "")).lower()
        return (
            tag in self.SKIPPED
            or tag == "blockquote"
            or "hidden" in values
            or any(marker.lower() in marks for marker in self.QUOTED_CLASSES)
            or hides(declarations(values.get("style", "")))
            or any(
                selector.matches(tag, classes, set(values.get("id", "").lower().split()))
                for selector in self.selectors
            )
        )

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BREAKS:
            self.parts.append("\n")
        if not any(opened == tag for opened, _ in self.stack):
            return  # a stray end tag closes nothing (and so never ends a hidden element)
        while self.stack:
            opened, hides_content = self.stack.pop()
            self.hidden -= hides_content
            if opened == tag:
                break

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
