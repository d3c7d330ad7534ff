"""daemon/mail/listing.py `ahead`: a first sync of a large folder asks for all the listing
windows UIDNEXT says it needs at once, after the first; the windows read are the same, and
so is what is listed, on tables and on real servers (Dovecot with ESEARCH, pymap)."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from faultproxy import S2C, FaultProxy
from helpers import ME, write_config
from hypothesis import given, settings
from hypothesis import strategies as st
from mailbuilder import make_message
from servers import DovecotServer, append, imap_client
from test_wire_usual import _Buffered

from kithkin.daemon.config import load_config
from kithkin.daemon.mail import listing
from kithkin.daemon.mail.headers import HeaderFetcher
from kithkin.daemon.mail.listing import expected_windows, uids_above
from kithkin.daemon.mail.records import FolderStatus
from kithkin.daemon.mail.responses import esearch_of
from kithkin.daemon.mail.session import ImapSession
from kithkin.daemon.mail.wire import Wire


class Folder:
    def __init__(self, uids: list[int]) -> None:
        self.uids = uids
        self.calls: list[tuple[int, int]] = []
        self.ahead: list[tuple[int, int]] = []

    def uids_at(self, start: int, end: int, to_end: bool) -> list[int]:
        self.calls.append((start, end))
        return self.uids[start - 1 : end]

    def send_ahead(self, start: int, end: int, to_end: bool) -> None:
        assert not to_end
        self.ahead.append((start, end))


def listed(windows: object) -> list[int]:
    return [uid for window in windows for uid in window]  # type: ignore[attr-defined]


@pytest.fixture
def small_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing, "FIRST_LIST_WINDOW", 2)
    monkeypatch.setattr(listing, "LIST_WINDOW", 8)


@pytest.mark.usefixtures("small_windows")
def test_a_first_sync_asks_for_every_window_after_the_first_at_once() -> None:
    folder = Folder(list(range(1, 31)))
    got = listed(uids_above(folder.uids_at, 30, 31, 0, ahead=folder.send_ahead))
    assert got == list(range(1, 31))
    assert folder.calls == [(29, 30), (21, 28), (13, 20), (5, 12), (1, 4)]  # as without
    assert folder.ahead == folder.calls[1:]


@pytest.mark.usefixtures("small_windows")
def test_windows_are_asked_for_down_to_the_cursor_only() -> None:
    folder = Folder(list(range(1, 101)))
    got = listed(uids_above(folder.uids_at, 100, 101, 70, ahead=folder.send_ahead))
    assert got == list(range(71, 101))
    assert folder.ahead == folder.calls[1:]
    assert folder.ahead[-1][0] <= 70  # the last holds the cursor: nothing below is asked


@pytest.mark.usefixtures("small_windows")
def test_an_idle_poll_asks_for_nothing_ahead() -> None:
    folder = Folder(list(range(1, 101)))
    assert listed(uids_above(folder.uids_at, 100, 101, 100, ahead=folder.send_ahead)) == []
    assert folder.ahead == []


@settings(max_examples=500, deadline=None)
@given(st.integers(1, 400), st.integers(0, 400), st.integers(0, 3))
def test_the_windows_expected_are_those_the_listing_reads(
    exists: int, cursor: int, gap: int
) -> None:
    """The windows read after the first are the first of those asked for ahead; all of them
    when the UIDs are dense (UIDNEXT then says exactly how many are new)."""
    uids = [n * (gap + 1) for n in range(1, exists + 1)]
    last_uid = min(cursor, uids[-1])
    folder = Folder(uids)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(listing, "FIRST_LIST_WINDOW", 3)
        patch.setattr(listing, "LIST_WINDOW", 17)
        got = listed(uids_above(folder.uids_at, exists, uids[-1] + 1, last_uid,
                                ahead=folder.send_ahead))  # fmt: skip
    assert got == [uid for uid in uids if uid > last_uid]
    assert folder.ahead[: len(folder.calls) - 1] == folder.calls[1:]
    if gap == 0:
        assert folder.ahead == folder.calls[1:]
    assert expected_windows(0, 5, 10, 10) == []


def test_esearch_lines_go_to_the_command_they_name() -> None:
    lines = [b'(TAG "A2") UID ALL 5:8', b'(TAG "A3") UID ALL 1:4', b"UID ALL 9", b'(TAG "Z") ALL 2']
    mine, theirs = esearch_of(b"A2", lines, {b"A3", b"A4"})
    assert mine == [b'(TAG "A2") UID ALL 5:8', b"UID ALL 9", b'(TAG "Z") ALL 2']
    assert theirs == {b"A3": [b'(TAG "A3") UID ALL 1:4']}


def scripted(wire: bytes, exists: int) -> ImapSession:
    """An ImapSession with ESEARCH on scripted server bytes, a folder of `exists` examined."""
    session = ImapSession.__new__(ImapSession)
    imap = _Buffered(wire, 8192)
    imap.tagnum = 1
    imap.send = lambda data: None  # type: ignore[method-assign]
    session.wire = Wire(imap)
    session.where, session.commands = "imap.example:143", deque()
    session._esearch, session._ahead, session._early, session._first_window = True, {}, {}, None
    session.headers = HeaderFetcher(session)
    session.selected = FolderStatus("INBOX", 1, exists + 1, exists)
    return session


def test_replies_of_searches_sent_ahead_may_come_before_the_one_before_ends() -> None:
    """Dovecot answers a large folder's searches at once: a later window's ESEARCH before
    the tagged end of an earlier one. Each window still gets its own UIDs (150,000 of them in
    one window would be a garbled reply)."""
    exists = 150_000
    top = exists - listing.FIRST_LIST_WINDOW
    windows = expected_windows(top, listing.LIST_WINDOW, exists, exists)
    assert len(windows) == 3
    wire = b'* ESEARCH (TAG "A1") UID ALL %d:%d\r\nA1 OK done\r\n' % (top + 1, exists)
    for n, (start, end) in enumerate(windows, 2):  # each answered before the one before ends
        wire += b'* ESEARCH (TAG "A%d") UID ALL %d:%d\r\n' % (n, start, end)
    wire += b"".join(b"A%d OK done\r\n" % n for n in range(2, 2 + len(windows)))
    session = scripted(wire, exists)
    assert listed(session.uids_above(0)) == list(range(1, exists + 1))


def forty_in_small_windows(
    imap_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> ImapSession:
    """A session on an INBOX of 40 messages, listed in windows of 2, then 5: a large folder
    in small."""
    for n in range(40):
        append(imap_server, "INBOX", make_message(from_=f"p{n}@example.org", to=ME),
               msg_time=datetime(2026, 2, 1, 8, n, tzinfo=UTC))  # fmt: skip
    monkeypatch.setattr(listing, "FIRST_LIST_WINDOW", 2)
    monkeypatch.setattr(listing, "LIST_WINDOW", 5)
    config = load_config(write_config(tmp_path, imap_server))
    return ImapSession.connect(config.require_imap(), imap_server.password)


def test_a_large_folder_is_listed_in_two_round_trips(
    imap_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mailbox = forty_in_small_windows(imap_server, tmp_path, monkeypatch)
    try:
        mailbox.examine("INBOX")
        before = mailbox.turns
        uids = listed(mailbox.uids_above(0))
        turns = mailbox.turns - before
        assert listed(mailbox.uids_above(uids[20])) == uids[21:]  # and again, further up
        mailbox.examine("INBOX")  # the wire is in order after it
    finally:
        mailbox.logout()
    assert len(uids) == 40 and uids == sorted(uids)
    if mailbox._has_esearch():
        assert turns == 2  # the first window, then the other eight at once
    else:  # FETCH n:m (UID) replies do not say which command they answer: one at a time
        assert turns == 9


@pytest.mark.parametrize("cursor", [0, 20])
def test_with_its_status_and_cursor_a_large_folder_is_listed_with_its_examine(
    imap_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cursor: int
) -> None:
    """What the sync does when STATUS shows new mail (`examine(folder, status, cursor)`):
    the later windows go with EXAMINE and the first, so the listing costs no round trip of
    its own, and gives the same UIDs as a listing asked for after EXAMINE."""
    mailbox = forty_in_small_windows(imap_server, tmp_path, monkeypatch)
    try:
        mailbox.examine("INBOX")
        everything = listed(mailbox.uids_above(0))
        last_uid = everything[cursor - 1] if cursor else 0
        status = mailbox.survey(["INBOX"]).status["INBOX"]
        before = mailbox.turns
        mailbox.examine("INBOX", status, last_uid)
        uids = listed(mailbox.uids_above(last_uid))
        turns = mailbox.turns - before
        mailbox.examine("INBOX")  # the wire is in order after it
    finally:
        mailbox.logout()
    assert uids == everything[cursor:] and len(everything) == 40
    assert turns == (1 if mailbox._has_esearch() else 1 + (40 - cursor - 2 + 4) // 5)


def test_commands_sent_together_go_in_one_write(
    imap_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EXAMINE with its listing windows, and LIST with its STATUS commands, reach the server
    in one write each (one segment: a later command never waits in the client's socket for
    the first to be acknowledged, or for the server to have answered it)."""
    mailbox = forty_in_small_windows(imap_server, tmp_path, monkeypatch)
    writes: list[bytes] = []
    imap = mailbox.client._imap
    real_send = imap.send
    monkeypatch.setattr(imap, "send", lambda data: (writes.append(data), real_send(data))[1])
    try:
        status = mailbox.survey(["INBOX", "Sent"]).status["INBOX"]
        surveyed, writes[:] = list(writes), []
        mailbox.examine("INBOX", status, 0)
        examined = list(writes)
        uids = listed(mailbox.uids_above(0))
    finally:
        mailbox.logout()
    assert len(uids) == 40
    assert len(surveyed) == 1 and surveyed[0].count(b" STATUS ") == 2
    assert b" LIST " in surveyed[0]
    assert len(examined) == 1 and b" EXAMINE " in examined[0]
    searches = examined[0].count(b" UID SEARCH ") + examined[0].count(b" FETCH ")
    assert searches == (9 if mailbox._has_esearch() else 1)


