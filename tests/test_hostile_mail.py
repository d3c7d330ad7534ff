"""Hostile and malformed mail: the corpus in `tests/data/hostile/` (see its README) parsed on
its own, then APPENDed to Dovecot and pymap and read by the real `kithkin sync`.

Each message has one expectation: the interactions it makes with the contacts below (often
none). The same table is checked twice, at two levels:

- `parse_headers` + `match` on the raw file, without a server (fast, exact, per file);
- through a real server and `kithkin sync`, where the server may rewrite bytes first (Dovecot
  turns a NUL into 0x80, both servers turn bare CRs into line breaks, pymap reads a message
  without a blank line as all body). Those rewrites are listed per server, not hidden.

The very long messages (100 KB to 1 MB headers) are generated here instead of committed.
"""

from __future__ import annotations

import imaplib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from helpers import ME, ME_ALIAS, write_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from imapclient import IMAPClient
from servers import DovecotServer, ImapServer, imap_client

from kithkin.daemon.core.matching import match
from kithkin.parsers.addresses import normalise_address
from kithkin.parsers.headers import MessageFacts, parse_headers

CORPUS = Path(__file__).parent / "data" / "hostile"
INTERNALDATE = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)  # every message is APPENDed with it
FALLBACK = "2025-01-15T10:00:00Z"  # INTERNALDATE as the store writes it
HEADER = "the file's own Date line"  # see `header_date`

CONTACTS = {
    "Ada Lovelace": "ada@example.org",
    "Grace Hopper": "grace@bücher.example",
    "Jürgen Müller": "jürgen@bücher.example",
    "Chloé Kowalski": "chloe@example.org",
    "Taro Yamada": "taro@example.jp",
    "Quentin Q": '"Quentin Q"@example.org',
}
OWNER = frozenset(a for a in (normalise_address(ME), normalise_address(ME_ALIAS)) if a)
CONTROL = {chr(n) for n in (*range(0x20), *range(0x7F, 0xA0))}


class Like:
    """An expected subject checked by a property, for values too long or lossy to spell out."""

    def __init__(self, description: str, check: Callable[[str], bool]) -> None:
        self.description = description
        self.check = check

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and self.check(other)

    def __hash__(self) -> int:
        return hash(self.description)

    def __repr__(self) -> str:
        return f"<subject: {self.description}>"


@dataclass(frozen=True)
class Row:
    """One interaction as `kithkin interactions --json` shows it."""

    contact: str
    direction: str
    subject: str | Like
    date: str = HEADER


def ada(subject: str | Like, date: str = HEADER) -> Row:
    return Row("Ada Lovelace", "in", subject, date)


def frm(contact: str, subject: str | Like) -> Row:
    return Row(contact, "in", subject)


def out(contact: str, subject: str) -> Row:
    return Row(contact, "out", subject)


def capped(prefix: str, filler: str) -> Like:
    """A huge subject kept as its first 16 KiB or so: `prefix` then only `filler`."""
    return Like(
        f"{prefix!r} then only {filler!r}, 16,000 to 16,384 characters",
        lambda s: s.startswith(prefix) and set(s[len(prefix) :]) <= set(filler)
        and 16_000 < len(s) <= 16 * 1024,
    )  # fmt: skip


NOTHING: tuple[Row, ...] = ()

# --- what each message makes -----------------------------------------------------------------

