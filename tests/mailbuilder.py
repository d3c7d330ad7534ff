"""Build raw RFC 5322 messages for tests, byte for byte, including malformed ones.

Header values are written as given: a `str` is encoded as UTF-8 (raw 8-bit, as in RFC 6532
mail), `bytes` are copied unchanged (for Latin-1 or invalid UTF-8 headers). Nothing is
RFC 2047-encoded for you; use `encoded_word()` for that. Line endings become CRLF.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, make_msgid
from typing import Literal

Value = str | bytes
Addresses = Value | Iterable[Value]

MESSAGE_ID_DOMAIN = "kithkin.test"


def encoded_word(text: str, charset: str = "utf-8") -> str:
    """`text` as an RFC 2047 encoded word, e.g. for a non-ASCII display name or subject."""
    return Header(text, charset).encode()


def _as_bytes(value: Value) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def _address_list(addresses: Addresses) -> list[bytes]:
    if isinstance(addresses, str | bytes):
        return [_as_bytes(addresses)]
    return [_as_bytes(address) for address in addresses]


def make_message(
    *,
    from_: Value,
    to: Addresses = (),
    cc: Addresses = (),
    bcc: Addresses = (),
    subject: Value | None = "hello",
    date: datetime | Value | Literal[False] | None = None,
    message_id: Value | Literal[False] | None = None,
    headers: Mapping[str, Value] | Iterable[tuple[str, Value]] = (),
    body: Value = "Hello.\n",
) -> bytes:
    """A complete message as bytes with CRLF line endings.

    - `to`, `cc`, `bcc`: one address or several ("Name <a@example.org>" or "a@example.org");
      an empty list leaves the header out.
    - `subject=None` leaves Subject out.
    - `date`: a datetime (naive means "-0000", zone unknown), a raw string or bytes written as
      is (for bogus dates), None for now, False to leave Date out.
    - `message_id`: None makes a unique one, False leaves it out, a string is used as is.
    - `headers`: extra headers after the standard ones, a dict or a list of (name, value)
      pairs (repeat names with a list). A Content-Type or MIME-Version given here replaces
      the default text/plain UTF-8 ones.
    """
    lines: list[bytes] = []

    def add(name: str, value: Value) -> None:
        lines.append(name.encode("ascii") + b": " + _as_bytes(value))

    if date is None:
        date = datetime.now(UTC)
    if isinstance(date, datetime):
        add("Date", format_datetime(date))
    elif date is not False:
        add("Date", date)
    add("From", from_)
    for name, addresses in (("To", to), ("Cc", cc), ("Bcc", bcc)):
        values = _address_list(addresses)
        if values:
            add(name, b", ".join(values))
    if subject is not None:
        add("Subject", subject)
    if message_id is None:
        message_id = make_msgid(domain=MESSAGE_ID_DOMAIN)
    if message_id is not False:
        add("Message-ID", message_id)

    extra = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    for name, value in extra:
        add(name, value)
    given = {name.lower() for name, _ in extra}
    defaults = (
        ("MIME-Version", "1.0"),
        ("Content-Type", 'text/plain; charset="utf-8"'),
        ("Content-Transfer-Encoding", "8bit"),
    )
    if not given & {"mime-version", "content-type", "content-transfer-encoding"}:
        for name, value in defaults:
            add(name, value)

    message = b"\n".join(lines) + b"\n\n" + _as_bytes(body)
    return re.sub(rb"\r?\n", b"\r\n", message)
