"""One sanitiser for every piece of text that came from outside: mail headers, contact files,
the owner's replies, and stored text printed again; and one way to turn outside bytes into text.

Clean text is valid UTF-8 (no lone surrogates: a pair is joined, a lone half becomes U+FFFD),
holds no C0 or C1 control character, no terminal escape sequence (removed whole), no bidi
embedding, override, isolate or mark, and no line or paragraph separator. `clean_line` also
turns every kind of line break and tab into a space, collapses whitespace and strips;
`clean_text` keeps line breaks (as "\\n") for multi-line input such as a reply body.

Bytes become text with `decode_bytes`: the declared charset when `charset_codec` knows it as a
real text charset, else UTF-8, else windows-1252; it never raises. `charset_codec` honours only
the stdlib charsets in `TEXT_CHARSETS`: never a transform that Python also calls a codec
(base64, zlib, rot13, unicode_escape...), never one that depends on the machine (mbcs), never
one that another installed package registered.
"""

from __future__ import annotations

import codecs
import re
from encodings import normalize_encoding
from encodings.aliases import aliases as _STDLIB_ALIASES
from functools import lru_cache

# --- the sanitiser ---------------------------------------------------------------------------

# ESC [ ... final byte (CSI), ESC ] ... BEL or ESC \ (OSC; an unterminated one ends at the
# next control character), two-byte escapes such as ESC ( B, ESC 7 or ESC c, and the 8-bit
# CSI (U+009B). Other C1 introducers (OSC U+009D, DCS U+0090) become spaces like any control.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    r"|\x1b\][^\x00-\x1f\x7f-\x9f]{0,512}(?:\x07|\x1b\\)?"
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"
    r"|\x9b[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
)
# Bidi marks (ALM, LRM, RLM), embeddings and overrides (LRE..RLO), isolates (LRI..PDI), and
# the BOM: zero-width, so removed rather than replaced by a space.
_ZERO_WIDTH = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff"
_CONTROLS = "\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029"  # C0 but LF, C1, line/paragraph sep.
_REMOVED = re.compile(f"[{_ZERO_WIDTH}]+")
_SPACE_IN_LINE = re.compile(rf"[\s{_CONTROLS}]+")
_SPACE_IN_TEXT = re.compile(f"[{_CONTROLS}]")
_UNSAFE = re.compile(f"[{_CONTROLS}{_ZERO_WIDTH}]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _valid_unicode(text: str) -> str:
    """Surrogate pairs joined into their character, lone surrogates replaced by U+FFFD."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _drop_invisible(text: str) -> str:
    """Escape sequences and zero-width formatting characters removed."""
    if "\x1b" in text or "\x9b" in text:
        text = _ESCAPE_SEQUENCE.sub("", text)
    return _REMOVED.sub("", text)


def clean_line(text: str) -> str:
    """One line of display text: safe to store, print on a terminal or put in the summary."""
    if text.isprintable():
        # The usual case, without a regex. Printable text has no control, format (bidi),
        # separator or surrogate character, and no whitespace but the space.
        if "  " not in text and text.strip() == text:
            return text
        return " ".join(text.split())
    text = _drop_invisible(_valid_unicode(text))
    return _SPACE_IN_LINE.sub(" ", text).strip(" ")


def clean_text(text: str) -> str:
    """Multi-line text: like `clean_line` for each line, line breaks kept as "\\n"."""
    text = _drop_invisible(_valid_unicode(text))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACE_IN_TEXT.sub(" ", text)
    return "\n".join(" ".join(line.split()) for line in text.split("\n"))


def printable(text: str) -> str:
    """Output already laid out (aligned columns, indented lines, a traceback): made safe the
    same way, but spaces and line breaks kept as they are; a tab becomes a space."""
    if text.isprintable():
        return text
    text = _drop_invisible(_valid_unicode(text))
    return _SPACE_IN_TEXT.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))


def is_clean(text: str) -> bool:
    """What the sanitisers promise, checked: valid UTF-8 and no unsafe character (a
    multi-line text may hold "\\n")."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return _UNSAFE.search(text) is None


# --- charsets --------------------------------------------------------------------------------

# The stdlib `encodings` modules that are charsets for text: bytes in, characters out, the same
# on every machine. Left out, and so treated like a label nobody knows:
# - transforms, not charsets: base64_codec, bz2_codec, hex_codec, quopri_codec, rot_13,
#   uu_codec, zlib_codec;
# - escape syntaxes and name encodings that spell any code point in ASCII (a lone surrogate,
#   ESC): unicode_escape, raw_unicode_escape, punycode, idna;
# - no charset at all: undefined (always fails), charmap (a mapping must be passed), and
#   mbcs and oem (Windows' current code pages: another machine, another meaning).
# UTF-7 and UTF-16/32 stay: real charsets, whose lone surrogates the sanitiser repairs.
# fmt: off
TEXT_CHARSETS = frozenset({
    "ascii", "utf_8", "utf_8_sig", "utf_7", "utf_16", "utf_16_be", "utf_16_le", "utf_32",
    "utf_32_be", "utf_32_le",
    "latin_1", "iso8859_1", "iso8859_2", "iso8859_3", "iso8859_4", "iso8859_5", "iso8859_6",
    "iso8859_7", "iso8859_8", "iso8859_9", "iso8859_10", "iso8859_11", "iso8859_13",
    "iso8859_14", "iso8859_15", "iso8859_16",
    "cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258",
    "cp437", "cp720", "cp737", "cp775", "cp850", "cp852", "cp855", "cp856", "cp857", "cp858",
    "cp860", "cp861", "cp862", "cp863", "cp864", "cp865", "cp866", "cp869", "cp874", "cp1006",
    "cp1125", "koi8_r", "koi8_t", "koi8_u", "kz1048", "ptcp154", "tis_620", "hp_roman8",
    "mac_arabic", "mac_croatian", "mac_cyrillic", "mac_farsi", "mac_greek", "mac_iceland",
    "mac_latin2", "mac_roman", "mac_romanian", "mac_turkish", "palmos",
    "cp037", "cp273", "cp424", "cp500", "cp875", "cp1026", "cp1140",  # EBCDIC
    "big5", "big5hkscs", "cp932", "cp949", "cp950", "euc_jis_2004", "euc_jisx0213", "euc_jp",
    "euc_kr", "gb18030", "gb2312", "gbk", "hz", "iso2022_jp", "iso2022_jp_1", "iso2022_jp_2",
    "iso2022_jp_2004", "iso2022_jp_3", "iso2022_jp_ext", "iso2022_kr", "johab", "shift_jis",
    "shift_jis_2004", "shift_jisx0213",
})
# fmt: on
_LABELS = {
    # Labels real mail uses that the stdlib does not know, or knows as something narrower.
    "x_gbk": "gb18030",
    "x_sjis": "shift_jis",
    "ks_c_5601_1987": "cp949",
    "unicode_1_1_utf_7": "utf_7",
}
_READ_AS = {
    # Labels that real mail uses for a superset of what the label says.
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "latin_1": "cp1252",
    "iso8859_1": "cp1252",
}


@lru_cache(maxsize=512)
def charset_codec(label: str) -> str | None:
    """The stdlib codec for a charset label (`UTF-8`, `"iso-8859-1"`, `cp1252`), or None when
    the label names no charset in `TEXT_CHARSETS`. Codec names map to themselves."""
    name = normalize_encoding(label.strip().strip("\"'").lower())
    name = _LABELS.get(name) or _STDLIB_ALIASES.get(name) or name
    name = _READ_AS.get(name, name)
    return name if name in TEXT_CHARSETS else None


# windows-1252 as browsers read it (WHATWG): its five undefined bytes are the C1 characters of
# the same number, so every byte decodes and one stray byte does not spoil the rest.
_WINDOWS_1252 = "".join(
    bytes([byte]).decode("cp1252", "replace").replace("\ufffd", chr(byte)) for byte in range(256)
)


def decode_bytes(data: bytes, charset: str | None = None, *, prefer_utf8: bool = False) -> str:
    """Outside bytes as text; never raises.

    Tried strictly in turn: `charset` (only when `charset_codec` knows it), UTF-8, and then
    windows-1252, which decodes anything. With `prefer_utf8`, UTF-8 goes first: for a charset
    that is a guess (Content-Type's, for raw header bytes) rather than a declaration. A UTF-8
    character cut at the very end (a truncated value) is dropped.
    """
    codec = charset_codec(charset) if charset else None
    if codec is None or prefer_utf8:
        text = _utf8(data)
        if text is None and codec is not None:
            text = _strict(data, codec)
    else:
        text = _strict(data, codec)
        if text is None:
            text = _utf8(data)
    return text if text is not None else codecs.charmap_decode(data, "strict", _WINDOWS_1252)[0]


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeError, LookupError, ValueError, TypeError):
        return None


def _utf8(data: bytes) -> str | None:
    if data.isascii():
        return data.decode("ascii")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        if _cut_utf8(data, error):
            return data[: error.start].decode("utf-8")
    return None


def _cut_utf8(data: bytes, error: UnicodeDecodeError) -> bool:
    """UTF-8 cut mid-character: valid, and non-ASCII, up to a cut end.

    A Latin-1 `café` at the very end also looks like a cut UTF-8 sequence, so the part before
    must prove itself UTF-8 by holding a multi-byte character.
    """
    return (
        error.reason == "unexpected end of data"
        and error.end == len(data)
        and not data[: error.start].isascii()
    )


_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_file(data: bytes) -> str:
    """A whole file: a byte-order mark decides (UTF-8 or UTF-16; a damaged character becomes
    U+FFFD, the rest is kept), else `decode_bytes`."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, "replace")
    return decode_bytes(data)
