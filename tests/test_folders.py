"""Which folders are read: by attribute, compared case-insensitively (RFC 3501 §9, RFC 6154:
`\\sent`, `\\SENT` and `\\Sent` are the same attribute), else by the usual names."""

from __future__ import annotations

from pathlib import Path

import pytest
from faultproxy import FaultProxy
from helpers import write_config
from servers import DovecotServer, create_folder

from kithkin.daemon.config import load_config
from kithkin.daemon.mail.folders import folded, sent_by_name
from kithkin.daemon.mail.session import ImapSession


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ((b"\\Sent", b"\\HasNoChildren"), {b"\\sent", b"\\hasnochildren"}),
        ((b"\\SENT",), {b"\\sent"}),
        (("\\aLL",), {b"\\all"}),  # some parsers hand back str
        ((), set()),
        (None, set()),
    ],
)
def test_attributes_are_folded_to_one_case(flags, expected) -> None:
    assert folded(flags) == expected


@pytest.mark.parametrize(
    ("folders", "expected"),
    [
        ([(b"/", "INBOX"), (b"/", "Sent Items")], ["Sent Items"]),
        ([(b".", "INBOX"), (b".", "INBOX.Sent")], ["INBOX.Sent"]),
        ([(b"/", "Archive/sent mail")], ["Archive/sent mail"]),
        ([(b"/", "Sent Messages"), (b"/", "Sent")], ["Sent"]),  # the plainest name first
        ([(None, "SENT")], ["SENT"]),
        ([(b"/", "Sentimental")], []),
        ([(b"/", "INBOX")], []),
    ],
)
def test_sent_mail_is_found_by_name_without_special_use(folders, expected) -> None:
    assert sent_by_name(folders) == expected


def folders_seen(server: DovecotServer, tmp_path: Path, rewrite: tuple) -> list[str]:
    with FaultProxy(server.host, server.port) as proxy:
        proxy.rewrite = rewrite
        config = load_config(write_config(tmp_path, server, imap={"port": proxy.port}))
        mailbox = ImapSession.connect(config.require_imap(), server.password)
        try:
            return mailbox.folders_to_sync()
        finally:
            mailbox.logout()


def test_an_all_folder_in_another_case_is_still_the_one_read(
    dovecot_all_mail: DovecotServer, tmp_path: Path
) -> None:
    """Dovecot says `\\All`; through a proxy the server says `\\aLL` instead: still only
    that folder is read (it holds the sent mail too)."""
    assert folders_seen(dovecot_all_mail, tmp_path / "a", ()) == ["All Mail"]
    assert folders_seen(dovecot_all_mail, tmp_path / "b", ((b"\\All", b"\\aLL"),)) == ["All Mail"]


def test_sent_and_noselect_in_other_cases(dovecot: DovecotServer, tmp_path: Path) -> None:
    """`\\SENT` is the sent folder, and a folder marked `\\NOSELECT` is never opened."""
    create_folder(dovecot, "Lists.Friends")  # Lists itself exists only as a parent
    rewrite = ((b"\\Sent", b"\\SENT"), (b"\\Noselect", b"\\NOSELECT"),
               (b"\\NonExistent", b"\\NOSELECT"))  # fmt: skip
    assert folders_seen(dovecot, tmp_path, rewrite) == ["INBOX", "Sent"]
