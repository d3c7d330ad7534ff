"""Authentication-Results header fields (RFC 8601) -> what a receiving server found. Pure.

`parse_field` reads one field's value (bytes or text) into an `AuthResults`: the authserv-id
(the server that wrote it), an optional version, and each method's result with its reason and
properties. Comments in parentheses are skipped (nested, with `\\` escapes), quoted strings are
values (a `dkim=pass` inside one is just text), names are case-insensitive. `fields` takes every
Authentication-Results field out of a message's header section; `passes_for` is the check a
reply to a summary must pass: a field written by one of the owner's own servers (anyone can add
fields naming other servers) saying DKIM passed for, or SPF passed from, one of the owner's
domains.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from kithkin.parsers.addresses import normalise_domain

FIELD_NAME = "authentication-results"
MAX_FIELDS = 50
MAX_FIELD_CHARS = 16_384
_SPECIALS = '();="'
_SPACE = " \t\r\n"
_FIELD_START = re.compile(r"^([!-9;-~]+)[ \t]*:(.*)$", re.DOTALL)


@dataclass(frozen=True)
class MethodResult:
    """One `method=result` of a field: names lowercased, property values as written."""

    method: str  # "dkim", "spf", ... without a version
    result: str  # "pass", "fail", "none", ...
    reason: str | None = None
    properties: tuple[tuple[str, str], ...] = ()  # ("header.d", "example.org"), ...
    version: int | None = None

    def prop(self, name: str) -> str | None:
        """The first value of property `name` ("header.d"), or None."""
        wanted = name.lower()
        return next((value for key, value in self.properties if key == wanted), None)


@dataclass(frozen=True)
class AuthResults:
    authserv_id: str  # lowercased
    version: int | None = None
    results: tuple[MethodResult, ...] = ()


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "quoted", or one of ";" "="
    text: str
    spaced: bool  # whitespace or a comment came right before it


def parse_field(value: str | bytes) -> AuthResults | None:
    """One field's value (without `Authentication-Results:`); None if it names no server."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    tokens = list(_tokens(value[:MAX_FIELD_CHARS]))
    if not tokens or tokens[0].kind not in ("word", "quoted"):
        return None
    authserv_id = tokens[0].text.strip().lower()
    if not authserv_id:
        return None
    position, version = 1, None
    if position < len(tokens) and tokens[position].kind == "word":
        if not tokens[position].text.isdigit():
            return None  # a second word where a version or ";" must be
        version = int(tokens[position].text[:9])
        position += 1
    results = []
    for part in _split(tokens[position:]):
        result = _resinfo(part)
        if result is not None:
            results.append(result)
    return AuthResults(authserv_id, version, tuple(results))


def _split(tokens: list[_Token]) -> Iterator[list[_Token]]:
    """The resinfo parts: what follows each ";" up to the next."""
    part: list[_Token] | None = None
    for token in tokens:
        if token.kind == ";":
            if part:
                yield part
            part = []
        elif part is not None:
            part.append(token)
    if part:
        yield part


def _resinfo(tokens: list[_Token]) -> MethodResult | None:
    """`method[/version] = result [reason=value] [ptype.property=value ...]`; None if that is
    not what it is (or it is the "none" of a field without results)."""
    method, version, rest = _method(tokens)
    if method is None or len(rest) < 2 or rest[0].kind != "=" or rest[1].kind != "word":
        return None
    result = rest[1].text.lower()
    reason, properties = None, []
    position = 2
    while position + 1 < len(rest):
        key, after = _property_name(rest, position)
        if key is None or after >= len(rest) or rest[after].kind != "=":
            position += 1  # something this parser does not know: skipped, never guessed at
            continue
        value, position = _value(rest, after + 1)
        if key == "reason":
            reason = value
        elif "." in key:
            properties.append((key, value))
    return MethodResult(method, result, reason, tuple(properties), version)


def _property_name(tokens: list[_Token], position: int) -> tuple[str | None, int]:
    """`header.d`, also written `header . d` (CFWS may surround the dot), lowercased."""
    if tokens[position].kind != "word":
        return None, position
    text = tokens[position].text
    position += 1
    while position < len(tokens) and tokens[position].kind == "word":
        following = tokens[position].text
        if not (text.endswith(".") or following.startswith(".")):
            break
        text, position = text + following, position + 1
    return text.lower(), position


