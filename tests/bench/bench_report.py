"""Report speed: `analyse()` over a large store, its query plans, and `kithkin report --json`.

Run: `python tests/bench/bench_report.py [--contacts 5000] [--interactions 1000000]
[--repeat 7] [--as-of 2024-06-01]`.

A fresh store (`Store.open`, so the real schema and migrations) is filled in one transaction
with contacts (some with a set cadence, birthdays, tags, a few muted or snoozed, some never in
touch) and interactions spread over the three years before `--as-of`: heavy-tailed volumes
per person, varied cadences, people who went quiet, one-sided runs, mostly personal mail
(audience 1) with some group mail (audience 5-40) and a few manual, non-email entries.

Printed, side by side in one run: the time of `analyse(store, as_of, AnalysisConfig())`
in-process (first call, then min/median of `--repeat` calls), the time of each store query it
runs, the `EXPLAIN QUERY PLAN` of each (captured with a trace callback, so they are the
statements store.py really sends), and the end-to-end `kithkin report --json --as-of` CLI.
Target (issue): 5,000 contacts and 1,000,000 interactions report in under a second. The exit
status is 0 either way unless something crashed. This is a script, not a test.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from kithkin.daemon.config import AnalysisConfig
from kithkin.daemon.core.analysis import WINDOW_DAYS, analyse
from kithkin.daemon.core.dates import EPOCH
from kithkin.daemon.store import Store
from kithkin.daemon.summary.inputs import gather, report_for

TARGET_SECONDS = 1.0
YEARS = 3
ME = "me@home.example"
WORDS = ["lunch", "report", "draft", "trip", "photos", "meeting", "budget", "notes", "plans"]


# --- the data --------------------------------------------------------------------------------


def contact_rows(rng: random.Random, count: int, as_of: date) -> list[tuple[Any, ...]]:
    """(id, name, every_days, birthday, snoozed_until, muted, created_at) per contact."""
    rows = []
    for cid in range(1, count + 1):
        every = rng.choice([7, 14, 30, 60, 90, 180]) if rng.random() < 0.1 else None
        birthday = None
        if rng.random() < 0.4:
            month, day = rng.randint(1, 12), rng.randint(1, 28)
            year = f"{rng.randint(1950, 2005)}" if rng.random() < 0.7 else "-"
            birthday = f"{year}-{month:02d}-{day:02d}"
        snoozed = None
        if rng.random() < 0.03:
            snoozed = str(as_of + timedelta(days=rng.randint(-60, 60)))
        muted = int(rng.random() < 0.03)
        rows.append((cid, f"Person {cid:05d} {rng.choice(WORDS).title()}", every, birthday,
                     snoozed, muted, "2021-01-01T00:00:00Z"))  # fmt: skip
    return rows


def address_rows(rng: random.Random, count: int) -> Iterator[tuple[str, int]]:
    for cid in range(1, count + 1):
        yield (f"p{cid}@example.org", cid)
        if rng.random() < 0.2:
            yield (f"person.{cid}@old.example.net", cid)


def tag_rows(rng: random.Random, count: int) -> Iterator[tuple[int, str]]:
    tags = ["family", "friends", "work", "climbing", "book club", "neighbours"]
    for cid in range(1, count + 1):
        for tag in rng.sample(tags, rng.choice([0, 0, 1, 1, 2, 3])):
            yield (cid, tag)


def volumes(rng: random.Random, contacts: int, total: int) -> list[int]:
    """Interactions per contact: heavy-tailed (a few close people, many occasional ones), 5%
    never in touch, nobody above 1% of the total; adds up to `total`."""
    weights = [0.0 if rng.random() < 0.05 else rng.paretovariate(1.2) for _ in range(contacts)]
    cap = max(1, total // 100)
    counts = [0] * contacts
    for _ in range(10):  # scale, cap, and share what the capped ones could not take
        free = [i for i, w in enumerate(weights) if w and counts[i] < cap]
        left = total - sum(counts)
        if not free or left <= 0:
            break
        scale = left / sum(weights[i] for i in free)
        for i in free:
            counts[i] = min(cap, counts[i] + max(1, int(weights[i] * scale)))
    active = [i for i, w in enumerate(weights) if w]
    while sum(counts) != total:  # the rounding, one at a time, on random people
        i = rng.choice(active)
        step = 1 if sum(counts) < total else -1
        if 1 <= counts[i] + step <= cap:
            counts[i] += step
    return counts


def interaction_rows(rng: random.Random, counts: list[int], as_of: date) -> list[tuple[Any, ...]]:
    """Rows for `interactions`, in date order (as a sync appends them), ids from 1."""
    end = datetime.combine(as_of, datetime.min.time(), UTC)
    span = timedelta(days=365 * YEARS).total_seconds()
    stamps: list[tuple[float, int, int]] = []
    for cid, count in enumerate(counts, 1):
        # Each person has an active stretch; a third went quiet a while ago (fading), some
        # started recently. Times are uniform inside it: cadence = stretch / count.
        start = rng.random() * 0.5 * span if rng.random() < 0.3 else 0.0
        stop = span - (rng.random() * 0.4 * span if rng.random() < 0.33 else 0.0)
        for n in range(count):
            stamps.append((start + rng.random() * (stop - start), cid, n))
    stamps.sort()
    out_share = {cid: rng.random() for cid in range(1, len(counts) + 1)}
    rows = []
    for index, (offset, cid, n) in enumerate(stamps, 1):
        moment = end - timedelta(seconds=span - offset)
        rows.append(_interaction(rng, index, cid, n, moment, out_share[cid]))
    return rows


def _interaction(
    rng: random.Random, index: int, cid: int, n: int, moment: datetime, out_share: float
) -> tuple[Any, ...]:
    roll = rng.random()
    audience = 1 if roll < 0.8 else rng.randint(2, 3) if roll < 0.9 else rng.randint(5, 40)
    day = (moment.date() - EPOCH).days
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if rng.random() < 0.02:  # logged by hand
        return (index, cid, rng.choice(["call", "meeting"]), None, stamp, day, None, None,
                None, 1)  # fmt: skip
    direction = "out" if rng.random() < out_share else "in"
    subject = None if rng.random() < 0.05 else " ".join(rng.sample(WORDS, 3))
    key = f"<{cid}.{n}.{index}@mail.example.org>"
    return (index, cid, "email", direction, stamp, day, key, key[1:-1], subject, audience)


def build_store(path: Path, args: argparse.Namespace) -> dict[str, float]:
    """Create and fill the store; return seconds per step."""
    rng = random.Random(args.seed)
    steps: dict[str, float] = {}
    started = time.perf_counter()
    store = Store.open(path)
    contacts = contact_rows(rng, args.contacts, args.as_of)
    rows = interaction_rows(rng, volumes(rng, args.contacts, args.interactions), args.as_of)
    steps["generate"] = time.perf_counter() - started
    started = time.perf_counter()
    conn = store.db.conn
    with store.atomic():
        conn.executemany(
            "INSERT INTO contacts (id, name, every_days, birthday, snoozed_until, muted, "
            "created_at) VALUES (?,?,?,?,?,?,?)",
            contacts,
        )
        conn.executemany(
            "INSERT INTO addresses (address, contact_id) VALUES (?,?)",
            address_rows(rng, args.contacts),
        )
        conn.executemany(
            "INSERT INTO contact_tags (contact_id, tag) VALUES (?,?)", tag_rows(rng, args.contacts)
        )
        conn.executemany(
            "INSERT INTO interactions (id, contact_id, kind, direction, date, day, message_key, "
            "message_id, subject, audience) VALUES (?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
    store.close()
    steps["insert"] = time.perf_counter() - started
    return steps


# --- measuring -------------------------------------------------------------------------------


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, list[float], Any]:
    """(first call, the following `repeat` calls, last result)."""
    started = time.perf_counter()
    result = fn()
    first = time.perf_counter() - started
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return first, times, result


def store_queries(store: Store, as_of: date) -> dict[str, Callable[[], Any]]:
    """Each store call `gather` makes for `analyse`, with the arguments it passes: the days
    with contact only for those who may be fading (summary/inputs.py)."""
    today = (as_of - EPOCH).days
    minimum = AnalysisConfig().one_sided_count
    ids = sorted(gather(store, as_of, AnalysisConfig()).days)
    print(f"  (days with contact read for {len(ids)} contacts who may be fading)")
    return {
        "contacts": store.contacts.all,
        "latest_interactions": lambda: store.history.latest(today),
        "days_with_contact": lambda: store.history.days(today - WINDOW_DAYS, today, ids),
        "latest_subjects": lambda: store.history.latest_subjects(today, ids),
        "unanswered_runs": lambda: store.history.unanswered_runs(today, minimum),
        "unanswered": lambda: store.history.unanswered(today),
    }


def python_only(store: Store, args: argparse.Namespace, settings: AnalysisConfig) -> list[float]:
    """`analyse`'s own time: the pure analysis over inputs gathered once."""
    inputs = gather(store, args.as_of, settings)
    _first, times, _result = timed(lambda: analyse(inputs, args.as_of, settings), 5)
    return times


