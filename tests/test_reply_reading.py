"""parsers/replies.py without a server, as tables: the commands a line makes, the text of a
reply (plain, HTML, neither), the lines above the quoted history, and what CSS hides.

test_replies.py holds the whole round trip through Dovecot; these pin each step on its own,
so a change to one of them fails a test named after it."""

from __future__ import annotations

import pytest

from kithkin.parsers.replies import (
    MAX_LINES,
    Command,
    Selector,
    command_lines,
    declarations,
    hidden_selectors,
    hides,
    html_to_text,
    parse_command,
    reply_text,
)

# --- one line -> one command -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("snooze Ada 3w", Command("snooze", ("Ada", "3w"), "snooze Ada 3w")),
        ("Snooze: Ada until 2027-01-15",
         Command("snooze", ("Ada", "until", "2027-01-15"), "Snooze: Ada until 2027-01-15")),
        ("MUTE  Bob", Command("mute", ("Bob",), "MUTE  Bob")),
        ("unmute", Command("unmute", (), "unmute")),
        ("note Ada new job at the museum",
         Command("note", ("Ada", "new", "job", "at", "the", "museum"),
                 "note Ada new job at the museum")),
        ("every Ada 14d", Command("every", ("Ada", "14d"), "every Ada 14d")),
        ("called Ada 2026-03-01",
         Command("called", ("Ada", "2026-03-01"), "called Ada 2026-03-01")),
        ("met Ada", Command("met", ("Ada",), "met Ada")),
        ("", None),
        ("   ", None),
        ("hello Ada", None),
        ("Ada snooze 3w", None),  # the verb comes first
        (":mute Bob", None),
        ("muted Bob", None),
    ],
)  # fmt: skip
def test_parse_command(line: str, expected: Command | None) -> None:
    assert parse_command(line) == expected


# --- the text of a reply -------------------------------------------------------------------

PLAIN = b"Subject: Re: summary\r\n\r\nmute Bob\r\n"
HTML_ONLY = b"Content-Type: text/html\r\n\r\n<p>mute Bob</p>"
IMAGE_ONLY = b"Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
TWO_PLAIN = (
    b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\n"
    b"--X\r\nContent-Type: text/plain\r\n\r\nmute Bob\r\n"
    b"--X\r\nContent-Type: text/plain\r\n\r\nmute Ann\r\n--X--\r\n"
)
TWO_HTML = TWO_PLAIN.replace(b"text/plain", b"text/html").replace(b"mute Bob", b"<p>mute Bob")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (PLAIN, "mute Bob\r\n"),
        (HTML_ONLY, "\nmute Bob"),
        (TWO_PLAIN, "mute Bob\nmute Ann"),
        (TWO_HTML, "\nmute Bob\nmute Ann"),
        (IMAGE_ONLY, ""),
        (b"", ""),
    ],
    ids=["plain", "html-only", "two-plain-parts", "two-html-parts", "no-text-part", "empty"],
)
def test_reply_text(raw: bytes, expected: str) -> None:
    assert reply_text(raw) == expected


# --- the lines above the quoted history ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("mute Bob\rmute Ann", ["mute Bob", "mute Ann"]),  # a lone CR is a line break
        ("mute Bob\r\n\r\nmute Ann", ["mute Bob", "mute Ann"]),
        ("mute Bob\nBob wrote:\n> x", ["mute Bob"]),  # a one-line "wrote:" ends the commands
        ("mute Bob\nOn Mon, 1 Jan 2026,\nBob <b@x.org> wrote:\n> x", ["mute Bob"]),  # wrapped
        ("mute Bob\nOn Mon Bob wrote:\nmute Ann", ["mute Bob"]),
        ("mute Bob\n-- \nmy signature", ["mute Bob"]),
        ("mute Bob\n--\nmy signature", ["mute Bob"]),
        ("mute Bob\n --\nmute Ann", ["mute Bob", "--", "mute Ann"]),  # not at the line start
        ("mute Bob\n---\nmute Ann", ["mute Bob", "---", "mute Ann"]),
        ("\u200bmute Bob\u00ad", ["mute Bob"]),  # invisible characters removed
    ],
)
def test_command_lines(text: str, lines: list[str]) -> None:
    assert command_lines(text) == lines


def test_command_lines_stop_after_max_lines() -> None:
    text = "\n".join(f"note Ada {n}" for n in range(MAX_LINES + 10))
    assert command_lines(text) == [f"note Ada {n}" for n in range(MAX_LINES)]


