"""The past mail of contacts added since the last sync: found by a targeted `UID SEARCH
FROM/TO/CC/BCC` where the server allows it (None when it refuses: the caller scans)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress

import idna

from kithkin.daemon.mail.records import SearchRefused
from kithkin.daemon.sync.source import MailSource
from kithkin.parsers.addresses import normalise_address

log = logging.getLogger("kithkin.sync")

SEARCH_CHUNK = 8  # addresses per targeted backfill search (4 criteria each)
SEARCH_LIMIT = 60  # more pending addresses than this: rescan headers instead of searching


def search_addresses(
    source: MailSource, addresses: list[str], last_uid: int, heartbeat: Callable[[], None]
) -> list[int] | None:
    """The UIDs up to `last_uid` of mail from or to any of `addresses`."""
    found: set[int] = set()
    try:
        for start in range(0, len(addresses), SEARCH_CHUNK):
            chunk = addresses[start : start + SEARCH_CHUNK]
            variants = [v for address in chunk for v in search_forms(address)]
            keys = [[field, v] for v in variants for field in ("FROM", "TO", "CC", "BCC")]
            criteria = ["UID", f"1:{last_uid}", *_or_tree(keys)]
            charset = None if all(v.isascii() for v in variants) else "UTF-8"
            heartbeat()
            found.update(
                uid for uid in source.search_uids(criteria, charset=charset) if uid <= last_uid
            )
    except SearchRefused as exc:
        log.info("%s; scanning headers instead", exc)
        return None
    return sorted(found)


def search_forms(address: str) -> list[str]:
    """The forms an address can take in a header: as stored, and with an ASCII domain."""
    forms = [address]
    local, _, domain = address.rpartition("@")
    if not domain.isascii():
        with suppress(idna.IDNAError, UnicodeError):
            forms.append(f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}")
    return [form for form in dict.fromkeys(forms) if normalise_address(form)]


def _or_tree(keys: list[list[str]]) -> list[str]:
    """IMAP's OR is binary and prefix: OR a OR b c."""
    flat: list[str] = []
    for index, key in enumerate(keys):
        if index < len(keys) - 1:
            flat.append("OR")
        flat.extend(key)
    return flat
