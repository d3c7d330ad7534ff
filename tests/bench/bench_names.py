"""Finding contacts by name in a big book: resolving a name, a typo with its suggestions, the
duplicate check of `contacts add`, and a 50-line reply, with N contacts.

Run: `python tests/bench/bench_names.py [N]` (default 10,000 contacts, with accents, shared
first names and nicknames). Each figure is the best of 3 runs. A script, not a test: nothing
here asserts on time.
"""

from __future__ import annotations

import contextlib
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from kithkin.daemon import book
from kithkin.daemon.core.names import NameIndex
from kithkin.daemon.steering.commands import apply_commands
from kithkin.daemon.store import Store

FIRST = ["Ann", "Bob", "Chloé", "Dmitri", "Eve", "François", "Grace", "Hiro", "Inès",
         "Jürgen", "José", "Łukasz", "Søren", "Zoë", "Ana", "Lena", "Mateo", "Noor", "Olu",
         "Priya"]  # fmt: skip
LAST = ["Smith", "Müller", "O'Neil", "Nakamura", "Dubois", "Kowalski", "Okafor", "Lind",
        "García", "Ørsted", "Straße", "Nguyen", "Haddad", "Rossi", "Novák", "Silva"]  # fmt: skip
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def best(label: str, work: Callable[[], object], runs: int = 3) -> None:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    print(f"{label:<52} {min(times) * 1000:8.1f} ms")


def fill(store: Store, count: int) -> list[str]:
    rng = random.Random(7)
    names = []
    with store.atomic():
        for n in range(count):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}-{n}"
            nickname = f"{rng.choice(FIRST)[:3]}{n}" if n % 5 == 0 else None
            store.contacts.add(name, [f"p{n}@example.org"], nickname=nickname, now=NOW)
            names.append(name)
    return names


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as directory, Store.open(Path(directory) / "k.db") as store:
        names = fill(store, count)
        target = names[count // 2]
        print(f"{count} contacts")
        best("store.contacts.all()", store.contacts.all)
        contacts = store.contacts.all()
        best("NameIndex(contacts): fold and index every name", lambda: NameIndex(contacts))
        index = NameIndex(contacts)
        best("index.find(full name)", lambda: index.find(target))
        best("index.find('a'): the start of thousands", lambda: index.find("a"))
        best("index.closest('Lukasz Mülerr-77'): a typo", lambda: index.closest("Lukasz Mülerr-77"))
        best("index.closest('Xq'): too short to guess", lambda: index.closest("Xq"))
        best(
            "resolve_contact(full name), store read included",
            lambda: book.resolve_contact(store, target),
        )
        best("resolve_contact(address)", lambda: book.resolve_contact(store, "p77@example.org"))

        def unknown() -> None:
            with contextlib.suppress(book.UnknownName):
                book.resolve_contact(store, "Lukasz Mülerr-77")

        best("resolve_contact(typo) with suggestions", unknown)
        best("refuse_duplicate (contacts add)", lambda: book.refuse_duplicate(store, "Zed Nobody"))
        lines = [f"mute {names[n * 97 % count]}" for n in range(25)]
        lines += [f"snooze {names[n * 31 % count].split('-')[0]} 3w" for n in range(25)]

        def reply() -> None:
            with store.atomic():
                apply_commands(store, lines, day=date(2026, 11, 25), now=NOW)

        best("a reply of 50 lines (25 found, 25 ambiguous)", reply)


if __name__ == "__main__":
    main()
