"""Email addresses in one canonical form, so `Ann@Example.ORG` and `<ann@example.org>` match.

Normal form: surrounding whitespace, angle brackets and a `mailto:` prefix removed, the whole
address case-folded, and an internationalised domain in lowercase Unicode (IDNA 2008, so
`xn--bcher-kva.example` and `BÜCHER.example` both become `bücher.example`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import idna

_SPACE = re.compile(r"\s+")
_UNQUOTED_FORBIDDEN = re.compile(r'[\s@,;:<>()\[\]\\"]')


@lru_cache(maxsize=65536)
def normalise_address(raw: str) -> str | None:
    """The canonical form of one address, or None when `raw` is not an address at all."""
    text = (raw or "").strip()
    if text[:7].lower() == "mailto:":
        text = text[7:]
    text = text.strip().strip("<>").strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain or "<" in text or ">" in text:
        return None
    if local.startswith('"') and local.endswith('"') and len(local) > 1:
        inner = local[1:-1]
        # `"ann"@x` is `ann@x`; a local part that needs its quotes keeps them
        local = inner if inner and not _UNQUOTED_FORBIDDEN.search(inner) else local
    elif _UNQUOTED_FORBIDDEN.search(local):
        return None
    if _SPACE.search(domain):
        return None
    normal_domain = normalise_domain(domain)
    if normal_domain is None:
        return None
    return f"{unicodedata.normalize('NFC', local).casefold()}@{normal_domain}"


@lru_cache(maxsize=4096)  # a mailbox has many addresses, but few domains
def normalise_domain(domain: str) -> str | None:
    domain = domain.strip().rstrip(".")
    if not domain:
        return None
    if domain.startswith("[") and domain.endswith("]"):
        return domain.lower()  # address literal such as [127.0.0.1]
    labels = []
    for label in domain.split("."):
        if not label:
            return None
        labels.append(_decode_label(label))
    return ".".join(labels)


def _decode_label(label: str) -> str:
    lowered = unicodedata.normalize("NFC", label).lower()
    if lowered.startswith("xn--"):
        try:
            return idna.decode(lowered)
        except (idna.IDNAError, UnicodeError, ValueError):
            try:
                return lowered.encode("ascii").decode("idna")
            except UnicodeError:
                return lowered
    if lowered.isascii():
        return lowered
    try:
        return idna.decode(idna.encode(lowered, uts46=True))
    except (idna.IDNAError, UnicodeError, ValueError):
        return lowered


def ascii_address(address: str) -> str:
    """The address with its domain in ASCII (punycode), as mail headers and SMTP expect."""
    local, _, domain = address.rpartition("@")
    if domain.isascii():
        return address
    try:
        return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"
    except (idna.IDNAError, UnicodeError, ValueError):
        return address
