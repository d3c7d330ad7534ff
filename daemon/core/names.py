"""Names as people type them: folded for comparison, found by a few rules in order, and the
closest names for a query that finds nobody. Pure: contacts in, contacts out.

Folding ignores case, accents, spacing and punctuation: `jose` is José, `ORSTED` is Ørsted,
`muller` is Müller, `jean luc` is Jean-Luc, `oneil` is O'Neil (casefold, then NFKD with the
combining marks dropped, plus a table for letters that have no decomposition: ø, ł, đ, æ,
œ, þ...). The rules, first that finds anyone wins:

    1. the whole name             4. the start of the name or of the nickname
    2. the nickname               5. the start of a word of either ("Lovel" -> Ada Lovelace)
    3. the first name

An index is built once per command (or per reply) from every contact; each rule is then a
dictionary or a binary search, so 10,000 contacts cost milliseconds, not comparisons.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from kithkin.daemon.core.records import Contact

# Letters NFKD leaves whole, as a reader of the name would type them on a plain keyboard;
# hyphens and dashes part words (Jean-Luc is Jean Luc), apostrophes, dots and commas go
# (O'Neil is ONeil, "Lovelace, A." is Lovelace A).
_LETTERS = {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe",
            "ħ": "h", "ı": "i", "ŀ": "l", "ŧ": "t", "ŋ": "n", "ĸ": "k", "ƒ": "f", "ß": "ss",
            "ſ": "s"}  # fmt: skip
_BREAKS = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_DROPPED = "'\u2018\u2019\u02bc.,"
_ASCII = str.maketrans({"-": " ", "'": None, ".": None, ",": None})
MAX_SUGGESTIONS = 3


class _Folding(dict[int, str | None]):
    """What each character becomes after NFKD, worked out once per character (for at most
    _CACHED of them, whatever the names hold)."""

    _CACHED = 20_000

    def __missing__(self, code: int) -> str | None:
        char = chr(code)
        if char in _LETTERS:
            value: str | None = _LETTERS[char]
        elif char in _BREAKS:
            value = " "
        else:  # combining marks, and format characters: zero-width joiners, soft hyphens...
            invisible = unicodedata.combining(char) or unicodedata.category(char) == "Cf"
            value = None if char in _DROPPED or invisible else char
        if len(self) < self._CACHED:
            self[code] = value
        return value


_FOLDING = _Folding()


def fold(text: str) -> str:
    """`  José  GARCÍA ` -> `jose garcia`: the form every comparison of names is made in."""
    if text.isascii():
        return " ".join(text.lower().translate(_ASCII).split())
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join(decomposed.translate(_FOLDING).split())


@dataclass(frozen=True)
class _Entry:
    contact: Contact
    name: str
    nickname: str
    words: tuple[str, ...]


class NameIndex:
    """Every contact's folded name, nickname, first name and words, for the rules above."""

    def __init__(self, contacts: Iterable[Contact]) -> None:
        self._entries: list[_Entry] = []
        self._by_name: dict[str, list[int]] = {}
        self._by_nickname: dict[str, list[int]] = {}
        self._by_first: dict[str, list[int]] = {}
        for position, contact in enumerate(contacts):
            name = fold(contact.name)
            nickname = fold(contact.nickname or "")
            entry = _Entry(contact, name, nickname, (*name.split(), *nickname.split()))
            self._entries.append(entry)
            self._by_name.setdefault(name, []).append(position)
            if nickname:
                self._by_nickname.setdefault(nickname, []).append(position)
            if name:
                self._by_first.setdefault(entry.words[0], []).append(position)

    @cached_property
    def _starts(self) -> list[tuple[str, int]]:
        """(name or nickname, position), sorted: for the searches by the start of a name."""
        starts = [(entry.name, position) for position, entry in enumerate(self._entries)]
        starts += [(e.nickname, position) for position, e in enumerate(self._entries) if e.nickname]
        return sorted(starts)

    @cached_property
    def _words(self) -> list[tuple[str, int]]:
        """(a word of a name or nickname, position), sorted."""
        return sorted(
            (word, position) for position, e in enumerate(self._entries) for word in e.words
        )

    def __len__(self) -> int:
        return len(self._entries)

    def find(self, query: str) -> list[Contact]:
        """The contacts the first rule that finds anyone finds, in the book's order."""
        folded = fold(query)
        if not folded:
            return []
        for positions in self._rules(folded):
            if positions:
                return self._contacts(positions)
        return []

    def _rules(self, folded: str) -> Iterator[list[int]]:
        """What each rule finds, in order, each worked out only when asked for."""
        yield self._by_name.get(folded, [])
        yield self._by_nickname.get(folded, [])
        yield self._by_first.get(folded, [])
        yield _starting(self._starts, folded)
        yield _starting(self._words, folded)

    def exact(self, text: str) -> list[Contact]:
        """The contacts whose whole name is `text`, else whose nickname is."""
        folded = fold(text)
        return self._contacts(self._by_name.get(folded) or self._by_nickname.get(folded, []))

    def named(self, name: str) -> list[Contact]:
        """The contacts with this name (folded): the ones a new contact would duplicate."""
        return self._contacts(self._by_name.get(fold(name), []))

    def mentioned(self, word: str) -> set[int]:
        """The ids of every contact that rule 4 or 5 finds by `word`."""
        folded = fold(word)
        if not folded:
            return set()
        positions = _starting(self._starts, folded) + _starting(self._words, folded)
        return {self._entries[position].contact.id for position in positions}

    def closest(self, query: str, limit: int = MAX_SUGGESTIONS) -> list[Contact]:
        """Up to `limit` contacts whose name, nickname or a word of either is within a few
        edits of `query` (one for up to 4 letters, two up to 8, three beyond), the closest
        first; none for a query of one or two letters. Each distinct key is compared once."""
        folded = fold(query)
        if len(folded) <= 2:
            return []
        bound = 1 if len(folded) <= 4 else 2 if len(folded) <= 8 else 3
        keys: dict[str, list[int]] = {}
        for position, entry in enumerate(self._entries):
            for key in (entry.name, entry.nickname, *entry.words):
                if key and abs(len(key) - len(folded)) <= bound:
                    keys.setdefault(key, []).append(position)
        best: dict[int, int] = {}
        for key, positions in keys.items():
            distance = edit_distance(folded, key, bound)
            if distance is None:
                continue
            for position in positions:
                best[position] = min(distance, best.get(position, distance))
        ranked = sorted(best, key=lambda position: (best[position], position))
        return [self._entries[position].contact for position in ranked[:limit]]

    def _contacts(self, positions: Iterable[int]) -> list[Contact]:
        return [self._entries[position].contact for position in sorted(set(positions))]