EXPECTED: dict[str, tuple[Row, ...]] = {
    # RFC 2047 encoded words
    "ew_b_missing_padding": (ada("café padding"),),
    "ew_b_stray_characters": (ada("Grüße stray"),),
    "ew_q_invalid_escapes": (ada("café =ZZ =4"),),
    "ew_unknown_charset": (ada("Grüße unknown"),),
    "ew_mislabelled_us_ascii": (ada("Grüße ascii"),),
    "ew_mislabelled_utf8_latin1_bytes": (ada("Grüße latin1"),),
    "ew_crlf_injection_subject": (ada("hello Bcc: evil@attacker.example"),),
    "ew_crlf_injection_display_name": NOTHING,  # the decoded "To: me" stays inside the name
    "ew_crlf_injection_base64": (ada("ok From: grace@xn--bcher-kva.example"),),
    "ew_nul_and_escape": (ada("a bc"),),  # the colour sequence goes whole
    "ew_multibyte_split_across_words": (ada("€ 100"),),
    "ew_iso_2022_jp": (frm("Taro Yamada", "日本語"),),
    "ew_double_encoded_not_decoded_twice": (ada("=?utf-8?q?Ada?="),),
    "ew_utf7": (ada("café utf7"),),
    "ew_empty_words": (ada("empty"),),
    "ew_rfc2231_language": (ada("Grüße language"),),
    "ew_gb2312_read_as_gb18030": (ada("中文"),),
    "ew_comma_in_display_name": (ada("comma in an encoded name"),),
    "ew_unterminated": (ada("=?utf-8?q?never-ends"),),
    "ew_encoded_word_folded_mid_word": (ada("=?utf-8?q?fol ded?= word"),),
    # raw 8-bit headers
    "raw_latin1_no_charset_hint": (ada("Grüße aus Köln"),),
    "raw_latin1_with_charset_hint": (ada("Café crème"),),
    "raw_cp1252_punctuation": (ada("“quoted” € 5"),),
    "raw_shift_jis_with_charset_hint": (frm("Taro Yamada", "日本語のメール"),),
    "raw_shift_jis_no_charset_hint": (
        frm("Taro Yamada", Like("lossy but clean, ends ' sjis'", lambda s: s.endswith(" sjis"))),
    ),
    "raw_invalid_utf8": (ada("Ã( broken ÿ utf8"),),
    "raw_utf8_smtputf8": (frm("Jürgen Müller", "Grüße aus München"),),
    "raw_mixed_utf8_and_latin1": (frm("Chloé Kowalski", "Grüße gemischt"),),
    "raw_koi8r_with_charset_hint": (ada("Привет"),),
    "raw_hint_unknown_charset": (ada("café unknown hint"),),
    "raw_hint_not_a_text_codec": (ada("Café rot13"),),
    # Header bytes are never UTF-16, whatever the body's charset says: cp1252 is the answer.
    "raw_hint_utf16_mislabelled": (ada("Grüße aus Köln!"),),
    "raw_latin1_display_name_only": (frm("Chloé Kowalski", "only the name is 8-bit"),),
    # folding and length
    "fold_subject_500_times": (ada(" ".join(f"w{n}" for n in range(500))),),
    "fold_to_300_times": (ada("folded To list"),),
    "fold_every_token_with_tabs": (ada("folded with tabs", "2025-01-13T09:14:00Z"),),
    "long_message_id_5k": (ada("long message id"),),
    "long_subject_line_100k": (ada(capped("Long ", "x")),),
    "long_to_2000_addresses": (ada("2000 recipients, me in Cc"),),
    "long_references_5000_ids": (ada("5000 references"),),
    "long_header_3000_junk_lines": (ada("after 3000 junk lines"),),
    "megabyte_subject_line": (ada(capped("Mega ", "y")),),
    "long_subject_folded_20000_times": (ada(capped("folded ", "a ")),),
    # missing and duplicate headers
    "missing_from": NOTHING,
    "missing_date": (ada("no date", FALLBACK),),
    "missing_message_id": (ada("no message id"),),
    "missing_recipients": NOTHING,
    "missing_everything_but_subject": NOTHING,
    "dup_from": (ada("two From headers"),),  # the first From counts, not Grace
    "dup_date": (ada("two Date headers", "2025-01-13T08:01:00Z"),),
    "dup_message_id": (ada("two Message-ID headers"),),
    "dup_to_headers_combined": (ada("two To headers"),),
    "dup_message_id_across_files_a": (ada("first copy"),),
    "dup_message_id_across_files_b": NOTHING,  # the same Message-ID is logged once
    "empty_header_values": NOTHING,
    # the shape of the block
    "shape_header_name_case_and_space": (ada("odd case", "2025-01-13T09:55:00Z"),),
    "shape_no_blank_line_no_body": (ada("no body"),),
    "shape_lf_only": (ada("LF line endings"),),
    "shape_bare_cr_only": (ada("CR line endings"),),
    "shape_bare_cr_in_subject": (ada("bare cr"),),  # servers end the line at the bare CR
    "shape_mbox_from_line": (ada("mbox From_ line first", "2025-01-13T09:59:00Z"),),
    "shape_continuation_first": (ada("continuation line first", "2025-01-13T09:58:00Z"),),
    "shape_lines_without_colon": (ada("garbage lines around"),),
    "shape_body_looks_like_headers": NOTHING,
    "shape_8bit_header_names": (ada("8-bit header names"),),
    # address syntax
    "addr_group_undisclosed_with_bcc": (out("Ada Lovelace", "bcc only"),),
    "addr_group_with_members": (
        out("Ada Lovelace", "to a group"),
        out("Grace Hopper", "to a group"),
    ),
    "addr_nested_comments": (ada("nested comments"),),
    "addr_comment_holds_owner_address": NOTHING,
    "addr_display_name_is_contact_address": NOTHING,
    "addr_display_name_is_owner_address": NOTHING,
    "addr_quoted_local_part_needless": (ada("needless quotes"),),
    "addr_quoted_local_part_with_at": NOTHING,
    "addr_quoted_local_part_contact": (frm("Quentin Q", "a local part that needs its quotes"),),
    "addr_idn_punycode": (frm("Grace Hopper", "punycode domain"),),
    "addr_idn_utf8_uppercase": (frm("Grace Hopper", "UTF-8 domain in capitals"),),
    "addr_idn_punycode_caps_trailing_dot": (
        frm("Grace Hopper", "punycode in capitals with a trailing dot"),
    ),
    "addr_idn_bad_punycode": NOTHING,
    "addr_smtputf8_local_part": (frm("Jürgen Müller", "UTF-8 local part"),),
    "addr_nfd_local_part": (frm("Jürgen Müller", "decomposed umlauts"),),
    "addr_source_route": (ada("source route"),),
    "addr_missing_comma": (ada("missing comma"),),
    "addr_unclosed_angle": (ada("unclosed angle"),),
    "addr_unclosed_quote": NOTHING,
    "addr_mailto": (ada("mailto"),),
    "addr_nul_inside_address": (ada("NUL inside an address"),),
    "addr_encoded_word_as_address": NOTHING,
    "addr_owner_in_group_name": NOTHING,
    "addr_overlong_local_part": NOTHING,
    # dates: believable ones are kept, the rest fall back to INTERNALDATE
    "date_two_digit_year": (ada("two-digit year", "2025-01-13T09:30:00Z"),),
    "date_two_digit_year_99": (ada("two-digit year 99", "1999-01-13T09:31:00Z"),),
    "date_year_zero": (ada("year zero", FALLBACK),),
    "date_far_future": (ada("far future", FALLBACK),),
    "date_zone_plus_9999": (ada("zone +9999", FALLBACK),),
    "date_zone_minus_1400": (ada("zone -1400", "2025-01-13T23:36:00Z"),),
    "date_zone_in_words": (ada("zone in words", "2025-01-13T09:37:00Z"),),
    "date_words": (ada("date in words", FALLBACK),),
    "date_before_1970": (ada("before 1970", FALLBACK),),
    "date_iso_8601": (ada("ISO 8601 date", FALLBACK),),
    "date_without_time": (ada("date without a time", FALLBACK),),
    "date_five_digit_year": (ada("five-digit year", FALLBACK),),
    "date_30_february": (ada("30 February", FALLBACK),),
    "date_one_day_after_internaldate": (ada("a day ahead", "2025-01-16T09:41:00Z"),),
    "date_three_days_after_internaldate": (ada("3 days ahead", FALLBACK),),
    "date_8bit_garbage": (ada("8-bit in the date", FALLBACK),),
    # NUL and control characters
    "ctl_nul_in_subject": (ada("nul here"),),
    "ctl_nul_in_display_name": (ada("NUL in a display name"),),
    "ctl_raw_controls": (ada("ctl red bell del vt ff"),),  # the colour sequence goes whole
    "ctl_unicode_line_separators": (ada("a b c d"),),
    "ctl_bidi_override": (
        ada(Like("'evil txt' around bidi controls", lambda s: "evil" in s and "txt" in s)),
    ),
    # identifiers
    "id_message_id_with_spaces": (ada("message id with spaces"),),
    "id_message_id_unbracketed": (ada("unbracketed message id"),),
    "id_message_id_empty_brackets": (ada("empty message id"),),
    "id_in_reply_to_garbage": (ada("garbage In-Reply-To"),),
    # lists, automatic mail and summaries, written oddly: never interactions
    "excl_list_id_odd": NOTHING,
    "excl_auto_submitted_caps_comment": NOTHING,
    "excl_precedence_folded": NOTHING,
    "excl_kithkin_summary_forged": NOTHING,
    # forged replies to a summary: no interaction, and their commands do nothing
    "steer_forged_summary_token": NOTHING,
    "steer_lookalike_from_stranger": NOTHING,
}