# --- CSS: what hides --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("style", "hidden"),
    [
        ("display:none", True),
        ("visibility:hidden", True),
        ("visibility:collapse", True),
        ("visibility:visible", False),
        ("mso-hide:all", True),
        ("color:transparent", True),
        ("COLOR: Transparent", True),
        ("color:red", False),
        ("font-size:0", True),
        ("font-size:0.5px", True),
        ("font-size:1px", False),  # a pixel is seen
        ("font-size:0.05em", True),
        ("font-size:0.1em", False),
        ("font-size:5%", True),
        ("font-size:10%", False),
        ("font:0/0 a", True),
        ("font:bold 0px Arial", True),
        ("font:.5px Arial", True),
        ("font:12px/0 Arial", False),  # a zero line height does not hide the glyphs
        ("font:12px Arial", False),
        ("font:+0 serif", False),  # not a size
        ("opacity:0", True),
        ("opacity:0.05", True),
        ("opacity:0.1", False),
        ("opacity:5%", True),
        ("opacity:50%", False),
        ("overflow:hidden; height:0", True),
        ("overflow:hidden; max-height:0", True),
        ("overflow:hidden; width:0", True),
        ("overflow:hidden; max-width:0", True),
        ("overflow:hidden; height:0.005px", True),
        ("overflow:hidden; height:0.5px", False),
        ("overflow:hidden; height:1px", False),
        ("height:0", False),  # without overflow:hidden the text spills out, visible
        ("overflow:visible; height:0", False),
        ("", False),
    ],
)
def test_hides(style: str, hidden: bool) -> None:
    assert hides(declarations(style)) is hidden


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("DISPLAY : None !important; x:y", {"display": "none", "x": "y"}),
        ('content: "a:b"; font: 0px  Arial', {"content": '"a:b"', "font": "0px arial"}),
        ("a:1;;b:2;c", {"a": "1", "b": "2"}),
        ("/* display:none */ color: red", {"color": "red"}),
        ("\\64 isplay:none", {"display": "none"}),  # CSS escapes
        ("x: a\\: b", {"x": "a: b"}),
        ("x: a\\0 b", {"x": "a\ufffdb"}),  # code points that are no character
        ("x: a\\1 b", {"x": "a\x01b"}),
        ("x: a\\d800 b", {"x": "a\ufffdb"}),
        ("x: a\\dfff b", {"x": "a\ufffdb"}),
        ("x: a\\e000 b", {"x": "a\ue000b"}),
        ("x: a\\10ffff b", {"x": "a\U0010ffffb"}),
        ("x: a\\110000 b", {"x": "a\ufffdb"}),
    ],
)
def test_declarations(style: str, expected: dict[str, str]) -> None:
    assert declarations(style) == expected


def S(tag: str | None = None, classes: tuple[str, ...] = (), ids: tuple[str, ...] = ()) -> Selector:
    return Selector(tag, frozenset(classes), frozenset(ids))


@pytest.mark.parametrize(
    ("css", "selectors"),
    [
        (".a{color:red} .b{display:none}", (S(classes=("b",)),)),
        (".a,.b{display:none}", (S(classes=("a",)), S(classes=("b",)))),
        (".a .b{display:none}", (S(classes=("b",)),)),  # the last compound only
        (".b:hover{display:none}", (S(classes=("b",)),)),
        ("p{display:none}", (S("p"),)),
        ("#x{display:none}", (S(ids=("x",)),)),
        ("div.a.b#x > p.c[title]{display:none}", (S("p", ("c",)),)),
        ("P.A{DISPLAY:NONE}", (S("p", ("a",)),)),
        ("p{color:red}", ()),
    ],
)
def test_hidden_selectors(css: str, selectors: tuple[Selector, ...]) -> None:
    assert hidden_selectors(css) == selectors


# --- HTML -> the text a mail client shows -----------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>mute Bob</p><p>mute Ann</p>", "\nmute Bob\n\nmute Ann"),
        ("a<span>b</span>c", "abc"),  # only block elements break lines
        ("a<div/>b", "a\nb"),
        ("<b>mute</b> <i>Bob</i>", "mute Bob"),
        ("mute&nbsp;Bob", "mute Bob"),
        ("<p>mute Bob</span></p>", "\nmute Bob"),  # a stray end tag closes nothing
        ("<div><span hidden>x</div>mute Ann", "\n\nmute Ann"),  # </div> closes the span too
        ("<div hidden><b>x</b>mute Bob</div>mute Ann", "\n\nmute Ann"),
        ("<head><b>hidden</b></head>mute Bob", "mute Bob"),
        ("<head><title>t</title><body>mute Bob", "mute Bob"),  # <body> ends an open <head>
        ("<head><body>mute Bob", "mute Bob"),
        ('<div class="gmail_quote">mute Bob</div>mute Ann', "\n\nmute Ann"),
        ('<div id="divRplyFwdMsg">mute Bob</div>mute Ann', "\n\nmute Ann"),
        ('<div class="MOZ-CITE-PREFIX">x</div>mute Ann', "\n\nmute Ann"),
        # style sheets: only <style> elements count, every one of them
        ('.m{display:none}<p class="m">mute Bob</p>', ".m{display:none}\nmute Bob"),
        ('<style></style>.m{display:none}<p class="m">mute Bob</p>', ".m{display:none}\nmute Bob"),
        ('<style>.a{display:none}</style><style>.b{display:none}</style><p class="b">x</p>y',
         "\n\ny"),
        # html.parser gives up on this: what was read before it is kept
        ("mute Bob<br><![foo[ x ]]>mute Ann", "mute Bob"),
    ],
)  # fmt: skip
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text
