"""daemon/mail/status.py as tables: STATUS and LIST replies (bytes as `Wire` hands them over)
-> values, the shapes servers send and those a hostile one could."""

from __future__ import annotations

from typing import Any

import pytest

from kithkin.daemon.mail.status import Status, listed_folders, statuses
from kithkin.daemon.mail.wire import Reply


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([b'"INBOX" (MESSAGES 3 UIDNEXT 9 UIDVALIDITY 7)'], {"INBOX": Status(3, 9, 7)}),
        ([b"Sent (UIDVALIDITY 7 MESSAGES 0 UIDNEXT 1)"], {"Sent": Status(0, 1, 7)}),
        ([(b"{5}", b"INBOX"), b" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 3)"],
         {"INBOX": Status(1, 2, 3)}),
        ([b'"&AOk-t&AOk-" (MESSAGES 2)'], {"été": Status(2, None, None)}),  # modified UTF-7
        ([b'"Sent" (MESSAGES x UIDNEXT 0 UIDVALIDITY 99999999999)'],
         {"Sent": Status(None, None, None)}),  # not numbers, or out of range
        ([b'"INBOX" (MESSAGES 3)', b'"INBOX" (MESSAGES 5)'], {"INBOX": Status(3, None, None)}),
        ([b"garbage", b'"A" MESSAGES 3', b'"B" (MESSAGES (3))', b""], {}),
        ([b'"&Jjo" (MESSAGES 1)'], {"\u263a": Status(1, None, None)}),  # no "-": decoded anyway
        ([(b"{3}", b"Sen"), None], {}),  # a literal with no tail
    ],
)  # fmt: skip
def test_statuses(data: list[Any], expected: dict[str, Status]) -> None:
    assert statuses(data) == expected


def folders_of(*lines: Any) -> list[tuple[Any, Any, str]]:
    return listed_folders(Reply({b"LIST": list(lines)}))


def test_list_lines_give_attributes_delimiter_and_name() -> None:
    assert folders_of(b'(\\HasNoChildren) "/" "INBOX"', b'(\\Sent) "." Sent') == [
        ((b"\\HasNoChildren",), b"/", "INBOX"),
        ((b"\\Sent",), b".", "Sent"),
    ]
    assert folders_of((b'() "/" {4}', b'Te"x'), b"", b'() NIL "&AOk-t&AOk-"') == [
        ((), b"/", 'Te"x'),
        ((), None, "été"),
    ]


def test_an_extended_list_item_after_a_name_is_not_taken_for_the_next_folder() -> None:
    """RFC 5258 §3: the reply to an extended LIST (the first sync's LIST ... RETURN
    (SPECIAL-USE STATUS ...)) may put data items after a name."""
    assert folders_of(
        b'(\\HasNoChildren) "/" "INBOX" ("OLDNAME" ("Old"))',
        b'(\\HasNoChildren \\Sent) "/" "Sent"',
        b'() "/" "Lists" ("CHILDINFO" ("SUBSCRIBED")) ("X" 1)',
        b'(\\All) "/"',  # too short: passed over
    ) == [
        ((b"\\HasNoChildren",), b"/", "INBOX"),
        ((b"\\HasNoChildren", b"\\Sent"), b"/", "Sent"),
        ((), b"/", "Lists"),
    ]
