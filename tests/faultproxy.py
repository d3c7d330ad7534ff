"""A TCP proxy on 127.0.0.1 that breaks connections on purpose, for reliability tests.

`FaultProxy(host, port)` listens on a free loopback port and forwards every connection to
`host:port`. By default it only passes bytes through (and counts them); a test arms a fault
for the next connection(s) with `proxy.arm(fault, times=1)`:

- `Cut(after=N)`: forward exactly N bytes, then close both sides (a FIN, or with
  `reset=True` a RST), as a dropped line or a crashed server would.
- `Stall(after=N, seconds=T)`: at byte N freeze both directions for T seconds, then cut
  (`then="cut"`) or carry on (`then="resume"`). `seconds=None` waits until the client
  gives up (it sends something more, or closes), which is how a read timeout is forced
  without guessing how long the client waits.
- `Inject(after=N, data=...)`: insert bytes into the stream at N, e.g. a `* BYE` line or
  garbage "from the server", then carry on or cut.

N counts bytes client-to-server (`C2S`), server-to-client (`S2C`) or both (`TOTAL`). It can
also be a byte string: the fault fires `plus` bytes after the end of its `nth` occurrence in
the chosen direction (`Cut(after=b"\\r\\n.\\r\\n", direction=C2S)`), which is stable where
exact offsets drift (server replies carry timings, messages carry dates). `align="line"`
moves the point on to the next IMAP response boundary (a CRLF that does not announce a
literal), so a BYE arrives where a server could send one, never inside a FETCH literal.

Every connection is a `ProxySession` in `proxy.sessions`, with byte counts per direction,
events for "the fault fired" and "closed", and with `record=True` a `Transcript` of what
passed, so a test can run once cleanly, then sweep N over the whole byte range.
`proxy.throttle` (bytes per second, server to client) makes a fast local server as slow as
a distant one, without changing a byte; `proxy.latency` (seconds) delays each direction
like a distant server's round trip, keeping the throughput. `proxy.poison` (`PoisonFetch`)
breaks every FETCH of chosen UIDs, on every connection.

At the end of the module, for test_faults.py and test_crash.py: `BackfillMailbox`, the
seeded 2,000-message mailbox they break connections and processes on, and helpers to
compare stores.
"""

from __future__ import annotations

import contextlib
import json
import queue
import random
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Self

from helpers import ME, ME_ALIAS
from mailbuilder import make_message
from servers import imap_client, require_dovecot

C2S = "c2s"  # client to server
S2C = "s2c"  # server to client
TOTAL = "total"  # both, in the order they passed
Direction = Literal["c2s", "s2c", "total"]

LOOPBACK = "127.0.0.1"
CHUNK = 16 * 1024
STALL_CAP = 120.0  # a stall waiting for the client never outlasts this, even if it never moves
CONNECT_TIMEOUT = 10.0

BYE = b"* BYE [UNAVAILABLE] Server shutting down for maintenance\r\n"
GARBAGE = b"\x00\xff\xfe\x1b[31m)(*&^ not IMAP at all \xc3\x28\r\n"