def test_windows_sent_with_an_examine_and_never_asked_for_are_read_before_the_next(
    imap_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listing did not follow (the folder turned out unchanged): the next EXAMINE reads
    the windows' replies first, and the session goes on in order."""
    for n in range(12):
        append(imap_server, "INBOX", make_message(from_=f"p{n}@example.org", to=ME))
    monkeypatch.setattr(listing, "FIRST_LIST_WINDOW", 2)
    monkeypatch.setattr(listing, "LIST_WINDOW", 3)
    config = load_config(write_config(tmp_path, imap_server))
    mailbox = ImapSession.connect(config.require_imap(), imap_server.password)
    try:
        status = mailbox.survey(["INBOX"]).status["INBOX"]
        mailbox.examine("INBOX", status, 0)
        again = mailbox.examine("INBOX", status)
        uids = listed(mailbox.uids_above(0))
    finally:
        mailbox.logout()
    assert again == status and len(uids) == 12


def test_capabilities_the_greeting_lists_are_not_asked_for_again(
    imap_server, tmp_path: Path
) -> None:
    """Dovecot lists its capabilities in its greeting: the first command is LOGIN (imaplib
    would send CAPABILITY first, one round trip more). After login the session still knows
    what the logged-in server can do (ESEARCH comes only after login on Dovecot)."""
    with FaultProxy(imap_server.host, imap_server.port, record=True) as proxy:
        endpoint = SimpleNamespace(host=proxy.host, port=proxy.port,
                                   username=imap_server.username,
                                   password=imap_server.password)  # fmt: skip
        config = load_config(write_config(tmp_path, endpoint))
        mailbox = ImapSession.connect(config.require_imap(), imap_server.password)
        try:
            esearch = mailbox._has_esearch()
            greeting = proxy.sessions[0].transcript.stream(S2C).split(b"\r\n", 1)[0]
        finally:
            mailbox.logout()
        sent = proxy.sessions[0].transcript.commands()
        verbs = [line.split(b" ", 2)[1].upper() for _, line in sent if b" " in line]
    if b"[CAPABILITY " in greeting.upper():
        assert verbs[0] == b"LOGIN", verbs
    else:  # pymap's greeting names none: asked for, as imaplib does
        assert verbs[0] == b"CAPABILITY", verbs
    with imap_client(imap_server) as client:
        assert esearch == client.has_capability("ESEARCH")


def test_a_first_survey_costs_one_round_trip_where_list_returns_status(
    imap_server, tmp_path: Path
) -> None:
    """A first sync knows no folder to ask STATUS of before the LIST reply: with LIST-STATUS
    (RFC 5819; Dovecot has it) the LIST asks for every STATUS too, one round trip instead of
    two, and the STATUS found is the same as asked folder by folder."""
    append(imap_server, "INBOX", make_message(from_="ann@example.org", to=ME))
    config = load_config(write_config(tmp_path, imap_server))
    mailbox = ImapSession.connect(config.require_imap(), imap_server.password)
    try:
        before = mailbox.turns
        first = mailbox.survey([])
        turns = mailbox.turns - before
        again = mailbox.survey(first.folders)
        list_status = mailbox._has_list_status()
    finally:
        mailbox.logout()
    assert first.folders == again.folders and "INBOX" in first.folders
    assert first.status == again.status and first.status["INBOX"].exists == 1
    assert turns == (1 if list_status else 2)
    assert list_status == isinstance(imap_server, DovecotServer)


def test_a_survey_asks_inboxs_status_first_and_lists_after(
    imap_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The STATUS commands of the known folders go before LIST, INBOX's first whatever its
    place among them (Dovecot answers it from its cache only as a session's first mailbox
    command; see ImapSession.survey), and the survey finds what it found before."""
    append(imap_server, "INBOX", make_message(from_="ann@example.org", to=ME))
    config = load_config(write_config(tmp_path, imap_server))
    mailbox = ImapSession.connect(config.require_imap(), imap_server.password)
    writes: list[bytes] = []
    imap = mailbox.client._imap
    real_send = imap.send
    try:
        first = mailbox.survey([])
        monkeypatch.setattr(imap, "send", lambda data: (writes.append(data), real_send(data))[1])
        again = mailbox.survey(["Sent", "inbox", "Gone"])
    finally:
        mailbox.logout()
    verbs = [line.split(b" ")[1:3] for line in b"".join(writes).split(b"\r\n") if line]
    assert verbs[:4] == [[b"STATUS", b'"inbox"'], [b"STATUS", b'"Sent"'],
                         [b"STATUS", b'"Gone"'], [b"LIST", b'""']]  # fmt: skip
    assert again.folders == first.folders and again.status == first.status