# What the raw file gives where a server or the store changes the outcome.
RAW_DIFFERS: dict[str, tuple[Row, ...]] = {
    "dup_message_id_across_files_b": (ada("second copy"),),  # the store keeps the first only
    "shape_bare_cr_only": NOTHING,  # without a server, bare CRs end no line: one long From
    "shape_bare_cr_in_subject": (ada("bare cr Bcc: evil@attacker.example"),),
}

# How a server's rewriting changes the outcome (both accept every message of the corpus).
SERVER_QUIRKS: dict[str, dict[str, tuple[Row, ...]]] = {
    "dovecot": {
        "ctl_nul_in_subject": (ada("nul€here"),),  # Dovecot stores a NUL as 0x80 (cp1252 €)
        "addr_nul_inside_address": NOTHING,  # ...so the address is ada@exam€ple.org
    },
    "pymap": {
        "shape_no_blank_line_no_body": NOTHING,  # pymap reads it as a body without headers
    },
}

# A server may refuse these (NUL, bare CR; neither Dovecot nor pymap does today); any other
# refusal fails the test.
MAY_BE_REFUSED = frozenset(
    {"ctl_nul_in_subject", "ctl_nul_in_display_name", "addr_nul_inside_address",
     "shape_bare_cr_only", "shape_bare_cr_in_subject"}
)  # fmt: skip


