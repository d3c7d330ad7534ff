"""Header parsing cost: `parse_headers` against mail-parser and the stdlib compat32 parser.

Run: `python tests/bench/bench_parse.py [N] [REPEAT]` (N distinct header blobs, default
10,000; each parser timed REPEAT times over all of them, default 3, best run reported).

The blobs look like what `BODY.PEEK[HEADER.FIELDS (...)]` returns: ~400 bytes, 10 fields,
CRLF, addresses drawn from a pool of 2,000 people (so caches see realistic reuse), a quarter
with RFC 2047 encoded words and a tenth with raw Latin-1 8-bit bytes. Each parser is asked for
the same fields. This is a script, not a test: nothing here asserts on time.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import policy
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

import mailparser
from imapclient.response_parser import parse_fetch_response

from kithkin.parsers.addresses import normalise_address
from kithkin.parsers.headers import HEADER_FIELDS, parse_headers

FIRST = ["Ann", "Bob", "Chloé", "Dmitri", "Eve", "François", "Grace", "Hiro", "Ines", "Jürgen"]
LAST = ["Smith", "Müller", "O'Neil", "Nakamura", "Dubois", "Kowalski", "Okafor", "Lind"]
DOMAINS = ["example.org", "mail.example.com", "corp.example.net", "bücher.example"]
WORDS = ["lunch", "report", "draft", "invoice", "trip", "photos", "meeting", "budget", "notes"]
LATIN1_SUBJECTS = ["café crème", "Grüße aus Köln", "reçu n° 12", "naïve façade", "señor"]


def _people(rng: random.Random, count: int) -> list[tuple[str, str]]:
    people = []
    for index in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        domain = DOMAINS[index % len(DOMAINS)] if index % 50 else "xn--bcher-kva.example"
        people.append((f"{first} {last}", f"{first[0].lower()}.{index}@{domain}"))
    return people


def _encoded(text: str) -> str:
    body = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch == "_") else f"={ord(ch):02X}"
        for ch in text.replace(" ", "_").encode().decode("latin-1")
    )
    return f"=?utf-8?q?{body}?="


def _mailbox(person: tuple[str, str], style: int) -> str:
    name, address = person
    if style == 0:
        return address
    if style == 1 and name.isascii():
        return f"{name} <{address}>"
    if style == 2:
        return f"{_encoded(name)} <{address}>"
    return f'"{name}" <{address}>'


def make_blob(rng: random.Random, index: int, people: list[tuple[str, str]]) -> bytes:
    """One header block; every 10th has raw Latin-1 bytes, every 4th encoded words."""
    latin1 = index % 10 == 3
    encoded = index % 4 == 1
    sender, *others = rng.sample(people, 4)
    subject = " ".join(rng.sample(WORDS, 3)) + f" {index}"
    if latin1:
        subject = f"{rng.choice(LATIN1_SUBJECTS)} {index}"
    elif encoded:
        subject = _encoded(f"Ré: {subject}") + " " + _encoded("ça va?")
    when = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(minutes=7 * index)
    parent = f"<{index - 1}.{rng.randrange(10**9)}@mail.example.com>"
    lines = [
        f"From: {_mailbox(sender, 2 if encoded else 1)}",
        f"To: {_mailbox(others[0], 3)}, {_mailbox(others[1], 0)}",
        f"Cc: {_mailbox(others[2], 2 if encoded else 1)}",
        f"Date: {when.strftime('%a, %d %b %Y %H:%M:%S')} +0100",
        f"Message-ID: <{index}.{rng.randrange(10**9)}@mail.example.com>",
        f"In-Reply-To: {parent}",
        f"References: <root.{index % 97}@mail.example.com> {parent}",
        f"Subject: {subject}",
        "Content-Type: text/plain; charset=" + ("iso-8859-1" if latin1 else "utf-8"),
        "Precedence: list" if index % 20 == 0 else "Auto-Submitted: no",
    ]
    text = "\r\n".join(lines) + "\r\n\r\n"
    return text.encode("latin-1" if latin1 else "utf-8")


# --- the three contenders, each reading the same fields -------------------------------------


def ours(blob: bytes) -> Any:
    facts = parse_headers(blob)
    return facts.from_, facts.to, facts.cc, facts.date, facts.subject, facts.references


def with_mailparser(blob: bytes) -> Any:
    mail = mailparser.parse_from_bytes(blob)
    return (
        mail.from_,
        mail.to,
        mail.cc,
        mail.date,
        mail.subject,
        mail.message_id,
        mail.in_reply_to,
        mail.references,
        mail.precedence,
    )


_COMPAT32 = BytesHeaderParser(policy=policy.compat32)


def _decoded(value: Any) -> str:
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError, TypeError):
        return str(value)


def with_stdlib(blob: bytes) -> Any:
    message = _COMPAT32.parsebytes(blob)
    addresses = {}
    for field in ("from", "to", "cc"):
        values = [str(value) for value in message.get_all(field, [])]
        addresses[field] = [(_decoded(name), addr) for name, addr in getaddresses(values)]
    try:
        date = parsedate_to_datetime(str(message.get("date", "")))
    except (TypeError, ValueError, IndexError):
        date = None
    subject = _decoded(message.get("subject", ""))
    return addresses, date, subject, message.get("message-id"), message.get("references")


_FIELDS = " ".join(HEADER_FIELDS).encode()


def fetch_responses(blobs: list[bytes], batch: int = 1000) -> list[list[Any]]:
    """What imaplib hands imapclient for `UID FETCH` of UID, FLAGS, INTERNALDATE, headers."""
    batches: list[list[Any]] = []
    for index, blob in enumerate(blobs):
        if index % batch == 0:
            batches.append([])
        head = b'%d (UID %d FLAGS (\\Seen) INTERNALDATE "01-Jan-2020 00:35:00 +0100" ' % (
            index + 1,
            index + 1,
        )
        head += b"BODY[HEADER.FIELDS (%s)] {%d}" % (_FIELDS, len(blob))
        batches[-1].extend([(head, blob), b")"])
    return batches


def time_imapclient(blobs: list[bytes], repeat: int) -> float:
    """imapclient's own parsing of the FETCH responses: the rate the sync must keep up with."""
    batches = fetch_responses(blobs)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for batch in batches:
            parse_fetch_response(batch, normalise_times=False)
        best = min(best, time.perf_counter() - start)
    return best / len(blobs) * 1e6


