"""An in-memory mail source for the sync engine, with switches for the faults real servers have.

- `MemoryMailbox` is the server's side: folders of messages (raw bytes and INTERNALDATE) under
  UIDs, with UIDVALIDITY and UIDNEXT; `append`, `expunge` and `reset_uidvalidity` change it
  the way another mail client or the server itself would.
- `MemorySource` is one session on it: every method of the engine's `MailSource`, answering
  as `ImapSession` does against Dovecot (the same Survey and FolderStatus, FetchedHeader with
  sections cut at FIRST_READ/HEADER_LIMIT and marked `long`/`cut`, the same MailboxError,
  FolderUnavailable and SearchRefused; the first listing window sent with EXAMINE, header
  FETCHes sent ahead and answered as the mailbox was then), recording its commands in
  `commands` as the session does. tests/test_source_contract.py holds it to the same tests
  as Dovecot, pymap and imap4d.

The switches on a session: `leave_out` (answer a header FETCH without chosen UIDs that still
exist), `expunge_after_listing` (chosen messages vanish between the listing and the FETCH),
`fail_at` (the Nth command from now breaks the connection, as a cut would; `stay_down`: and
every reconnect fails too), `fail_fetching` (every header FETCH of chosen UIDs breaks it),
and `reconnect()`, which mends a broken connection and examines the folder again.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import count

from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail import listing
from kithkin.daemon.mail.folders import choose_folders, missing_folders
from kithkin.daemon.mail.headers import (
    ADDRESS_FIELDS,
    BODY_LIMIT,
    FIRST_READ,
    HEADER_ITEM,
    HEADER_LIMIT,
    MAX_AHEAD,
    OTHER_FIELDS_ITEM,
)
from kithkin.daemon.mail.records import (
    FetchedHeader,
    FolderStatus,
    FolderUnavailable,
    SearchRefused,
    Survey,
)
from kithkin.parsers.headers import HEADER_FIELDS, decode_words

DEFAULT_DATE = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DEFAULT_FOLDERS: Mapping[str, tuple[bytes, ...]] = {"INBOX": (), "Sent": (b"\\Sent",)}
OTHER_FIELDS = tuple(name for name in HEADER_FIELDS if name not in ADDRESS_FIELDS)

Match = Callable[[int, bytes], bool]  # (uid, raw message) -> whether a search key matches


@dataclass(frozen=True)
class StoredMessage:
    raw: bytes
    internaldate: datetime


@dataclass
class MemoryFolder:
    attributes: tuple[bytes, ...]
    uidvalidity: int
    uidnext: int
    messages: dict[int, StoredMessage] = field(default_factory=dict)  # UID -> message, ascending


class MemoryMailbox:
    """The server's state, shared by every session (`MemorySource`) opened on it."""

    def __init__(self, folders: Mapping[str, Iterable[bytes]] = DEFAULT_FOLDERS) -> None:
        self._uidvalidities = count(1000)
        self.folders: dict[str, MemoryFolder] = {}
        for name, attributes in folders.items():
            self.create(name, attributes)

    def create(self, name: str, attributes: Iterable[bytes] = ()) -> None:
        self.folders[name] = MemoryFolder(tuple(attributes), next(self._uidvalidities), 1)

    def folder(self, name: str) -> MemoryFolder | None:
        """A folder by name; INBOX in any case, as IMAP has it."""
        return self.folders.get("INBOX" if name.upper() == "INBOX" else name)

    def append(self, folder: str, raw: bytes, when: datetime = DEFAULT_DATE) -> int:
        """Store a message under the folder's UIDNEXT; returns its UID (as APPENDUID would)."""
        box = self.folders[folder]
        uid, box.uidnext = box.uidnext, box.uidnext + 1
        box.messages[uid] = StoredMessage(raw, when)
        return uid

    def expunge(self, folder: str, *uids: int) -> None:
        for uid in uids:
            self.folders[folder].messages.pop(uid, None)

    def reset_uidvalidity(self, folder: str) -> int:
        """A new UIDVALIDITY, and the messages renumbered from 1 (as after the server rebuilt
        its index); returns the new UIDVALIDITY."""
        box = self.folders[folder]
        messages = list(box.messages.values())
        box.uidvalidity = next(self._uidvalidities)
        box.messages = dict(enumerate(messages, start=1))
        box.uidnext = 1 + len(messages)
        return box.uidvalidity

    def uids(self, folder: str) -> list[int]:
        return sorted(self.folders[folder].messages)

    def listing(self) -> list[tuple[tuple[bytes, ...], bytes, str]]:
        """What LIST answers: (attributes, delimiter, name) for each folder."""
        return [(box.attributes, b"/", name) for name, box in self.folders.items()]