# --- the messages ----------------------------------------------------------------------------


def generated(subject: bytes, *extra: bytes, name: str) -> bytes:
    """A message from Ada (to the owner unless `extra` has To or Cc), dated 09:50."""
    lines = [
        b"Date: Mon, 13 Jan 2025 09:50:00 +0000",
        b"From: Ada Lovelace <ada@example.org>",
        *extra,
        b"Subject: " + subject,
        b"Message-ID: <%s@corpus.kithkin.test>" % name.encode(),
    ]
    if not any(line.lower().startswith((b"to:", b"cc:")) for line in extra):
        lines.insert(2, b"To: " + ME.encode())
    return b"\r\n".join(lines) + b"\r\n\r\nHello.\r\n"


def generated_messages() -> dict[str, bytes]:
    """The long ones, made here rather than committed (about 1.4 MB together)."""
    crowd = b", ".join(b"Stranger %d <s%d@crowd.example>" % (n, n) for n in range(2000))
    references = b"\r\n ".join(b"<ref-%d.abcdefgh@corpus.kithkin.test>" % n for n in range(5000))
    junk = [b"X-Junk-%d: %s" % (n, b"j" * 30) for n in range(3000)]
    return {
        "long_subject_line_100k": generated(b"Long " + b"x" * 100_000, name="long_subject"),
        "long_to_2000_addresses": generated(
            b"2000 recipients, me in Cc", b"To: " + crowd, b"Cc: " + ME.encode(), name="long_to"
        ),
        "long_references_5000_ids": generated(
            b"5000 references", b"References: " + references, name="long_refs"
        ),
        "long_header_3000_junk_lines": generated(b"after 3000 junk lines", *junk, name="junk"),
        "megabyte_subject_line": generated(b"Mega " + b"y" * 1_000_000, name="mb_subject"),
        # pymap's APPEND slows down fast with folds (1 s for 50,000, 12 s for 250,000).
        "long_subject_folded_20000_times": generated(b"folded" + b"\r\n a" * 20_000, name="fold"),
    }


