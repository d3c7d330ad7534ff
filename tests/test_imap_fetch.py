"""The header FETCH: the fast reader agrees with imapclient's parser on real servers, and
steps aside for any response shape it does not know."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import ME, write_config
from mailbuilder import make_message
from servers import append

from kithkin.daemon.config import load_config
from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail.connect import READ_BUFFER
from kithkin.daemon.mail.responses import esearch_uids, fast_fetch_headers
from kithkin.daemon.mail.session import FIRST_READ, HEADER_ITEM, ImapSession


def test_the_fast_reader_matches_imapclient_on_the_server(imap_server, tmp_path: Path) -> None:
    for n in range(5):
        raw = make_message(from_=f"p{n}@example.org", to=ME, subject=f"s{n} {{braces}} \"q\"",
                           date=datetime(2026, 1, n + 1, tzinfo=UTC))  # fmt: skip
        append(imap_server, "INBOX", raw, msg_time=datetime(2026, 2, n + 1, 8, tzinfo=UTC))
    config = load_config(write_config(tmp_path, imap_server))
    mailbox = ImapSession.connect(config.require_imap(), imap_server.password)
    try:
        mailbox.examine("INBOX")
        uids = [uid for window in mailbox.uids_above(0) for uid in window]
        tag = mailbox.headers._send(uids, HEADER_ITEM, FIRST_READ)
        data = mailbox.wire.collect(tag, b"FETCH").of(b"FETCH")
        fast = fast_fetch_headers(data, set(uids))
        reference = mailbox.client.fetch(uids, [HEADER_ITEM, "INTERNALDATE"])
    finally:
        mailbox.logout()
    assert fast is not None, data[:2]  # the usual shape on this server
    assert [f.uid for f in fast] == sorted(reference)
    for item in fast:
        expected = reference[item.uid]
        header = next(v for k, v in expected.items() if k.startswith(b"BODY[HEADER.FIELDS"))
        assert item.header == header
        assert item.internaldate == expected[b"INTERNALDATE"]
        assert item.internaldate.tzinfo is not None


HEAD = b'1 (UID 7 INTERNALDATE "01-Feb-2026 08:00:00 +0000" BODY[HEADER.FIELDS (FROM)] {12}'


@pytest.mark.parametrize(
    "data",
    [
        [b"1 (UID 7 FLAGS (\\Seen))"],  # no literal at all
        [(b"1 (UID 7 BODY[TEXT] {3}", b"abc"), b")"],  # a literal that is not the header
        [(b'1 (INTERNALDATE "x" BODY[HEADER.FIELDS (FROM)] {3}', b"abc"), b")"],  # no UID
        [(HEAD, b"From: a@b\r\n\r\n"), b" BODY[TEXT] {3}"],  # a second literal follows
    ],
    ids=["no-literal", "other-literal", "no-uid", "second-literal"],
)
def test_unusual_shapes_fall_back_to_the_general_parser(data) -> None:
    assert fast_fetch_headers(data, {7}) is None


def test_the_usual_shape_and_unsolicited_uids() -> None:
    data = [
        (HEAD, b"From: a@b\r\n\r\n"), b")",
        (HEAD.replace(b"UID 7", b"UID 9"), b"From: c@d\r\n\r\n"), b" UID 9)",
    ]  # fmt: skip
    fetched = fast_fetch_headers(data, {7})
    assert [(f.uid, f.header) for f in fetched] == [(7, b"From: a@b\r\n\r\n")]
    assert fetched[0].internaldate == datetime(2026, 2, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lines", "most", "expected"),
    [
        ([b'(TAG "A1") UID ALL 1:3,7'], 100, [1, 2, 3, 7]),
        ([b'(TAG "A1") UID ALL 9:7'], 100, [7, 8, 9]),  # a range may be written backwards
        ([b'(TAG "A1") UID'], 100, []),  # nothing found: no ALL at all
        ([b'(TAG "A1") UID all 5'], 100, [5]),
        ([b'(TAG "A1") UID ALL 1:4294967295'], 100, MailboxError),  # must not fill memory
        ([b'(TAG "A1") UID ALL 1:99999999999'], 10**12, MailboxError),  # not a 32-bit UID
        ([b'(TAG "A1") UID ALL 1::2'], 100, MailboxError),
        ([(b"(TAG {1}", b"x")], 100, MailboxError),  # a literal where none belongs
    ],
)
def test_esearch_replies_as_uids(lines, most, expected) -> None:
    if expected is MailboxError:
        with pytest.raises(MailboxError, match="malformed"):
            esearch_uids(lines, "here", most)
    else:
        assert esearch_uids(lines, "here", most) == expected


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
def test_replies_are_read_through_a_large_buffer(dovecot_tls, tmp_path: Path, security) -> None:
    """The wire reader matches FETCH responses in the connection's read buffer: it is
    READ_BUFFER bytes (imaplib's own is 8 KB) on every kind of connection, STARTTLS's too."""
    port = dovecot_tls.tls_port if security == "tls" else dovecot_tls.port
    imap = {"security": security, "port": port, "ca_file": str(dovecot_tls.ca_file)}
    config = load_config(write_config(tmp_path, dovecot_tls, imap=imap))
    mailbox = ImapSession.connect(config.require_imap(), dovecot_tls.password)
    try:
        reader = mailbox.client._imap.file
        assert sys.getsizeof(reader) >= READ_BUFFER  # a buffered reader counts its buffer
        mailbox.examine("INBOX")  # and it still reads the replies
    finally:
        mailbox.logout()