# --- faults --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """Where a fault fires: `plus` bytes after `after` in `direction`.

    `after` is a byte offset, or a byte string: then the point is the end of its `nth`
    occurrence. `align="line"` moves the point on to the next IMAP response boundary (for
    S2C; a line end that does not announce a literal)."""

    after: int | bytes = 0
    direction: Direction = S2C
    plus: int = 0
    nth: int = 1
    align: Literal["byte", "line"] = "byte"

    def __post_init__(self) -> None:
        if self.direction == TOTAL and (isinstance(self.after, bytes) or self.align == "line"):
            raise ValueError("a byte-string or line-aligned trigger needs C2S or S2C, not TOTAL")
        if isinstance(self.after, int) and self.after < 0:
            raise ValueError("after must be >= 0")


@dataclass(frozen=True)
class Cut(Fault):
    """Forward up to the trigger point, then close both connections."""

    reset: bool = False  # RST instead of FIN


@dataclass(frozen=True)
class Stall(Fault):
    """Freeze both directions at the trigger point for `seconds` (None: until the client
    sends more or closes, i.e. gives up), then cut or resume."""

    seconds: float | None = None
    then: Literal["cut", "resume"] = "cut"
    reset: bool = False


@dataclass(frozen=True)
class Inject(Fault):
    """Insert `data` into the stream at the trigger point; then continue or cut."""

    data: bytes = GARBAGE
    then: Literal["continue", "cut"] = "continue"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.direction == TOTAL:
            raise ValueError("Inject needs one direction (C2S or S2C)")


@dataclass(frozen=True)
class PoisonFetch:
    """On every connection, whenever the client sends a `UID FETCH` of headers whose UID set
    holds one of `uids`: cut the connection before the server sees it (`then="cut"`), or
    answer it ourselves with a garbled reply and a tagged OK (`then="garbage"`), as a server
    that chokes on one message would. Set as `proxy.poison`; it is not used up."""

    uids: frozenset[int]
    then: Literal["cut", "garbage"] = "cut"

    def hits(self, line: bytes) -> bool:
        match = _UID_FETCH.match(line)
        if match is None or b"HEADER" not in line.upper():
            return False
        ranges = list(_uid_ranges(match.group(1)))
        return any(low <= uid <= high for uid in self.uids for low, high in ranges)


_UID_FETCH = re.compile(rb"^\S+ UID FETCH ([0-9:,*]+) ", re.IGNORECASE)


def _uid_ranges(text: bytes) -> Iterator[tuple[int, int]]:
    """`1,5:9,20:*` -> (1, 1), (5, 9), (20, 2**32)."""
    for part in text.split(b","):
        first, _, second = part.partition(b":")
        ends = [2**32 if end == b"*" else int(end) for end in (first, second or first)]
        yield min(ends), max(ends)


# --- what passed ---------------------------------------------------------------------------


@dataclass
class Transcript:
    """Every chunk forwarded on one connection, in order: (direction, bytes)."""

    chunks: list[tuple[str, bytes]] = field(default_factory=list)

    def stream(self, direction: str) -> bytes:
        return b"".join(data for d, data in self.chunks if d == direction)

    def size(self, direction: str = TOTAL) -> int:
        return sum(len(data) for d, data in self.chunks if direction in (TOTAL, d))

    def find(self, direction: str, needle: bytes, start: int = 0) -> int:
        """Offset of `needle` in one direction's stream (ValueError if absent)."""
        offset = self.stream(direction).find(needle, start)
        if offset < 0:
            raise ValueError(f"{needle!r} not in the {direction} stream")
        return offset

    def to_total(self, direction: str, offset: int) -> int:
        """The TOTAL offset of byte `offset` of one direction's stream."""
        seen = total = 0
        for d, data in self.chunks:
            if d == direction and seen + len(data) > offset:
                return total + offset - seen
            if d == direction:
                seen += len(data)
            total += len(data)
        return total + offset - seen

    def commands(self) -> list[tuple[int, bytes]]:
        """(C2S offset, line) of every line the client sent."""
        stream = self.stream(C2S)
        found, start = [], 0
        for line in stream.split(b"\r\n")[:-1]:
            found.append((start, line))
            start += len(line) + 2
        return found


class ImapBoundaries:
    """Finds where server responses end in an IMAP byte stream fed in pieces: after a CRLF
    that does not announce a literal (`{123}\\r\\n`), and never inside a literal."""

    LITERAL = re.compile(rb"~?\{(\d+)\+?\}\r?\n$")

    def __init__(self) -> None:
        self.literal = 0
        self.tail = b""

    def feed(self, data: bytes) -> list[int]:
        """Positions in `data` just after each response boundary."""
        ends: list[int] = []
        i = 0
        while i < len(data):
            if self.literal:
                take = min(self.literal, len(data) - i)
                self.literal -= take
                i += take
                continue
            j = data.find(b"\n", i)
            if j < 0:
                self.tail = (self.tail + data[i:])[-40:]
                break
            line_end = (self.tail + data[i : j + 1])[-40:]
            self.tail = b""
            i = j + 1
            announced = self.LITERAL.search(line_end)
            if announced:
                self.literal = int(announced.group(1))
            else:
                ends.append(i)
        return ends