@cache
def all_messages() -> dict[str, bytes]:
    """Every message by name (file stem), committed and generated, in name order."""
    found = {path.stem: path.read_bytes() for path in CORPUS.glob("*.eml")}
    found.update(generated_messages())
    return dict(sorted(found.items()))


_PLAIN_DATE = re.compile(rb"(?:^|[\r\n])Date: Mon, 13 Jan 2025 09:(\d\d):00 \+0000(?=[\r\n]|$)")


def header_date(raw: bytes) -> str:
    """The file's own plain `Date: Mon, 13 Jan 2025 09:MM:00 +0000` line, read by a regex."""
    found = _PLAIN_DATE.search(raw)
    assert found, "a row with date=HEADER needs a plain Date line in the file"
    return f"2025-01-13T09:{found.group(1).decode()}:00Z"


def resolved(rows: tuple[Row, ...], raw: bytes) -> list[Row]:
    return [
        Row(r.contact, r.direction, r.subject, header_date(raw) if r.date == HEADER else r.date)
        for r in rows
    ]


def assert_rows(actual: list[Row], expected: list[Row]) -> None:
    """The same rows in any order; `Like` subjects match by their property."""
    missing = list(expected)
    unexpected = []
    for row in actual:
        if row in missing:
            missing.remove(row)
        else:
            unexpected.append(row)
    assert not missing and not unexpected, f"missing: {missing}\nunexpected: {unexpected}"


def test_the_corpus_is_big_and_every_message_has_an_expectation() -> None:
    """Nothing in the corpus goes unchecked, and the table names no file that is gone."""
    names = set(all_messages())
    committed = {path.stem for path in CORPUS.glob("*.eml")}
    assert len(committed) >= 60
    assert names == set(EXPECTED), names ^ set(EXPECTED)
    assert set(RAW_DIFFERS) <= names
    assert set(MAY_BE_REFUSED) <= names
    for quirks in SERVER_QUIRKS.values():
        assert set(quirks) <= names
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    undocumented = [name for name in sorted(committed) if f"`{name}.eml`" not in readme]
    assert not undocumented, f"not described in {CORPUS / 'README.md'}: {undocumented}"


# --- (a) every header block on its own ----------------------------------------------------------

BOOK = {normalise_address(address): n for n, address in enumerate(CONTACTS.values())}
NAMES = dict(enumerate(CONTACTS))


def assert_clean(facts: MessageFacts) -> None:
    """What the rest of Kithkin relies on, whatever the input was."""
    for mailbox in (*facts.from_, *facts.recipients):
        assert "@" in mailbox.address and not CONTROL & set(mailbox.name + mailbox.address)
    assert not CONTROL & set(facts.subject) and facts.subject == facts.subject.strip()
    assert facts.date is not None and facts.date.tzinfo is UTC  # INTERNALDATE at worst
    assert facts.message_id is None or not CONTROL & set(facts.message_id + " ")
    assert len(facts.references) <= 51 and len(facts.to) <= 1000
    assert facts.message_key