class MemorySource:
    """One session on a `MemoryMailbox`; a `MailSource` that behaves as `ImapSession` does."""

    def __init__(
        self, mailbox: MemoryMailbox, *, folders: Iterable[str] = (), where: str = "memory"
    ) -> None:
        self.mailbox = mailbox
        self.folders = list(folders)  # like `[imap] folders`: overrides the LIST reply
        self.where = where
        self.selected: FolderStatus | None = None
        self.commands: deque[str] = deque(maxlen=1000)
        self.broken = False  # the connection dropped: every command fails until reconnect()
        self.down = False  # reconnecting fails too
        self._countdown: int | None = None
        self._stay_down = False
        self._counting = ""
        self._left_out: Counter[tuple[str, int]] = Counter()
        self._poisoned: set[tuple[str, int]] = set()
        self._expunge_after_listing: dict[str, set[int]] = {}
        self._first_window: tuple[int, list[int]] | None = None  # answered with EXAMINE
        self._ahead: dict[tuple[int, ...], list[FetchedHeader] | MailboxError] = {}

    # --- switches -----------------------------------------------------------------------

    def leave_out(self, folder: str, *uids: int, times: int = 1) -> None:
        """The next `times` header FETCHes asking for these UIDs answer without them."""
        for uid in uids:
            self._left_out[(folder, uid)] += times

    def expunge_after_listing(self, folder: str, *uids: int) -> None:
        """Expunge these right after the next listing or search in `folder` has answered."""
        self._expunge_after_listing.setdefault(folder, set()).update(uids)

    def fail_at(self, n: int, *, stay_down: bool = False, counting: str = "") -> None:
        """The `n`th command from now (1: the next) that starts with `counting` fails and
        breaks the connection."""
        self._countdown, self._stay_down, self._counting = n, stay_down, counting

    def fail_fetching(self, folder: str, *uids: int) -> None:
        """Every header FETCH that asks for one of these UIDs breaks the connection."""
        self._poisoned.update((folder, uid) for uid in uids)

    # --- the connection -----------------------------------------------------------------

    def reconnect(self) -> None:
        """A fresh connection with the same folder examined again (as ImapSession does)."""
        self.commands.append("(reconnect)")
        self._ahead.clear()  # what was sent on the old connection is never answered
        if self.down:
            raise MailboxError(f"{self.where}: cannot connect: the server is down")
        self.broken = False
        selected = self.selected
        if selected is not None:
            again = self.examine(selected.name)
            if again.uidvalidity != selected.uidvalidity:
                raise MailboxError(
                    f"{self.where}: {selected.name}: UIDVALIDITY changed during the sync"
                )

    def _send(self, what: str, command: str) -> None:
        """Record a command; fail it if the connection is broken or the countdown ends."""
        self.commands.append(command)
        if self._countdown is not None and command.startswith(self._counting):
            self._countdown -= 1
            if self._countdown <= 0:
                self._countdown = None
                self._break(stay_down=self._stay_down)
        if self.broken:
            raise MailboxError(f"{self.where}: {what}: connection closed by the server")

    def _break(self, *, stay_down: bool = False) -> None:
        self.broken = True
        self.down = self.down or stay_down

    # --- folders ------------------------------------------------------------------------

    def folders_to_sync(self) -> list[str]:
        return self.survey((), status=False).folders

    def survey(self, known: Iterable[str], *, status: bool = True) -> Survey:
        """The STATUS of the known folders (INBOX's first), LIST (unless `folders` were
        given), then the STATUS of any new folder; a folder that is gone has no STATUS."""
        asked = (self.folders or list(known)) if status else []
        for folder in sorted(asked, key=lambda f: f.upper() != "INBOX"):
            self._send("STATUS", f"STATUS {folder}")
        if not self.folders:
            self._send("LIST", "LIST")
        folders = self.folders or choose_folders(self.mailbox.listing())
        for folder in folders if status else []:
            if folder not in asked:
                self._send("STATUS", f"STATUS {folder}")
        found = {name: self._status(name) for name in folders if status}
        unanswered = [name for name in self.folders if status and not found.get(name)]
        if unanswered:
            self._send("LIST", "LIST")
        missing = missing_folders(unanswered, self.mailbox.listing()) if unanswered else []
        complete = {name: said for name, said in found.items() if said}
        return Survey(folders, complete, tuple(missing))

    def _status(self, folder: str) -> FolderStatus | None:
        box = self.mailbox.folder(folder)
        if box is None:
            return None
        return FolderStatus(folder, box.uidvalidity, box.uidnext, len(box.messages))

    def examine(
        self, folder: str, expect: FolderStatus | None = None, cursor: int | None = None
    ) -> FolderStatus:
        """EXAMINE; with `expect` (its STATUS), the first listing window goes with it (the
        later ones, that `cursor` would tell a server to send too, cost nothing here)."""
        self.selected, self._first_window = None, None
        self._send(f"EXAMINE {folder}", f"EXAMINE {folder}")
        start = None
        if expect is not None and expect.exists > 0:
            start = max(1, expect.exists - listing.FIRST_LIST_WINDOW + 1)
            self._send("FETCH (UID)", f"FETCH {start}:* (UID)")
        box = self.mailbox.folder(folder)
        if box is None:
            raise FolderUnavailable(f"{self.where}: cannot open {folder}: no such folder")
        if start is not None:
            self._first_window = (start, sorted(box.messages)[start - 1 :])
        self.selected = FolderStatus(folder, box.uidvalidity, box.uidnext, len(box.messages))
        return self.selected

    def _examined(self) -> tuple[FolderStatus, MemoryFolder]:
        """The examined folder's status at EXAMINE, and the folder, while it is that one."""
        status = self.selected
        if status is None:
            raise MailboxError(f"{self.where}: no folder examined")
        box = self.mailbox.folder(status.name)
        if box is None or box.uidvalidity != status.uidvalidity:
            self._break()  # as pymap does when the selected folder is deleted
            raise MailboxError(f"{self.where}: {status.name}: connection closed")
        return status, box

    # --- listing and searching ----------------------------------------------------------

    def uids_above(self, last_uid: int) -> Iterator[list[int]]:
        status, _ = self._examined()
        found = listing.uids_above(self._uids_at, status.exists, status.uidnext, last_uid)
        self._after_listing()
        return found

    def uids_up_to(self, last_uid: int) -> Iterator[list[int]]:
        status, _ = self._examined()
        found = listing.uids_up_to(self._uids_at, status.exists, last_uid)
        self._after_listing()
        return found

    def _uids_at(self, start: int, end: int, to_end: bool) -> list[int]:
        """The UIDs at sequence numbers start..end (start..* with `to_end`)."""
        first, self._first_window = self._first_window, None
        if first is not None and first[0] == start and to_end:
            return first[1]
        self._send("FETCH (UID)", f"FETCH {start}:{'*' if to_end else end} (UID)")
        uids = sorted(self._examined()[1].messages)
        return uids[start - 1 : None if to_end else end]

    def search_uids(self, criteria: list[object], *, charset: str | None = None) -> list[int]:
        """UID SEARCH with ALL, UID <set>, OR and FROM/TO/CC/BCC (a case-insensitive
        substring of the decoded field, as servers match); other keys are refused."""
        self._send("UID SEARCH", "UID SEARCH " + " ".join(str(c) for c in criteria))
        _, box = self._examined()
        matches = _parse_search([str(c) for c in criteria], top=max(box.messages, default=0))
        found = sorted(
            uid for uid, m in box.messages.items() if all(k(uid, m.raw) for k in matches)
        )
        self._after_listing()
        return found

    def _after_listing(self) -> None:
        name = self._examined()[0].name
        self.mailbox.expunge(name, *self._expunge_after_listing.pop(name, set()))

    def existing(self, uids: list[int]) -> set[int]:
        if not uids:
            return set()
        self._send("UID FETCH", f"UID FETCH {','.join(str(u) for u in sorted(uids))} (UID)")
        return set(uids) & set(self._examined()[1].messages)

    # --- fetching -----------------------------------------------------------------------

    def prefetch_headers(self, uids: list[int]) -> None:
        """Send the FETCH of a later batch now: the server answers it as things are now."""
        key = tuple(uids)
        if not uids or key in self._ahead or len(self._ahead) >= MAX_AHEAD or self.broken:
            return
        try:
            self._ahead[key] = self._header_items(uids, HEADER_ITEM, HEADER_FIELDS, FIRST_READ)
        except MailboxError as error:  # raised by its fetch_headers, as if fetched then
            self._ahead[key] = error

    def fetch_headers(self, uids: list[int]) -> list[FetchedHeader]:
        if not uids:
            return []
        outcome = self._ahead.pop(tuple(uids), None)
        if isinstance(outcome, MailboxError):
            raise outcome
        if outcome is not None:
            return outcome
        return self._header_items(uids, HEADER_ITEM, HEADER_FIELDS, FIRST_READ)

    def fetch_whole_headers(self, uids: list[int]) -> list[FetchedHeader]:
        """Up to HEADER_LIMIT; a section still cut there gets its other fields put first."""
        if not uids:
            return []
        items = self._header_items(uids, HEADER_ITEM, HEADER_FIELDS, HEADER_LIMIT)
        whole = {item.uid: item for item in items}
        cut = [uid for uid, item in whole.items() if item.long]
        rest = self._header_items(cut, OTHER_FIELDS_ITEM, OTHER_FIELDS, HEADER_LIMIT) if cut else []
        for other in rest:
            item = whole.get(other.uid)
            if item is not None and item.header is not None and other.header:
                header = other.header.rstrip(b"\r\n") + b"\r\n" + item.header
                whole[other.uid] = replace(item, header=header, long=False, cut=True)
        return [replace(item, long=False, cut=item.cut or item.long) for item in whole.values()]

    def _header_items(
        self, uids: list[int], item: str, fields: tuple[str, ...], limit: int
    ) -> list[FetchedHeader]:
        self._send("UID FETCH", f"UID FETCH {len(uids)} messages ({item}<0.{limit}> INTERNALDATE)")
        status, box = self._examined()
        name = status.name
        if any((name, uid) in self._poisoned for uid in uids):
            self._break()
            raise MailboxError(f"{self.where}: UID FETCH: connection closed by the server")
        fetched = []
        for uid in sorted(set(uids) & set(box.messages)):
            if self._left_out[(name, uid)] > 0:
                self._left_out[(name, uid)] -= 1
                continue
            message = box.messages[uid]
            section = header_fields(message.raw, fields)[:limit]
            fetched.append(FetchedHeader(uid, section, message.internaldate,
                                         long=len(section) >= limit))  # fmt: skip
        return fetched

    def fetch_bodies(self, uids: list[int]) -> dict[int, bytes]:
        if not uids:
            return {}
        listed = ",".join(str(uid) for uid in sorted(uids))
        self._send("UID FETCH", f"UID FETCH {listed} (BODY.PEEK[]<0.{BODY_LIMIT}>)")
        messages = self._examined()[1].messages
        return {uid: messages[uid].raw[:BODY_LIMIT] for uid in uids if uid in messages}


