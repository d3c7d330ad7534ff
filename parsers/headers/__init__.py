"""Raw header bytes in, a small immutable `MessageFacts` record out.

The sync fetches `BODY.PEEK[HEADER.FIELDS (...)]` for every message and calls
`parse_headers(raw, internaldate)`. That runs for every message of a 100,000-message
mailbox, so it has to keep pace with imapclient's own parsing of the FETCH response.

What was chosen, and why. Measured with `tests/bench/bench_parse.py` (Python 3.11.7,
10,000 distinct ~480-byte blocks of 10 fields, caches cleared before each run):

    kithkin parse_headers                                     ~31 µs/message
    stdlib compat32 BytesHeaderParser + getaddresses
      + decode_header + parsedate                            ~112 µs  (3.5x)
    mailparser.parse_from_bytes + reading the same fields    ~410 µs  (13x)
    imapclient parse_fetch_response (UID FLAGS INTERNALDATE
      + this header block), for scale                         ~34 µs

Each step is written by hand, and each module says why:
- `fields`: our own splitter, not `email.parser`; 8-bit bytes are never dropped.
- `address_list`: our own address-list reader, not `getaddresses`, with a fast path.
- `encoded_words`: our own RFC 2047 decoder, which never raises.
- `dates`: RFC 5322 dates, and when INTERNALDATE replaces them.
- `message_ids`: Message-ID, In-Reply-To, References and List-Id as bare ids.
- `facts`: `MessageFacts`, `HeaderBlock`, `read_block` and `parse_headers`.

**Bounded work**: each module caps what it reads (lines, bytes of a value, addresses per
field, ids of a References), so a 1 MB header block parses in 2-70 ms whatever its shape.
"""

from kithkin.parsers.headers.address_list import Address, parse_address_list
from kithkin.parsers.headers.dates import parse_date
from kithkin.parsers.headers.encoded_words import decode_words
from kithkin.parsers.headers.facts import HeaderBlock, MessageFacts, parse_headers, read_block
from kithkin.parsers.headers.fields import HEADER_FIELDS

__all__ = [
    "HEADER_FIELDS",
    "Address",
    "HeaderBlock",
    "MessageFacts",
    "decode_words",
    "parse_address_list",
    "parse_date",
    "parse_headers",
    "read_block",
]