def _starting(keys: list[tuple[str, int]], prefix: str) -> list[int]:
    """The positions of every key that starts with `prefix` (keys sorted)."""
    found = []
    at = bisect_left(keys, (prefix, -1))
    while at < len(keys) and keys[at][0].startswith(prefix):
        found.append(keys[at][1])
        at += 1
    return found


def edit_distance(a: str, b: str, bound: int) -> int | None:
    """Edits (insert, delete, replace, swap two neighbours) from `a` to `b`, or None when
    more than `bound`. Bounded work: letters of one missing from the other rule a pair out at
    once, only cells within `bound` of the diagonal are computed, and the work stops at the
    first row that is over the bound everywhere."""
    if abs(len(a) - len(b)) > bound or len(set(a) - set(b)) > bound:
        return None
    over = bound + 1
    before: list[int] = []
    row = [j if j <= bound else over for j in range(len(b) + 1)]
    for i, char in enumerate(a, 1):
        low, high = max(1, i - bound), min(len(b), i + bound)
        current = [over] * (len(b) + 1)
        current[0] = i if i <= bound else over
        for j in range(low, high + 1):
            other = b[j - 1]
            cost = 0 if char == other else 1
            value = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + cost)
            if i > 1 and j > 1 and char == b[j - 2] and a[i - 2] == other:
                value = min(value, before[j - 2] + 1)
            current[j] = min(value, over)
        if min(current[max(0, low - 1) : high + 1]) > bound:
            return None
        before, row = row, current
    return row[-1] if row[-1] <= bound else None