def query_plans(store: Store, queries: dict[str, Callable[[], Any]]) -> dict[str, list[str]]:
    """EXPLAIN QUERY PLAN of the SELECTs each store call sends, captured as they are sent."""
    conn = store.db.conn
    plans = {}
    for name, call in queries.items():
        sent: list[str] = []
        conn.set_trace_callback(sent.append)
        try:
            call()
        finally:
            conn.set_trace_callback(None)
        lines = []
        for statement in sent:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            depth: dict[int, int] = {0: 0}
            for node, parent, _unused, detail in conn.execute("EXPLAIN QUERY PLAN " + statement):
                depth[node] = depth.get(parent, 0) + 1
                lines.append("  " * depth[node] + detail)
        plans[name] = lines
    return plans


def cli_report(config: Path, as_of: date, repeat: int) -> tuple[list[float], dict[str, Any]]:
    command = [sys.executable, "-m", "kithkin.daemon", "--config", str(config)]
    command += ["report", "--json", "--as-of", as_of.isoformat()]
    times, output = [], ""
    for _ in range(repeat):
        started = time.perf_counter()
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        times.append(time.perf_counter() - started)
    return times, json.loads(output)


def startup(repeat: int) -> float:
    command = [sys.executable, "-m", "kithkin.daemon", "--version"]
    best = math.inf
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        best = min(best, time.perf_counter() - started)
    return best


