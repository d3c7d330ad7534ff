"""daemon/sync/planner.py: a batch planned by the child process is the batch planned here.

A real child (spawned, as a long sync starts it) plans generated batches (tests/
test_plan_plain.py's: contacts, the owner, strangers, lists, replies to a summary, blocks
that are not plain, bogus dates); every plan must equal `plan_batch` run here. Batches sent
while the child is busy, and those it owes when it dies, are planned here, in order. The
child ignores SIGINT and SIGTERM and leaves when the process that started it is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_plan_plain import BOOK, ME, batches

from kithkin.daemon.mail.records import FetchedHeader
from kithkin.daemon.sync.plan import BatchPlan, plan_batch
from kithkin.daemon.sync.planner import PlanWorker

DEADLINE = 30.0  # generous: nothing asserts on speed


def here(fetched: list[FetchedHeader], replies: bool) -> BatchPlan:
    return plan_batch(fetched, BOOK, ME, replies=replies)


def everything(plan: BatchPlan) -> tuple[object, ...]:
    return (plan.stored_rows(), plan.replies, plan.failed, plan.failed_strangers,
            plan.unparseable, plan.capped)  # fmt: skip


def ready(worker: PlanWorker) -> PlanWorker:
    deadline = time.monotonic() + DEADLINE
    while not worker.ready:
        assert not worker.failed and time.monotonic() < deadline, "the child never started"
        worker._check_ready()
        time.sleep(0.01)
    return worker


@pytest.fixture(scope="module")
def worker() -> Iterator[PlanWorker]:
    started = ready(PlanWorker(BOOK, ME))
    yield started
    started.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(batches(), min_size=1, max_size=4), st.booleans())
def test_the_child_plans_every_batch_as_this_process_does(
    worker: PlanWorker, drawn: list[list[FetchedHeader]], replies: bool
) -> None:
    before = worker.by_child
    planned = []
    for batch in drawn:  # the next sent before the one before is read, as the engine does
        planned.append(worker.submit(batch, replies, here))
    for batch, planning in zip(drawn, planned, strict=True):
        assert everything(planning.result()) == everything(here(batch, replies))
    assert not worker.failed and worker.by_child > before  # the child did plan some


def test_the_child_plans_the_rows_of_contacts_and_the_replies_to_a_summary(
    worker: PlanWorker,
) -> None:
    """The property above compares plans with something in them."""
    raw = (b"From: Ann <ann@example.org>\r\nTo: me@home.example\r\nSubject: lunch\r\n"
           b"Date: Tue, 01 Jun 2021 22:40:30 -0500\r\nMessage-ID: <m1@example.org>\r\n"
           b"\r\n")  # fmt: skip
    reply = (b"From: me@home.example\r\nTo: me@old-job.example\r\n"
             b"Date: Wed, 02 Jun 2021 08:00:00 +0000\r\n"
             b"In-Reply-To: <summary.0123456789abcdef0123456789abcdef@kithkin.invalid>\r\n"
             b"Subject: Re: your Kithkin summary [0123456789abcdef0123456789abcdef]\r\n"
             b"\r\n")  # fmt: skip
    batch = [FetchedHeader(1, raw, b"01-Jun-2021 03:47:24 +0000"), FetchedHeader(2, reply, None)]
    while worker.owed:
        worker.receive_next()
    before = worker.by_child
    plan = worker.submit(batch, True, here).result()
    assert worker.by_child == before + 1
    assert [row[0] for row in plan.stored_rows()[1]] == [1]  # its contact_id
    assert [uid for uid, _ in plan.replies] == [2]


def test_a_batch_sent_while_the_child_is_busy_is_planned_here_in_order() -> None:
    made_here: list[int] = []

    def counted(fetched: list[FetchedHeader], replies: bool) -> BatchPlan:
        made_here.append(fetched[0].uid)
        return here(fetched, replies)

    raw = (
        b"From: ann@example.org\r\nTo: me@home.example\r\nSubject: s\r\n"
        b"Date: Tue, 01 Jun 2021 22:40:30 -0500\r\n\r\n"
    )
    batches_sent = [[FetchedHeader(n * 1000 + i, raw, None) for i in range(400)]
                    for n in range(1, 30)]  # fmt: skip
    worker = ready(PlanWorker(BOOK, ME))
    try:
        planned = [worker.submit(batch, True, counted) for batch in batches_sent]
        plans = [planning.result() for planning in planned]
    finally:
        worker.close()
    planned_uids = [sorted(plan.stored_rows()) for plan in plans]
    assert planned_uids == [[f.uid for f in b] for b in batches_sent]
    assert made_here and worker.by_child > 0  # some here, some by the child
    assert worker.here == len(made_here) and worker.by_child + worker.here == len(batches_sent)


def test_the_batches_a_dead_child_owed_are_planned_here() -> None:
    drawn = [[FetchedHeader(n, b"From: ann@example.org\r\nTo: me@home.example\r\n\r\n", None)]
             for n in range(1, 6)]  # fmt: skip
    worker = ready(PlanWorker(BOOK, ME))
    try:
        first = worker.submit(drawn[0], True, here).result()
        owed = [worker.submit(batch, True, here) for batch in drawn[1:3]]
        os.kill(worker.process.pid, signal.SIGKILL)
        worker.process.wait(DEADLINE)
        later = [worker.submit(batch, True, here) for batch in drawn[3:]]
        plans = [first] + [planning.result() for planning in owed + later]
    finally:
        worker.close()
    assert worker.failed
    assert [everything(plan) for plan in plans] == [everything(here(b, True)) for b in drawn]


def test_the_child_ignores_sigint_and_sigterm(worker: PlanWorker) -> None:
    """Ctrl-C and systemd's SIGTERM reach the whole process group; the sync's process
    decides when to stop, and the child goes on planning until then."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        os.kill(worker.process.pid, signum)
    batch = [FetchedHeader(1, b"From: ann@example.org\r\nTo: me@home.example\r\n\r\n", None)]
    while worker.owed:
        worker.receive_next()
    before = worker.by_child
    assert everything(worker.submit(batch, True, here).result()) == everything(here(batch, True))
    assert worker.by_child == before + 1 and worker.process.poll() is None


CHILD_THEN_KILL = textwrap.dedent("""
    import os, signal, sys, time
    from kithkin.daemon.sync.planner import PlanWorker
    if __name__ == "__main__":
        worker = PlanWorker({"ann@example.org": 1}, frozenset({"me@home.example"}))
        while not worker.ready:
            worker._check_ready()
            time.sleep(0.01)
        print(worker.process.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
""")


def test_the_child_leaves_when_the_sync_process_is_killed(tmp_path) -> None:
    script = tmp_path / "start_then_die.py"
    script.write_text(CHILD_THEN_KILL)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=DEADLINE, check=False)  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    child = int(proc.stdout.split()[0])
    deadline = time.monotonic() + DEADLINE
    while alive(child):
        assert time.monotonic() < deadline, "the planning child outlived the sync by 30 s"
        time.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