def _method(tokens: list[_Token]) -> tuple[str | None, int | None, list[_Token]]:
    if not tokens or tokens[0].kind != "word":
        return None, None, tokens
    text, rest = tokens[0].text, tokens[1:]
    while rest and rest[0].kind == "word" and (text.endswith("/") or rest[0].text[:1] == "/"):
        text, rest = text + rest[0].text, rest[1:]  # "dkim / 1"
    name, _, number = text.partition("/")
    version = int(number[:9]) if number.isdigit() else None
    if not name or (number and version is None):
        return None, None, tokens
    return name.lower(), version, rest


def _value(tokens: list[_Token], position: int) -> tuple[str, int]:
    """A value (a word, a quoted string, or `"local part"@domain`) and the position after it.
    Adjacent "=" signs belong to it (base64 padding in header.b)."""
    if position >= len(tokens) or tokens[position].kind not in ("word", "quoted"):
        return "", position
    text = tokens[position].text
    position += 1
    while position < len(tokens) and not tokens[position].spaced:
        token = tokens[position]
        if token.kind == "=" or (token.kind == "word" and token.text.startswith("@")):
            text += token.text
            position += 1
        else:
            break
    return text, position


def _tokens(text: str) -> Iterator[_Token]:
    position, spaced = 0, False
    while position < len(text):
        char = text[position]
        if char in _SPACE:
            position, spaced = position + 1, True
        elif char == "(":
            position, spaced = _skip_comment(text, position), True
        elif char == '"':
            value, position = _quoted(text, position)
            yield _Token("quoted", value, spaced)
            spaced = False
        elif char in ";=":
            yield _Token(char, char, spaced)
            position, spaced = position + 1, False
        elif char == ")":
            position, spaced = position + 1, True  # a stray ")" is dropped
        else:
            end = position
            while end < len(text) and text[end] not in _SPECIALS and text[end] not in _SPACE:
                end += 1
            yield _Token("word", text[position:end], spaced)
            position, spaced = end, False


def _skip_comment(text: str, position: int) -> int:
    """The position after the comment opening at `position` (nested; to the end if open)."""
    depth = 0
    while position < len(text):
        char = text[position]
        if char == "\\":
            position += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return position + 1
        position += 1
    return position


def _quoted(text: str, position: int) -> tuple[str, int]:
    value: list[str] = []
    position += 1
    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text):
            value.append(text[position + 1])
            position += 2
            continue
        if char == '"':
            return "".join(value), position + 1
        value.append(char)
        position += 1
    return "".join(value), position


# --- a message's fields, and the check a reply must pass ----------------------------------


def fields(raw_message: bytes, name: str = FIELD_NAME) -> list[str]:
    """The unfolded values of every `name` field in the header section of `raw_message` (the
    part before the first empty line), at most MAX_FIELDS of them."""
    head = re.split(rb"\r?\n\r?\n", raw_message, maxsplit=1)[0]
    text = head.decode("utf-8", "replace")
    found: list[str] = []
    current: list[str] | None = None
    for line in re.split(r"\r?\n", text):
        if line[:1] in (" ", "\t"):
            if current is not None:
                current.append(line)
            continue
        if current is not None:
            found.append(" ".join(part.strip() for part in current).strip())
            current = None
            if len(found) >= MAX_FIELDS:
                return found
        match = _FIELD_START.match(line)
        if match and match.group(1).lower() == name:
            current = [match.group(2)]
    if current is not None:
        found.append(" ".join(part.strip() for part in current).strip())
    return found[:MAX_FIELDS]


def passes_for(
    values: Iterable[str | bytes], authserv_ids: Iterable[str], domains: Iterable[str]
) -> bool:
    """Whether one field written by one of `authserv_ids` says `dkim=pass` for one of
    `domains` (header.d, or the domain of header.i) or `spf=pass` with smtp.mailfrom in one of
    them. Fields naming any other server are ignored: anyone can write those."""
    servers = {server.strip().lower() for server in authserv_ids}
    wanted = {d for d in (normalise_domain(domain) for domain in domains) if d}
    for value in values:
        parsed = parse_field(value)
        if parsed is None or parsed.authserv_id not in servers:
            continue
        if any(_domain_of(result) in wanted for result in parsed.results):
            return True
    return False


def _domain_of(result: MethodResult) -> str | None:
    """The domain a passing DKIM or SPF result vouches for; None for anything else."""
    if result.result != "pass":
        return None
    if result.method == "dkim":
        raw = result.prop("header.d") or (result.prop("header.i") or "").rpartition("@")[2]
    elif result.method == "spf":
        raw = (result.prop("smtp.mailfrom") or "").rpartition("@")[2]
    else:
        return None
    return normalise_domain(raw) if raw else None