# --- measuring -------------------------------------------------------------------------------


def time_per_message(parse: Callable[[bytes], Any], blobs: list[bytes], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        normalise_address.cache_clear()
        start = time.perf_counter()
        for blob in blobs:
            parse(blob)
        best = min(best, time.perf_counter() - start)
    return best / len(blobs) * 1e6


def hostile_timings() -> list[tuple[str, float]]:
    """Milliseconds for one call of `parse_headers` on oversized blocks."""
    cases = {
        "1 MB Subject": b"Subject: " + b"x" * 1_000_000 + b"\r\n",
        "1 MB To (20k addresses)": b"To: " + b", ".join(b"a%d@x.org" % i for i in range(90_000)),
        "1 MB References (20k ids)": b"References: "
        + b" ".join(b"<%d.abcdefghijklmnopqrstuvwxyz@x.org>" % i for i in range(25_000)),
        "1 MB of folded lines": b"Subject: a" + b"\r\n b" * 330_000,
        "1 MB of To: lines": b"To: a@x.org\r\n" * 77_000,
        "1 MB of quotes and comments": b'To: "' + b'(\\"' * 330_000,
    }
    timings = []
    for label, blob in cases.items():
        start = time.perf_counter()
        parse_headers(blob)
        timings.append((f"{label} ({len(blob) / 1e6:.1f} MB)", (time.perf_counter() - start) * 1e3))
    return timings


def latin1_comparison(blobs: list[bytes], limit: int = 5) -> list[tuple[str, str, str]]:
    rows = []
    for blob in blobs:
        if b"iso-8859-1" in blob and len(rows) < limit:
            rows.append(
                (
                    parse_headers(blob).subject,
                    mailparser.parse_from_bytes(blob).subject,
                    _decoded(_COMPAT32.parsebytes(blob).get("subject", "")),
                )
            )
    return rows


def main(argv: list[str]) -> None:
    count = int(argv[1]) if len(argv) > 1 else 10_000
    repeat = int(argv[2]) if len(argv) > 2 else 3
    rng = random.Random(20240601)
    people = _people(rng, 2000)
    blobs = [make_blob(rng, index, people) for index in range(count)]
    average = sum(map(len, blobs)) / len(blobs)
    print(f"Python {sys.version.split()[0]}, {count} blobs, {average:.0f} bytes average, ", end="")
    print(f"best of {repeat}")
    results = {
        "kithkin parse_headers": time_per_message(ours, blobs, repeat),
        "stdlib compat32 + getaddresses + decode_header + parsedate": time_per_message(
            with_stdlib, blobs, repeat
        ),
        "mail-parser parse_from_bytes + fields": time_per_message(with_mailparser, blobs, repeat),
    }
    base = results["kithkin parse_headers"]
    print(f"\n{'parser':<60} {'µs/msg':>8} {'× ours':>8}")
    for label, micros in results.items():
        print(f"{label:<60} {micros:8.1f} {micros / base:8.1f}")
    fetch = time_imapclient(blobs, repeat)
    print(f"\nimapclient parse_fetch_response (UID FLAGS INTERNALDATE headers): {fetch:.1f} µs/msg")
    print("Sync rate with each parser, as a share of the rate of imapclient's parsing alone")
    print("(a lower bound: a real fetch also spends CPU in imaplib reading the socket):")
    for label, micros in results.items():
        print(f"  {label[:58]:<58} {fetch / (fetch + micros):.2f}x")
    print("\nOversized blocks, parse_headers, one call:")
    for label, millis in hostile_timings():
        print(f"  {label:<45} {millis:8.1f} ms")
    print("\nLatin-1 subjects (8-bit, charset=iso-8859-1): ours | mail-parser | stdlib compat32")
    for row in latin1_comparison(blobs):
        print("  " + " | ".join(repr(value) for value in row))


if __name__ == "__main__":
    main(sys.argv)
