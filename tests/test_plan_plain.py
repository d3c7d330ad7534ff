"""daemon/sync/plan.py: a batch planned with the plain fast path (`read_plain`, the sieve,
`PlainBlock.facts`) plans exactly what the general path plans, message for message.

The reference reads every message with `read_block` and `_plan_message` and no sieve at all.
Generated batches mix contacts (one under an IDNA domain), the owner's two addresses and
strangers, in every role, with lists, automatic mail, missing and bogus dates, replies to a
summary (owner to owner) and blocks that are not plain.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kithkin.daemon.core.matching import Sieve
from kithkin.daemon.core.stored import stored_date
from kithkin.daemon.mail.records import FetchedHeader
from kithkin.daemon.sync.plan import BatchPlan, _plan_message, plan_batch
from kithkin.parsers.headers.plain import read_plain

BOOK = {"ann@example.org": 1, "bob@bücher.example": 2, "cy@example.org": 3}
ME = frozenset({"me@home.example", "me@old-job.example"})
WRITTEN = {  # as a mailer may write each address
    "ann": ["ann@example.org", "Ann <Ann@Example.ORG>", '"Smith, Ann" <ann@example.org>'],
    "bob": ["bob@xn--bcher-kva.example", "=?utf-8?q?B=C3=B6b?= <BOB@XN--BCHER-KVA.example>"],
    "cy": ["cy@example.org", "Cy (work) <cy@example.org>"],  # a comment: not plain
    "me": ["me@home.example", "Me Myself <Me@Home.example>"],
    "me2": ["me@old-job.example"],
    "s1": ["s1@strangers.example", "S One <s1@strangers.example>"],
    "s2": ["s2@strangers.example", "Caf\xe9 <s2@strangers.example>"],  # 8-bit: not plain
    "s3": ["s3@xn--mnchen-3ya.example"],
}
PEOPLE = st.sampled_from(sorted(WRITTEN))
OTHER = st.sampled_from([
    "Date: Tue, 01 Jun 2021 22:40:30 -0500", "Date: garbage", "Date: 1 Jan 2099 00:00 +0000",
    "Message-ID: <m@example.org>", "Subject: Re: lunch", "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=",
    "Subject: Re: your Kithkin summary [0123456789abcdef0123456789abcdef]",
    "In-Reply-To: <summary.0123456789abcdef0123456789abcdef@kithkin.invalid>",
    "List-Id: <l.example>", "Precedence: bulk", "Auto-Submitted: auto-replied",
    "Auto-Submitted: no", "X-Kithkin-Summary: 1", "Subject: caf\xe9",
])  # fmt: skip


REPLY_LINES = [
    "Subject: Re: your Kithkin summary [0123456789abcdef0123456789abcdef]",
    "In-Reply-To: <summary.0123456789abcdef0123456789abcdef@kithkin.invalid>",
]


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    lines = []
    if draw(st.integers(0, 5)) == 0:  # the owner to the owner: maybe a reply to a summary
        lines = [f"From: {draw(st.sampled_from(WRITTEN['me']))}", "To: me@old-job.example"]
        lines.append(draw(st.sampled_from(REPLY_LINES)))
    for field in ("From", "To", "Cc", "Bcc") if not lines else ():
        people = draw(st.lists(PEOPLE, max_size=3 if field != "From" else 2))
        if people or draw(st.booleans()):
            written = [draw(st.sampled_from(WRITTEN[person])) for person in people]
            lines.append(f"{field}: {', '.join(written)}")
    lines += draw(st.lists(OTHER, max_size=4))
    lines = draw(st.permutations(lines))
    return ("\r\n".join(lines) + "\r\n\r\n").encode(draw(st.sampled_from(["utf-8", "latin-1"])))


INTERNALDATES = st.sampled_from([b"01-Jun-2021 03:47:24 +0000", b"garbage", None])


@st.composite
def batches(draw: st.DrawFn) -> list[FetchedHeader]:
    found = draw(st.lists(st.tuples(messages(), INTERNALDATES), min_size=1, max_size=12))
    batch = [FetchedHeader(uid, raw, date) for uid, (raw, date) in enumerate(found, 1)]
    if draw(st.booleans()):
        batch.append(FetchedHeader(len(batch) + 1, None, None))
    return batch


def reference(batch: list[FetchedHeader], *, replies: bool) -> BatchPlan:
    plan = BatchPlan()
    for fetched in batch:
        _plan_message(plan, fetched, BOOK, ME, replies=replies)
    return plan


def brief(plan: BatchPlan) -> tuple[object, ...]:
    return plan.stored_rows(), plan.replies, plan.failed, plan.failed_strangers, plan.unparseable


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches(), st.booleans())
def test_a_batch_plans_as_the_general_path_plans_it(
    batch: list[FetchedHeader], replies: bool
) -> None:
    fast = plan_batch(batch, BOOK, ME, replies=replies, sieve=Sieve.of(BOOK, ME))
    assert brief(fast) == brief(reference(batch, replies=replies))


def test_the_generated_batches_take_both_paths_and_log_rows() -> None:
    """The property above compares something: plain blocks with contacts (the fast path),
    blocks that are not plain, replies to a summary, and rows logged from each."""
    seen = {"plain contact": 0, "not plain": 0, "reply": 0, "rows": 0}
    sieve = Sieve.of(BOOK, ME)

    @settings(max_examples=300, deadline=None, database=None)
    @given(batches())
    def sample(batch: list[FetchedHeader]) -> None:
        for fetched in batch:
            block = read_plain(fetched.header) if fetched.header else None
            if block is None:
                seen["not plain"] += 1
            elif sieve.involves_contact(block):
                seen["plain contact"] += 1
        plan = plan_batch(batch, BOOK, ME, replies=True, sieve=sieve)
        seen["rows"] += len(plan.stored_rows())
        seen["reply"] += len(plan.replies)

    sample()
    assert all(count >= 10 for count in seen.values()), seen


def test_a_plain_message_from_a_contact_is_logged_once_with_its_facts() -> None:
    raw = (b"From: Ann <Ann@Example.ORG>\r\nTo: me@home.example, s1@strangers.example\r\n"
           b"Subject: =?utf-8?q?Caf=C3=A9?=\r\nMessage-ID: <m1@example.org>\r\n"
           b"Date: Tue, 01 Jun 2021 22:40:30 -0500\r\n\r\n")  # fmt: skip
    batch = [FetchedHeader(7, raw, b"02-Jun-2021 03:47:24 +0000")]
    plan = plan_batch(batch, BOOK, ME, replies=True)
    assert list(plan.stored_rows()) == [7]
    (row,) = plan.stored_rows()[7]
    contact_id, kind, direction, date, day, key, identifier, subject, audience, note, _ = row
    assert (contact_id, kind, direction, audience, subject, identifier, key, note) == (
        1, "email", "in", 2, "Café", "m1@example.org", "<m1@example.org>", None
    )  # fmt: skip
    assert (date, day) == stored_date(datetime(2021, 6, 2, 3, 40, 30, tzinfo=UTC))
    assert brief(plan) == brief(reference(batch, replies=True))
