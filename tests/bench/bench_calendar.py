"""Reading calendars: a vdir of N event files (one in ten with a contact, a quarter of them
weekly), read the first time, again unchanged, and after one file changed (as `kithkin
sync` does, and as the service does with its memo of each file); and one .ics of the same
events.

Run: `python tests/bench/bench_calendar.py [N]` (default 2,000). This is a script, not a
test: nothing here asserts on time.
"""

from __future__ import annotations

import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from icsbuilder import ME, calendar, event, write_vdir

from kithkin.daemon.calendar.reader import CalendarMemo, read_calendars
from kithkin.daemon.config.calendar import CalendarConfig
from kithkin.daemon.store import Store

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def events(count: int) -> dict[str, str]:
    rng = random.Random(14)
    found = {}
    for index in range(count):
        start = NOW - timedelta(days=rng.uniform(0, 700), hours=rng.randint(0, 9))
        contact = index % 10 == 0
        people = [f"c{index % 50}@example.org"] if contact else [f"s{index}@strangers.example"]
        people += [f"s{index}-{n}@strangers.example" for n in range(rng.randint(0, 4))]
        rule = "FREQ=WEEKLY;COUNT=30" if index % 4 == 0 else None
        uid = f"{index:06d}@bench.example"
        found[uid] = event(uid, start.replace(microsecond=0), attendees=people, rrule=rule,
                           summary=f"Event {index}")  # fmt: skip
    return found


def timed(
    store: Store, source: Path, label: str, memo: CalendarMemo | None = None, force: bool = False
) -> None:
    start = time.perf_counter()
    settings = CalendarConfig(sources=(source,))
    report = read_calendars(store, settings, [ME], ZoneInfo("UTC"), NOW, memo=memo, force=force)
    took = time.perf_counter() - start
    print(f"  {label:<34} {took:7.3f} s  {report.summary()}")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000
    made = events(count)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        vdir = write_vdir(root / "vdir", made)
        single = root / "all.ics"
        single.write_bytes(calendar(*made.values()))
        print(f"{count:,} events, one in ten with a contact; all.ics {single.stat().st_size:,} B")
        with Store.open(root / "k.db") as store:
            with store.atomic():
                for n in range(50):
                    store.contacts.add(f"C{n}", [f"c{n}@example.org"], now=NOW)
            print(f"vdir of {count:,} files:")
            timed(store, vdir, "first read")
            timed(store, vdir, "unchanged (a listing)")
            first = min(vdir.iterdir())
            first.write_bytes(first.read_bytes())
            timed(store, vdir, "one file rewritten (all read again)")
            memo = CalendarMemo()
            timed(store, vdir, "service: first read, with a memo", memo, force=True)
            first.write_bytes(first.read_bytes())
            timed(store, vdir, "service: one file rewritten", memo)
            print("one .ics file:")
            timed(store, single, "first read (nothing new)")
            timed(store, single, "unchanged")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