# --- output ----------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.1f} ms"


def describe_store(store: Store) -> str:
    one = store.db.conn.execute
    contacts = one("SELECT count(*) FROM contacts").fetchone()[0]
    interactions = one("SELECT count(*) FROM interactions").fetchone()[0]
    muted = one("SELECT count(*) FROM contacts WHERE muted").fetchone()[0]
    snoozed = one("SELECT count(*) FROM contacts WHERE snoozed_until IS NOT NULL").fetchone()[0]
    birthdays = one("SELECT count(*) FROM contacts WHERE birthday IS NOT NULL").fetchone()[0]
    audience = one(
        "SELECT sum(audience = 1), sum(audience BETWEEN 2 AND 3), sum(audience >= 5), "
        "sum(kind != 'email'), min(date), max(date) FROM interactions"
    ).fetchone()
    top = one(
        "SELECT max(n), min(n) FROM (SELECT count(*) AS n FROM interactions GROUP BY contact_id)"
    ).fetchone()
    return (
        f"store: {contacts} contacts ({muted} muted, {snoozed} snoozed, {birthdays} birthdays), "
        f"{interactions} interactions {audience[4][:10]} .. {audience[5][:10]}\n"
        f"       audience 1: {audience[0]}, 2-3: {audience[1]}, 5-40: {audience[2]}; "
        f"manual: {audience[3]}; per contact {top[1]}..{top[0]}"
    )


def summarise(report: dict[str, Any]) -> str:
    return ", ".join(
        f"{key} {len(report[key])}"
        for key in ("fading", "awaiting_reply", "one_sided", "birthdays", "never_in_touch")
    )


def run(args: argparse.Namespace, directory: Path) -> None:
    path = directory / "kithkin.db"
    steps = build_store(path, args)
    print(f"built in {steps['generate']:.1f} s (generate) + {steps['insert']:.1f} s (insert)")
    settings = AnalysisConfig()
    store = Store.open(path)
    try:
        print(describe_store(store))
        first, times, report = timed(lambda: report_for(store, args.as_of, settings), args.repeat)
        queries = store_queries(store, args.as_of)
        query_times = {name: timed(call, args.repeat) for name, call in queries.items()}
        plans = query_plans(store, queries)
        python = python_only(store, args, settings)
    finally:
        store.close()
    config = directory / "config.toml"
    config.write_text(f'[me]\naddresses = ["{ME}"]\n\n[store]\npath = "{path}"\n')
    cli_times, cli_json = cli_report(config, args.as_of, max(3, args.repeat // 2))
    best = min(times)

    print(f"\nanalyse(store, {args.as_of}, AnalysisConfig()), in-process:")
    print(f"  first call {ms(first)}; next {args.repeat}: min {ms(best)}, ", end="")
    print(f"median {ms(statistics.median(times))}")
    print(f"  result: {summarise(report.as_json())}")
    print("\nstore queries it runs (min / median of the repeats; share of analyse's min):")
    for name, (_first, qtimes, _result) in query_times.items():
        share = min(qtimes) / best * 100
        print(f"  {name:<20} {ms(min(qtimes))} {ms(statistics.median(qtimes))}  {share:5.1f}%")
    if python is not None:
        print(
            f"  {'Python in analyse':<20} {ms(min(python))} {ms(statistics.median(python))}", end=""
        )
        print("  (the store replaced by the queries' results)")
    print("\nEXPLAIN QUERY PLAN:")
    for name, lines in plans.items():
        print(f"  {name}:")
        for line in lines:
            print(f"    {line}")
    print(f"\n`kithkin report --json --as-of {args.as_of}` (whole process, {len(cli_times)} runs):")
    print(f"  min {ms(min(cli_times))}, median {ms(statistics.median(cli_times))}; ", end="")
    print(f"start-up alone (`kithkin --version`) {ms(startup(3))}")
    print(f"  result: {summarise(cli_json)}")
    print()
    for label, seconds in (("analyse()", best), ("kithkin report CLI", min(cli_times))):
        verdict = "PASS" if seconds < TARGET_SECONDS else "FAIL"
        print(f"{verdict}: {label} {seconds:.3f} s for {args.contacts} contacts and ", end="")
        print(f"{args.interactions} interactions (target < {TARGET_SECONDS:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7, help="timed calls after the first")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2024, 6, 1))
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]}, SQLite {sqlite_version()}")
    with tempfile.TemporaryDirectory(prefix="kithkin-bench-report-") as tmp:
        run(args, Path(tmp))
    return 0


def sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


if __name__ == "__main__":
    sys.exit(main())