# --- what a server makes of a message ---------------------------------------------------------


def header_lines(raw: bytes) -> list[bytes]:
    """The header block's lines, without line ends (a folded line stays its own line)."""
    block = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    return block.split(b"\n") if block else []


def header_fields(raw: bytes, fields: Iterable[str]) -> bytes:
    """BODY[HEADER.FIELDS (fields)] as servers send it: those fields' lines, folds included,
    in the message's order, each ending in CRLF, then the blank line."""
    wanted = {name.upper() for name in fields}
    kept: list[bytes] = []
    keep = False
    for line in header_lines(raw):
        if line[:1] not in (b" ", b"\t"):
            name, colon, _ = line.partition(b":")
            keep = bool(colon) and name.strip().decode("ascii", "replace").upper() in wanted
        if keep:
            kept.append(line + b"\r\n")
    return b"".join(kept) + b"\r\n"


def field_text(raw: bytes, name: str) -> str:
    """Every occurrence of a field, unfolded and decoded (raw UTF-8 and RFC 2047), casefolded."""
    section = header_fields(raw, [name]).replace(b"\r\n ", b" ").replace(b"\r\n\t", b"\t")
    values = [line.partition(b":")[2] for line in section.split(b"\r\n") if line]
    return "\n".join(decode_words(v.decode("utf-8", "replace")) for v in values).casefold()


