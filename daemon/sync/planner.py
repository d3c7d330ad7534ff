"""Where a batch is planned: here, or one batch ahead in a child process.

Planning (plan.py: reading each header's addresses, matching a contact's mail) is most of a
first sync's work and needs nothing but the fetched bytes and the address book, so on a
machine with a second CPU a long folder is planned by a child process while this one reads
the next batch off the wire and commits the one before: `PlanWorker`. A batch submitted
while the child still owes BEHIND batches and has not finished the oldest is planned here,
so neither process waits long for the other. Everything else (fetching, narrowing, replies,
the store, the cursor) stays in the sync's process, in the same order as before; a plan is
the same wherever it was made (tests/test_planner.py).

The child is a fresh interpreter (`python -c`, no state of this process copied into it, no
file of it open but a pipe each way and stderr; multiprocessing's spawn would add a resource
tracker process of 13 MB), ignores
SIGINT and SIGTERM (the sync's process decides when to stop) and leaves when its pipe
closes, as it does when this process exits or is killed. Should the child fail or die, the
batches it owes are planned here, and so is the rest of the run.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from typing import Any, Protocol

from kithkin.daemon.core.matching import Sieve
from kithkin.daemon.mail.records import FetchedHeader
from kithkin.daemon.sync.plan import BatchPlan, plan_batch

log = logging.getLogger("kithkin.sync")

WORKER_THRESHOLD = 20_000  # UIDs to read before a child pays for its start (~0.25 s of CPU)

BEHIND = 2  # batches owed by a child still planning the oldest: the next is planned here
PLAN_TIMEOUT = 120.0  # seconds: a child silent for longer than this is given up
Item = tuple[int, bytes | None, Any, bool, bool]  # a FetchedHeader, as sent to the child
PlanFn = Callable[[list[FetchedHeader], bool], BatchPlan]


class Planning(Protocol):
    def result(self) -> BatchPlan: ...


class Planner(Protocol):
    def submit(self, fetched: list[FetchedHeader], *, replies: bool) -> Planning: ...
    def close(self) -> None: ...


class Planned:
    """A plan made at once, in this process."""

    def __init__(self, plan: BatchPlan) -> None:
        self.plan = plan

    def result(self) -> BatchPlan:
        return self.plan


class InlinePlanner:
    """Plans each batch when it is submitted, in this process (with the engine's seams)."""

    def __init__(self, plan: PlanFn) -> None:
        self.plan = plan

    def submit(self, fetched: list[FetchedHeader], *, replies: bool) -> Planning:
        return Planned(self.plan(fetched, replies))

    def close(self) -> None:
        pass


def second_cpu() -> bool:
    """Whether this process may run on more than one CPU."""
    try:
        return len(os.sched_getaffinity(0)) > 1
    except (AttributeError, OSError):
        return (os.cpu_count() or 1) > 1


class _Owed:
    """A batch sent to the child; its plan comes back in the order batches were sent."""

    def __init__(
        self, worker: PlanWorker, fetched: list[FetchedHeader], replies: bool, fallback: PlanFn
    ) -> None:
        self.worker, self.fetched, self.replies, self.fallback = worker, fetched, replies, fallback
        self.plan: BatchPlan | None = None

    def result(self) -> BatchPlan:
        while self.plan is None:
            self.worker.receive_next()
        return self.plan


class _ChildPlanner:
    """The worker's planner for one folder's batches, with their fallback."""

    def __init__(self, worker: PlanWorker, fallback: PlanFn) -> None:
        self.worker, self.fallback = worker, fallback

    def submit(self, fetched: list[FetchedHeader], *, replies: bool) -> Planning:
        return self.worker.submit(fetched, replies, self.fallback)

    def close(self) -> None:
        pass  # the worker serves the whole run


class PlanWorker:
    """Plans batches in a child process, each one while the caller fetches the next; one
    child for a whole sync run (`close` when it ends).

    A batch's fallback plans it here: what is submitted before the child is ready, and
    everything once the child has failed."""

    def __init__(self, book: Mapping[str, int], me: frozenset[str]) -> None:
        self.owed: deque[_Owed] = deque()
        self.ready = False
        self.failed = False
        self.by_child = 0  # batches planned by the child
        self.here = 0  # planned here: before it was ready, while it was busy, after it failed
        to_child, child_in = os.pipe()
        child_out, from_child = os.pipe()
        self.requests = Connection(child_in, readable=False)  # batches to the child
        self.answers = Connection(child_out, writable=False)  # its plans back
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD_MAIN.format(read=to_child, write=from_child)],
            pass_fds=[to_child, from_child], stdin=subprocess.DEVNULL, close_fds=True,
        )  # fmt: skip
        os.close(to_child)
        os.close(from_child)
        # Batches are sent by a thread of their own: the child reads one when done with the
        # one before, and this process goes on fetching meanwhile.
        self.outgoing: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.outgoing.put((dict(book), frozenset(me)))  # first: the address book
        self.sender = threading.Thread(target=self._send_all, name="kithkin-plan-send",
                                       daemon=True)  # fmt: skip
        self.sender.start()

    def planner(self, fallback: PlanFn) -> Planner:
        return _ChildPlanner(self, fallback)

    def submit(self, fetched: list[FetchedHeader], replies: bool, fallback: PlanFn) -> Planning:
        if not self.failed and not self.ready:
            self._check_ready()
        if self.failed or not self.ready:
            return self._inline(fetched, replies, fallback)
        if len(self.owed) >= BEHIND and not self.answers.poll():  # it is behind
            self.here += 1
            return Planned(fallback(fetched, replies))
        owed = _Owed(self, fetched, replies, fallback)
        items = [(f.uid, f.header, f.internaldate_value, f.long, f.cut) for f in fetched]
        self.outgoing.put((items, replies))
        self.owed.append(owed)
        return owed

    def _send_all(self) -> None:
        while True:
            request = self.outgoing.get()
            try:
                self.requests.send(request)
            except (OSError, ValueError):
                return  # the child is gone: the receiving side finds out and plans here
            if request is None:
                return

    def receive_next(self) -> None:
        """The plan of the oldest batch owed: from the child, or made here if it failed."""
        owed = self.owed[0]
        if not self.failed:
            try:
                if not self.answers.poll(PLAN_TIMEOUT):
                    raise TimeoutError(f"no plan within {PLAN_TIMEOUT:.0f} s")
                answer = self.answers.recv()
            except (EOFError, OSError) as exc:
                self._fail(exc)
                self.process.kill()
                self.process.wait()
            else:
                if isinstance(answer, BatchPlan):
                    owed.plan = answer
                    self.by_child += 1
                else:
                    self._fail(RuntimeError(answer))
        if owed.plan is None:  # the child failed: this one, and any owed after it, here
            owed.plan = owed.fallback(owed.fetched, owed.replies)
            self.here += 1
        self.owed.popleft()

    def close(self) -> None:
        log.debug("batches planned: %d by the child process, %d here", self.by_child, self.here)
        self.outgoing.put(None)
        self.sender.join(timeout=5)
        self.requests.close()
        self.answers.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _check_ready(self) -> None:
        try:
            if not self.answers.poll():
                return
            answer = self.answers.recv()
        except (EOFError, OSError) as exc:
            self._fail(exc)
            return
        if answer == "ready":
            self.ready = True
        else:
            self._fail(RuntimeError(answer))

    def _inline(self, fetched: list[FetchedHeader], replies: bool, fallback: PlanFn) -> Planning:
        self.here += 1
        return Planned(fallback(fetched, replies))

    def _fail(self, exc: BaseException) -> None:
        if not self.failed:
            log.info("the planning process failed (%s); planning here instead", exc)
        self.failed = True