@pytest.mark.parametrize("name", list(all_messages()))
def test_each_header_block_parses_to_the_expected_interactions(name: str) -> None:
    """`parse_headers` never raises on the corpus, keeps its output clean, and together with
    `match` gives exactly the interactions in the table (the raw file, no server)."""
    raw = all_messages()[name]
    facts = parse_headers(raw, INTERNALDATE)
    assert_clean(facts)
    book = {address: n for address, n in BOOK.items() if address}
    rows = [
        Row(NAMES[i.contact_id], i.direction or "", i.subject or "", f"{i.date:%Y-%m-%dT%H:%M:%SZ}")
        for i in match(facts, book, OWNER)
    ]
    assert_rows(rows, resolved(RAW_DIFFERS.get(name, EXPECTED[name]), raw))


# --- (b) through a real server and `kithkin sync` ---------------------------------------------


def append_all(server: ImapServer, messages: dict[str, bytes]) -> list[str]:
    """APPEND each message to INBOX with INTERNALDATE; return the names the server refused."""
    refused = []
    client: IMAPClient | None = None
    try:
        for name, raw in messages.items():
            client = client or imap_client(server)
            try:
                client.append("INBOX", raw, msg_time=INTERNALDATE)
            except imaplib.IMAP4.abort:
                refused.append(name)  # the server hung up on it: reconnect for the next one
                client.shutdown()
                client = None
            except imaplib.IMAP4.error:
                refused.append(name)  # NO or BAD
    finally:
        if client is not None:
            client.logout()
    return refused


_SUMMARY = re.compile(
    r"(\d+) new message\(s\) read, (\d+) interaction\(s\) logged"
    r"(?:, (\d+) unreadable message\(s\) skipped)?"
)


@dataclass
class Kithkin:
    config: Path
    run: Callable

    def __call__(self, *args: str):
        return self.run("--config", str(self.config), *args)

    def sync(self) -> tuple[int, int, int]:
        """Run `kithkin -vv sync`: exit 0, no traceback, nothing swallowed by the parser."""
        result = self("-vv", "sync")
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output
        assert "could not be parsed" not in result.stderr
        found = _SUMMARY.search(result.stdout)
        assert found, result.stdout
        read, logged, unreadable = found.groups()
        return int(read), int(logged), int(unreadable or 0)

    def rows(self) -> list[Row]:
        result = self("interactions", "--json")
        assert result.exit_code == 0, result.output
        return [
            Row(r["contact"], r["direction"], r["subject"], r["date"])
            for r in json.loads(result.stdout)
        ]


def server_name(server: ImapServer) -> str:
    return "dovecot" if isinstance(server, DovecotServer) else "pymap"


def test_the_corpus_synced_from_a_real_server(imap_server: ImapServer, tmp_path, run_cli) -> None:
    """The whole corpus APPENDed, then `kithkin sync`: exit 0, nothing raised or skipped,
    exactly the expected interactions, forged summary replies ignored, and a second sync
    adds nothing."""
    kithkin = Kithkin(write_config(tmp_path / "k", imap_server), run_cli)
    for name, address in CONTACTS.items():
        assert kithkin("contacts", "add", name, "--email", address).exit_code == 0
    messages = all_messages()
    refused = append_all(imap_server, messages)
    assert set(refused) <= MAY_BE_REFUSED, refused

    read, logged, unreadable = kithkin.sync()
    assert (read, unreadable) == (len(messages) - len(refused), 0)
    quirks = SERVER_QUIRKS[server_name(imap_server)]
    expected = [
        row
        for name, raw in messages.items()
        if name not in refused
        for row in resolved(quirks.get(name, EXPECTED[name]), raw)
    ]
    rows = kithkin.rows()
    assert logged == len(rows)

    assert kithkin.sync() == (0, 0, 0)
    assert kithkin.rows() == rows
    listing = kithkin("contacts", "list")
    assert listing.exit_code == 0 and "muted" not in listing.stdout  # forged "mute" replies
    assert_rows(rows, expected)  # last, so that one wrong row does not hide the checks above