def _parse_search(tokens: list[str], *, top: int) -> list[Match]:
    """The keys of a UID SEARCH, all of which must match (IMAP's implicit AND)."""
    queue = deque(tokens)
    keys = []
    try:
        while queue:
            keys.append(_search_key(queue, top))
    except (IndexError, ValueError):
        raise SearchRefused(f"memory: UID SEARCH refused: malformed {' '.join(tokens)}") from None
    return keys


def _search_key(queue: deque[str], top: int) -> Match:
    word = queue.popleft().upper()
    if word == "ALL":
        return lambda uid, raw: True
    if word == "OR":
        left, right = _search_key(queue, top), _search_key(queue, top)
        return lambda uid, raw: left(uid, raw) or right(uid, raw)
    if word == "UID":
        ranges = _uid_set(queue.popleft(), top)
        return lambda uid, raw: any(low <= uid <= high for low, high in ranges)
    if word in ADDRESS_FIELDS:
        needle = queue.popleft().casefold()
        return lambda uid, raw: needle in field_text(raw, word)
    raise SearchRefused(f"memory: UID SEARCH refused: {word} is not supported")


def _uid_set(text: str, top: int) -> list[tuple[int, int]]:
    """`1:5,7,9:*` -> [(1, 5), (7, 7), (9, top)]; `*` is the highest UID in the folder."""
    ranges = []
    for part in text.split(","):
        first, _, last = part.partition(":")
        ends = [top if end == "*" else int(end) for end in (first, last or first)]
        ranges.append((min(ends), max(ends)))
    return ranges