# --- the child ----------------------------------------------------------------------------


# The child: a fresh interpreter given a pipe each way (and no other file of the sync but
# its standard streams).
CHILD_MAIN = "from kithkin.daemon.sync.planner import serve_on; serve_on({read}, {write})"


def serve_on(read: int, write: int) -> None:
    """`serve`, then the child leaves at once: tearing down an interpreter that holds the
    address book and the imports of planning took 30-60 ms, which the sync waited for."""
    serve(Connection(read, writable=False), Connection(write, readable=False))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def serve(requests: Connection, answers: Connection) -> None:
    """The child's loop: the address book, then batches in and plans out, in order, until
    the pipe closes or says None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        book, me = requests.recv()
    except (EOFError, OSError):
        return
    sieve = Sieve.of(book, me)
    answers.send("ready")
    while True:
        try:
            request = requests.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        items, replies = request
        fetched = [FetchedHeader(uid, header, date, long, cut)
                   for uid, header, date, long, cut in items]  # fmt: skip
        try:
            answer: Any = plan_batch(fetched, book, me, replies=replies, sieve=sieve).pack()
        except BaseException as exc:  # noqa: BLE001 - said to the parent, which plans it
            answer = f"{type(exc).__name__}: {exc}"
        try:
            answers.send(answer)
        except OSError:
            return
