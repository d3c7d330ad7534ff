"""A header block -> `HeaderBlock` (fields and addresses) -> `MessageFacts` (everything kept).

Every text field goes through `text.clean_line`: control characters (CR, LF, NUL, tabs,
C0/C1) in the subject and display names become spaces, so an encoded `=0D=0A` can never turn
into a header line break further down; escape sequences and bidi overrides are removed, lone
surrogates (UTF-7 can make them) repaired. Ids lose every space as well.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from kithkin.parsers.headers import message_ids
from kithkin.parsers.headers.address_list import MAX_ADDRESSES, Address, read_addresses
from kithkin.parsers.headers.dates import as_utc, choose_date
from kithkin.parsers.headers.encoded_words import display_text
from kithkin.parsers.headers.fields import MAX_ADDRESS_BYTES, split_fields
from kithkin.parsers.text import clean_line


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What Kithkin keeps of one message's header.

    Address fields hold each normalised address once, garbage dropped. `date` is aware UTC:
    the Date header when believable (`date_from_header`), else INTERNALDATE, else None. Ids
    are without `<>` and whitespace. Every string is clean (`text.is_clean`); `subject`, names
    and `kithkin_summary` have single spaces. `auto_submitted` and `precedence` are the
    lowercased first token. `raw_date` is the Date header's text, cleaned ("" if none).
    """

    from_: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    bcc: tuple[Address, ...]
    date: datetime | None
    date_from_header: bool
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    list_id: str | None
    auto_submitted: str | None
    precedence: str | None
    kithkin_summary: str | None
    raw_date: str

    @property
    def message_key(self) -> str:
        """`<message-id>`, or a hash of sender, Date and Subject when there is no Message-ID."""
        if self.message_id:
            return f"<{self.message_id}>"
        senders = ",".join(sender.address for sender in self.from_)
        text = f"{senders}|{self.raw_date}|{self.subject}"
        digest = hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()
        return f"sha256:{digest}"

    @property
    def recipients(self) -> tuple[Address, ...]:
        """To, Cc and Bcc, each address once, in that order."""
        return _unique(self.to + self.cc + self.bcc)


def parse_headers(raw: bytes, internaldate: datetime | None = None) -> MessageFacts:
    """The facts of one header block. Never raises for any bytes (short of MemoryError)."""
    return read_block(raw).facts(internaldate)


@dataclass(frozen=True, slots=True)
class HeaderBlock:
    """A header block split into fields, with only the addresses read so far.

    The sync reads this much of every message and decides from the addresses alone whether
    the message concerns a contact; only those (and the owner's possible replies to a
    summary) go on to `facts()`, which decodes dates, ids and the subject. Mail of strangers
    is never decoded further than its addresses.
    """

    fields: dict[str, str]
    from_: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    bcc: tuple[Address, ...]

    def raw(self, name: str) -> str:
        """A field's text as written (undecoded, unfolded); "" when absent."""
        return self.fields.get(name, "")

    def addresses_capped(self) -> bool:
        """Whether an address field was longer than is read (`MAX_ADDRESS_BYTES`, or
        `MAX_ADDRESSES` addresses): the rest of that list was not parsed."""
        return any(
            len(self.fields.get(name, "")) >= MAX_ADDRESS_BYTES * 0.99
            or len(addresses) >= MAX_ADDRESSES
            for name, addresses in (
                ("from", self.from_), ("to", self.to), ("cc", self.cc), ("bcc", self.bcc)
            )
        )  # fmt: skip

    def facts(self, internaldate: datetime | None = None) -> MessageFacts:
        return facts_of(self.fields, self.from_, self.to, self.cc, self.bcc, internaldate)


def facts_of(
    fields: dict[str, str],
    from_: tuple[Address, ...],
    to: tuple[Address, ...],
    cc: tuple[Address, ...],
    bcc: tuple[Address, ...],
    internaldate: datetime | None,
) -> MessageFacts:
    """The facts of a block's fields (as `split_fields` has them) and its addresses."""
    get = fields.get
    raw_date = clean_line(get("date", ""))
    date, from_header = choose_date(raw_date, as_utc(internaldate))
    summary = get("x-kithkin-summary")
    return MessageFacts(
        from_,
        to,
        cc,
        bcc,
        date,
        from_header,
        message_ids.message_id(get("message-id", "")),
        message_ids.in_reply_to(get("in-reply-to", "")),
        message_ids.references(get("references", "")),
        display_text(get("subject", "")),
        message_ids.list_id(get("list-id", "")),
        first_token(get("auto-submitted", "")),
        first_token(get("precedence", "")),
        (clean_line(summary) or None) if summary else None,
        raw_date,
    )


def read_block(raw: bytes) -> HeaderBlock:
    """Split the block and read its address fields; the cheap first half of parse_headers."""
    fields = split_fields(bytes(raw))
    get = fields.get
    return HeaderBlock(
        fields,
        read_addresses(get("from", "")),
        read_addresses(get("to", "")),
        read_addresses(get("cc", "")),
        read_addresses(get("bcc", "")),
    )


_FIRST_TOKEN = re.compile(r"[\s\x00-\x1f\x7f-\x9f]*([^\s\x00-\x1f\x7f-\x9f;,(]*)")


def first_token(text: str) -> str | None:
    """`Auto-Replied; x` -> `auto-replied`; None when empty."""
    match = _FIRST_TOKEN.match(text)
    return (clean_line(match.group(1).lower()) or None) if match else None


def _unique(addresses: tuple[Address, ...]) -> tuple[Address, ...]:
    seen: set[str] = set()
    kept = []
    for entry in addresses:
        if entry.address not in seen:
            seen.add(entry.address)
            kept.append(entry)
    return tuple(kept)