# --- (c) random and mutated header blocks ---------------------------------------------------


def header_block(raw: bytes) -> bytes:
    """The part before the first blank line, as `BODY.PEEK[HEADER.FIELDS]` would cut it."""
    return re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]


SEEDS = [header_block(path.read_bytes()) for path in sorted(CORPUS.glob("*.eml"))]
TRICKY = [
    b"\r\n", b"\n", b"\r", b"\r\n ", b"\r\n\t", b"\x00", b":", b",", b";", b"<", b">", b'"',
    b"(", b")", b"\\", b"@", b"=?", b"?=", b"=?utf-8?b?", b"=?x?q?=0D=0A", b"\xff", b"\xc3",
    b"\xe2\x80\xae", b"undisclosed-recipients:;", b"From: ", b"To: me@home.example, ",
    b"Date: ", b" +9999", b"Message-ID: <", b"xn--", b"\xc3\xbc", b"=?iso-2022-jp?b?GyRC",
]  # fmt: skip
GENEROUS = settings(
    max_examples=150,
    deadline=timedelta(seconds=3),  # per example; the largest seed parses in milliseconds
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def mutated_corpus_block(draw: st.DrawFn) -> bytes:
    """A corpus header block with byte edits, inserted tricky tokens, and whole lines
    spliced in from another corpus block or repeated many times."""
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 10))):
        at = draw(st.integers(0, len(raw)))
        action = draw(st.sampled_from(["insert", "delete", "flip", "splice", "repeat", "cut"]))
        if action == "insert":
            raw[at:at] = draw(st.sampled_from(TRICKY) | st.binary(min_size=1, max_size=12))
        elif action == "delete":
            del raw[at : at + draw(st.integers(1, 40))]
        elif action == "flip" and at < len(raw):
            raw[at] = draw(st.integers(0, 255))
        elif action == "splice":
            lines = draw(st.sampled_from(SEEDS)).split(b"\n")
            raw[at:at] = draw(st.sampled_from(lines)) + b"\n"
        elif action == "repeat":
            piece = bytes(raw[max(0, at - 60) : at])
            raw[at:at] = piece * draw(st.integers(2, 300))
        elif action == "cut":
            del raw[at:]
    return bytes(raw)


@GENEROUS
@given(mutated_corpus_block(), st.none() | st.datetimes(timezones=st.just(UTC)))
def test_mutated_corpus_blocks_parse_without_error(raw: bytes, when: datetime | None) -> None:
    """No exception escapes `parse_headers` for any mutation of the corpus, and the output
    keeps its guarantees (no control characters in subject, names, ids)."""
    facts = parse_headers(raw, when)
    for mailbox in (*facts.from_, *facts.recipients):
        assert not CONTROL & set(mailbox.name)
    assert not CONTROL & set(facts.subject)
    assert facts.date is None or facts.date.tzinfo is UTC


@GENEROUS
@given(st.sampled_from(SEEDS), st.binary(max_size=200))
def test_the_body_is_never_read(block: bytes, body: bytes) -> None:
    """Whatever follows the blank line changes nothing (it is the body, never parsed)."""
    terminated = block + b"\r\n\r\n"
    assert parse_headers(terminated + body, INTERNALDATE) == parse_headers(terminated, INTERNALDATE)


JUNK_VALUE = st.binary(max_size=300).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))


@GENEROUS
@given(st.sampled_from(SEEDS), JUNK_VALUE)
def test_an_unknown_header_full_of_junk_changes_nothing(block: bytes, junk: bytes) -> None:
    """A header Kithkin does not read, with any bytes but line breaks in it (invalid UTF-8,
    NULs, encoded words, addresses), changes nothing about the message."""
    plain = parse_headers(block + b"\r\n\r\n", INTERNALDATE)
    noisy = parse_headers(block + b"\r\nX-Hostile-Junk: " + junk + b"\r\n\r\n", INTERNALDATE)
    assert noisy == plain
