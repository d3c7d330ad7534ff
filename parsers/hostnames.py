"""Host names from strangers (DNS answers, autoconfig files): checked, or refused.

A DNS answer or an XML file can hold any bytes where a host name belongs: control
characters, spaces, shell syntax, a megabyte of text. Only what a resolver could look up
passes: letters, digits and hyphens in labels of at most 63 characters (an internationalised
name becomes punycode), or an IP address.
"""

from __future__ import annotations

import ipaddress
import re

import idna

from kithkin.parsers.text import clean_line

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_WHITESPACE = " \t\r\n"
MAX_NAME = 253


def host_name(text: str) -> str | None:
    """`text` as a lowercase ASCII host name without the final dot, or an IP address in its
    usual form; None when it is neither."""
    name = text.strip(_WHITESPACE)
    if not name or len(name) > MAX_NAME + 1:
        return None
    address = _ip_address(name)
    if address is not None:
        return address
    name = name.removesuffix(".")
    if not name.isascii():
        try:
            name = idna.encode(name, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            return None
    name = name.lower()
    if not name or len(name) > MAX_NAME:
        return None
    if all(_LABEL.match(label) for label in name.split(".")):
        return name
    return None


def ascii_domain(domain: str) -> str | None:
    """A mail domain (as normalise_address leaves it, maybe Unicode) as DNS needs it."""
    name = host_name(domain)
    return name if name is not None and _ip_address(name) is None else None


def _ip_address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.removeprefix("[").removesuffix("]")))
    except ValueError:
        return None


def quoted(text: str, limit: int = 60) -> str:
    """A stranger's text, made safe to show in one warning line: cleaned, cut, quoted."""
    line = clean_line(text[: limit * 4])
    if len(line) > limit:
        line = line[: limit - 1] + "…"
    return repr(line)