# --- one connection ------------------------------------------------------------------------


class ProxySession:
    """One client connection and its upstream connection, with at most one fault."""

    def __init__(
        self,
        client: socket.socket,
        server: socket.socket,
        fault: Fault | None,
        *,
        record: bool,
        throttle: float | None,
        poison: PoisonFetch | None = None,
        latency: float = 0.0,
        rewrite: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        self.client = client
        self.server = server
        self.fault = fault
        self.throttle = throttle
        self.poison = poison
        self.latency = latency
        self.rewrite = rewrite  # (old, new) replaced in each server-to-client chunk
        self._delayed: dict[str, queue.SimpleQueue[tuple[float, bytes | None]]] = {
            C2S: queue.SimpleQueue(),
            S2C: queue.SimpleQueue(),
        }
        self.poisoned = 0  # commands the poison rule answered or cut
        self._command_tail = b""
        self.transcript = Transcript() if record else None
        self.counts = {C2S: 0, S2C: 0, TOTAL: 0}
        self.fired = threading.Event()
        self.closed = threading.Event()
        self.client_moved = threading.Event()
        self._lock = threading.Lock()
        self._send_locks = {C2S: threading.Lock(), S2C: threading.Lock()}
        self._stalled = {C2S: False, S2C: False}
        self._held: dict[str, list[bytes]] = {C2S: [], S2C: []}
        self._eof = {C2S: False, S2C: False}
        self._trigger_at: int | None = None
        self._pattern_tail = b""
        self._pattern_seen = 0
        self._boundaries = ImapBoundaries()
        self._threads: list[threading.Thread] = []
        self.cut = False  # the proxy broke the connection (a Cut, or a Stall or Inject that cut)
        if fault is not None and isinstance(fault.after, int):
            self._trigger_at = fault.after + fault.plus

    # --- running --------------------------------------------------------------------------

    def start(self) -> None:
        if self.latency:
            for direction in (C2S, S2C):
                threading.Thread(target=self._deliver, args=(direction,), daemon=True,
                                 name=f"proxy delay {direction}").start()  # fmt: skip
        if self._trigger_at == 0 and self.fault is not None:
            with self._send_locks[self._fault_direction()]:
                self._fire(self._fault_direction(), b"")
        for direction, source in ((C2S, self.client), (S2C, self.server)):
            thread = threading.Thread(
                target=self._pump, args=(direction, source), name=f"proxy {direction}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def join(self, timeout: float | None = None) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def _pump(self, direction: str, source: socket.socket) -> None:
        while True:
            try:
                data = source.recv(CHUNK)
            except OSError:
                data = b""
            if not data:
                break
            self._feed(direction, data)
        with self._send_locks[direction]:
            if direction == C2S and self._stalled[C2S]:
                self.client_moved.set()
            self._eof[direction] = True
            if not self._stalled[direction] and not self.cut:  # pass the EOF on
                self._shutdown_write(direction)
        with self._lock:
            done = all(self._eof.values())
        if done:  # both pumps are out of recv(): now the sockets can be closed
            for sock in (self.client, self.server):
                sock.close()
            self.client_moved.set()
            self.closed.set()

    def _destination(self, direction: str) -> socket.socket:
        return self.server if direction == C2S else self.client

    def _fault_direction(self) -> str:
        assert self.fault is not None
        return S2C if self.fault.direction == TOTAL else self.fault.direction

    # --- forwarding, and where the fault fires --------------------------------------------

    def _feed(self, direction: str, data: bytes) -> None:
        if direction == C2S and self.poison is not None:
            data = self._apply_poison(data)
            if not data:
                return
        if direction == S2C:
            for old, new in self.rewrite:
                data = data.replace(old, new)
        with self._send_locks[direction]:
            if self._stalled[direction]:
                if direction == C2S:
                    self.client_moved.set()
                self._held[direction].append(data)
                return
            while data:
                forward, fire = self._split(direction, data)
                if forward:
                    self._send(direction, data[:forward])
                data = data[forward:]
                if fire:
                    if not self._fire(direction, data):
                        return
                    data = b""  # _fire forwarded (or held) the rest itself

    def _apply_poison(self, data: bytes) -> bytes:
        """Hold back client bytes until a whole command line is there; a poisoned FETCH is
        never forwarded."""
        assert self.poison is not None
        buffered = self._command_tail + data
        lines = buffered.split(b"\r\n")
        self._command_tail = lines.pop()
        out = []
        for line in lines:
            if not self.poison.hits(line):
                out.append(line + b"\r\n")
                continue
            self.poisoned += 1
            self.fired.set()
            if self.poison.then == "cut":
                self._close()
                return b""
            tag = line.split(b" ", 1)[0]
            with self._send_locks[S2C]:
                self._send(S2C, b"* 1 FETCH (UID \x00\xff garbled (((\r\n" + tag
                           + b" OK Fetch completed.\r\n")  # fmt: skip
        return b"".join(out)

    def _split(self, direction: str, data: bytes) -> tuple[int, bool]:
        """How many bytes of `data` go out before the fault fires, and whether it fires."""
        with self._lock:
            fault = self.fault
            base = (
                self.counts[TOTAL] if fault and fault.direction == TOTAL else self.counts[direction]
            )
            forward, fire = len(data), False
            if (
                fault is not None
                and not self.fired.is_set()
                and fault.direction in (direction, TOTAL)
            ):
                point = self._trigger_point(fault, base, data)
                if point is not None:
                    forward, fire = point, True
            self.counts[direction] += forward
            self.counts[TOTAL] += forward
            if fire:
                self.fired.set()
            return forward, fire

    def _trigger_point(self, fault: Fault, base: int, data: bytes) -> int | None:
        """Where in `data` (0..len) the fault fires, or None if not in this chunk."""
        if isinstance(fault.after, bytes) and self._trigger_at is None:
            self._look_for_pattern(fault, base, data)
        if fault.align == "line":
            ends = self._boundaries.feed(data)
            if self._trigger_at is None:
                return None
            return next((p for p in ends if base + p >= self._trigger_at), None)
        if self._trigger_at is None:
            return None
        point = self._trigger_at - base
        return point if 0 <= point <= len(data) else None

    def _look_for_pattern(self, fault: Fault, base: int, data: bytes) -> None:
        assert isinstance(fault.after, bytes)
        pattern = fault.after
        window = self._pattern_tail + data
        start = 0
        while (found := window.find(pattern, start)) >= 0:
            start = found + len(pattern)
            self._pattern_seen += 1
            if self._pattern_seen == fault.nth:
                self._trigger_at = base - len(self._pattern_tail) + start + fault.plus
                return
        # Keep what could begin the next occurrence, never part of one already counted.
        self._pattern_tail = window[max(start, len(window) - len(pattern) + 1) :]

    def _send(self, direction: str, data: bytes) -> None:
        if self.transcript is not None:
            self.transcript.chunks.append((direction, data))
        if self.latency:
            self._delayed[direction].put((time.monotonic() + self.latency, data))
            return
        with contextlib.suppress(OSError):
            self._destination(direction).sendall(data)
        if self.throttle and direction == S2C:
            time.sleep(len(data) / self.throttle)

    def _shutdown_write(self, direction: str) -> None:
        """Pass an EOF on (after the delayed bytes, with a latency)."""
        if self.latency:
            self._delayed[direction].put((time.monotonic() + self.latency, None))
            return
        with contextlib.suppress(OSError):
            self._destination(direction).shutdown(socket.SHUT_WR)

    def _deliver(self, direction: str) -> None:
        """The delay line of one direction: each chunk leaves `latency` seconds after it
        arrived, in order, so throughput is kept and only the round trip grows."""
        queue = self._delayed[direction]
        while True:
            due, data = queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            with contextlib.suppress(OSError):
                if data is None:
                    self._destination(direction).shutdown(socket.SHUT_WR)
                    return
                self._destination(direction).sendall(data)

    def _fire(self, direction: str, rest: bytes) -> bool:
        """Apply the fault; `rest` is what followed the trigger point in this chunk.
        Returns False when the connection is gone (nothing more to forward)."""
        fault = self.fault
        self.fired.set()
        if isinstance(fault, Cut):
            self._close(reset=fault.reset)
            return False
        if isinstance(fault, Inject):
            self._send(direction, fault.data)
            if fault.then == "cut":
                self._close()
                return False
            if rest:
                self._send(direction, rest)
            return True
        assert isinstance(fault, Stall)
        self._stalled = {C2S: True, S2C: True}
        if rest:
            self._held[direction].append(rest)
        threading.Thread(target=self._stall, args=(fault,), name="proxy stall", daemon=True).start()
        return True

    def _stall(self, fault: Stall) -> None:
        if fault.seconds is None:
            self.client_moved.wait(STALL_CAP)
        else:
            self.closed.wait(fault.seconds)
        if fault.then == "cut" or self.closed.is_set():
            self._close(reset=fault.reset)
            return
        for direction in (C2S, S2C):
            with self._send_locks[direction]:
                for data in self._held[direction]:
                    self._send(direction, data)
                self._held[direction] = []
                self._stalled[direction] = False
                if self._eof[direction]:
                    self._shutdown_write(direction)

    def break_connection(self, *, reset: bool = False) -> None:
        """Cut this connection now, whatever its fault."""
        self.fired.set()
        self._close(reset=reset)

    def _close(self, *, reset: bool = False) -> None:
        """Break both connections: FIN (or RST) to each side. The pumps' blocked recv()
        calls return, and the last pump to finish closes the sockets."""
        self.cut = True
        if self.latency:  # end the delay lines
            for direction in (C2S, S2C):
                self._delayed[direction].put((0.0, None))
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                if reset:  # close() with a zero linger sends RST; SHUT_RD wakes recv()
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    sock.shutdown(socket.SHUT_RD)
                else:
                    sock.shutdown(socket.SHUT_RDWR)
        self.client_moved.set()


# --- the proxy -----------------------------------------------------------------------------


class FaultProxy:
    """Listens on 127.0.0.1 and forwards to `target_host:target_port`, breaking on request."""

    def __init__(self, target_host: str, target_port: int, *, record: bool = False) -> None:
        self.target = (target_host, target_port)
        self.host = LOOPBACK
        self.port = 0
        self.record = record
        self.throttle: float | None = None  # server-to-client bytes per second, None: as fast
        self.poison: PoisonFetch | None = None  # applies to every connection while set
        self.latency = 0.0  # seconds added to each direction (a distant server), 0: none
        self.rewrite: tuple[tuple[bytes, bytes], ...] = ()  # server bytes replaced, per chunk
        self.sessions: list[ProxySession] = []
        self._fault: Fault | None = None
        self._fault_uses: int | None = None
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self._new_session = threading.Condition(self._lock)

    def arm(self, fault: Fault | None, *, times: int | None = 1) -> None:
        """Apply `fault` to the next `times` connections (None: every one until disarmed)."""
        with self._lock:
            self._fault, self._fault_uses = fault, times

    def disarm(self) -> None:
        self.arm(None)

    def start(self) -> None:
        listener = socket.create_server((self.host, 0))
        listener.settimeout(0.2)  # the accept loop checks for close() this often
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._thread = threading.Thread(target=self._accept_loop, name="fault proxy", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closing.set()
        if self._thread is not None:
            self._thread.join()
        if self._listener is not None:
            self._listener.close()
        for session in list(self.sessions):
            session._close()
            session.join(timeout=5)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<FaultProxy {self.host}:{self.port} -> {self.target[0]}:{self.target[1]}>"

    # --- sessions --------------------------------------------------------------------------

    def _take_fault(self) -> Fault | None:
        with self._lock:
            fault = self._fault
            if fault is not None and self._fault_uses is not None:
                self._fault_uses -= 1
                if self._fault_uses <= 0:
                    self._fault, self._fault_uses = None, None
            return fault

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._closing.is_set():
            try:
                client, _address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                server = socket.create_connection(self.target, timeout=CONNECT_TIMEOUT)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            session = ProxySession(
                client,
                server,
                self._take_fault(),
                record=self.record,
                throttle=self.throttle,
                poison=self.poison,
                latency=self.latency,
                rewrite=self.rewrite,
            )
            with self._new_session:
                self.sessions.append(session)
                self._new_session.notify_all()
            session.start()

    def wait_for_session(self, count: int, timeout: float = 60.0) -> ProxySession:
        """Wait until at least `count` connections were made; return the `count`-th."""
        with self._new_session:
            if not self._new_session.wait_for(lambda: len(self.sessions) >= count, timeout):
                raise AssertionError(f"{self!r}: no connection #{count} within {timeout}s")
            return self.sessions[count - 1]


# --- a mailbox to break things on ---------------------------------------------------------


@dataclass(frozen=True)
class Person:
    name: str
    emails: tuple[str, ...]


CONTACTS = (
    Person("Ada Lovelace", ("ada@example.org", "ada.l@analytical.example")),
    Person("Grace Hopper", ("grace@navy.example",)),
    Person("Alan Turing", ("alan@bletchley.example",)),
    Person("Barbara Liskov", ("barbara@mit.example", "liskov@clu.example")),
    Person("Edsger Dijkstra", ("ewd@eindhoven.example",)),
)

WORDS = (
    "lunch", "paper", "draft", "review", "Grüße", "weekend", "notes", "the", "a", "Re:",
    "compiler", "engine", "tea", "on", "slides", "budget", "plans", "garden", "proof", "été",
)  # fmt: skip


@dataclass
class BackfillMailbox:
    """A seeded mailbox of `size` messages in INBOX and Sent.

    About 15% involve the `CONTACTS`: mail from them to me or my alias, mail from me to one
    to three of them in To, Cc or Bcc, a few copies of the same message in both folders and
    a few without Message-ID. Some contacts' mail is list mail (never an interaction). The
    rest comes from or goes to strangers. Subjects vary in length, so FETCH literals do.

    `expected` counts (contact name, Message-ID or None) over the interactions a correct sync
    logs, worked out from what was generated, independently of Kithkin. `involved` lists per
    folder, in UID order, each message's number (the `#n` its Subject starts with) and the
    contacts it is an interaction with.
    """

    seed: int = 20261123
    size: int = 2000
    inbox: list[bytes] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)
    expected: Counter[tuple[str, str | None]] = field(default_factory=Counter)
    involved: dict[str, list[tuple[int, tuple[str, ...]]]] = field(
        default_factory=lambda: {"INBOX": [], "Sent": []}
    )

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        start = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
        while len(self.inbox) + len(self.sent) < self.size:
            n = len(self.inbox) + len(self.sent)
            when = start + timedelta(minutes=n * 211 + rng.randrange(200))
            self._add(rng, n, when)

    def _add(self, rng: random.Random, n: int, when: datetime) -> None:
        subject = f"#{n} " + " ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 14)))
        message_id = None if n % 47 == 5 else f"{n}.{self.seed}@kithkin.test"
        stranger = f"Stranger {n} <s{n}@strangers{n % 17}.example>"
        headers: dict[str, str] = {}
        to: list[str] = []
        cc: list[str] = []
        bcc: list[str] = []
        involved: list[Person] = []
        folders = ["INBOX"]
        roll = rng.random()
        if roll < 0.07:  # in: a contact writes to me or my alias
            person = rng.choice(CONTACTS)
            address = rng.choice(person.emails)
            from_ = f"{person.name} <{address.upper() if n % 5 == 0 else address}>"
            to = [rng.choice((ME, ME_ALIAS, f"Me <{ME}>"))]
            cc = [stranger] if n % 3 == 0 else []
            involved = [person]
        elif roll < 0.14:  # out: I write to one to three contacts, in To, Cc or Bcc
            folders = ["Sent"]
            from_ = f"Me <{ME}>"
            involved = rng.sample(CONTACTS, rng.choice((1, 1, 1, 2, 3)))
            for person in involved:
                rng.choice((to, to, cc, bcc)).append(f"{person.name} <{rng.choice(person.emails)}>")
            to = to or [stranger]
        elif roll < 0.15:  # to myself with a contact in Cc: in both folders, logged once
            folders = ["INBOX", "Sent"]
            from_, to = ME, [ME_ALIAS]
            person = rng.choice(CONTACTS)
            cc = [person.emails[-1]]
            involved = [person]
        elif roll < 0.16:  # a contact on a mailing list: never an interaction
            from_, to = rng.choice(CONTACTS).emails[0], [ME]
            headers["List-Id"] = "<friends.lists.example>"
        elif roll < 0.60:
            from_, to = stranger, [ME]
        else:
            folders = ["Sent"]
            from_, to = ME, [stranger]
        message = make_message(
            from_=from_, to=to, cc=cc, bcc=bcc, subject=subject, date=when,
            message_id=f"<{message_id}>" if message_id else False, headers=headers,
        )  # fmt: skip
        for folder in folders:
            (self.inbox if folder == "INBOX" else self.sent).append(message)
            self.involved[folder].append((n, tuple(person.name for person in involved)))
        for person in involved:
            self.expected[(person.name, message_id)] += 1

    def fill(self, server: Any) -> None:
        """Store everything over IMAP: MULTIAPPEND in batches on one connection."""
        with imap_client(server) as client:
            for folder, messages in (("INBOX", self.inbox), ("Sent", self.sent)):
                for start in range(0, len(messages), 100):
                    client.multiappend(folder, messages[start : start + 100])

    def against_cursors(self, store: Any) -> tuple[list[str], list[str]]:
        """Compare `store` with its own folder cursors: (interactions of messages at or
        below a cursor that are missing, interactions logged of messages above every
        cursor). With batches committed atomically with their cursor, both are empty after
        any crash: a missing one would be lost for good, one ahead means a batch's rows were
        committed without its cursor."""
        logged = {
            (row["contact"], int(row["subject"].split()[0][1:]))
            for row in store.interactions.list()
        }
        covered = {
            (name, n)
            for state in store.folders.all()
            for n, names in self.involved.get(state.name, [])[: state.last_uid]
            for name in names
        }
        missing = [f"#{n} with {name}" for name, n in sorted(covered - logged)]
        ahead = [f"#{n} with {name}" for name, n in sorted(logged - covered)]
        return missing, ahead


# --- for the reliability tests --------------------------------------------------------------


skip_without_dovecot = require_dovecot  # for module-scoped fixtures


# --- comparing stores ------------------------------------------------------------------------


def interaction_table(store: Any) -> list[str]:
    """Every interaction as canonical JSON without its id, sorted: equal lists mean the same
    rows, each as often."""
    return sorted(
        json.dumps({k: v for k, v in row.items() if k != "id"}, sort_keys=True)
        for row in store.interactions.list()
    )


def folder_cursors(store: Any) -> list[tuple]:
    """Each folder's UIDVALIDITY, cursor, UIDNEXT, counters and error (not the sync time)."""
    return [
        (f.name, f.uidvalidity, f.last_uid, f.uidnext, f.messages_seen, f.interactions_logged,
         f.last_error)
        for f in store.folders.all()
    ]  # fmt: skip
