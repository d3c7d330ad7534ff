"""Pure: the headers of the owner's mail -> the people they correspond with, ranked, as
suggested contacts (`kithkin suggest`). Nothing here is stored anywhere.

Each message between the owner and someone counts as in `audience.py` (to at most three
people fully, to N > 3 people 3/N) and by its age: fully now, half after a year
(`HALF_LIFE_DAYS`), a quarter after two. Then the exchange counts (`exchange_score`): the
mail that went both ways fully (the smaller side, twice), what the owner wrote beyond it
`ONE_WAY`, what the other side wrote beyond it nothing: a shop or newsletter the owner
once answered writes a lot, and one who only ever wrote to the owner is never suggested.
Lists, automatic mail and Kithkin's own summaries (`matching.
is_excluded`), a list's own address (by its List-Id), role and no-reply addresses
(`parsers.correspondents`), the owner's addresses and anyone already a contact are left out.

Addresses of one person (one mailbox by `alias_key`, or the same display name by
`loose_name`) are one suggestion. Work and memory are bounded whatever the mailbox holds:
at most `MAX_CANDIDATES` addresses are tallied (past it the weakest are dropped), at most
`MAX_NAMES` names each, `MAX_SEEN` message keys (a message in two folders counts once).
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kithkin.daemon.core.audience import audience, weight
from kithkin.daemon.core.dates import as_utc, utc_iso
from kithkin.daemon.core.matching import addresses, is_excluded
from kithkin.parsers.correspondents import alias_key, is_role_address, list_id_of, loose_name
from kithkin.parsers.headers import Address, MessageFacts

ONE_WAY = 0.25  # what mail the owner wrote beyond the other side's counts
HALF_LIFE_DAYS = 365.0  # a message this old counts half
MAX_CANDIDATES = 4000  # addresses tallied at most; past it the weakest are dropped
KEEP_AFTER_DROPPING = 3000
MAX_NAMES = 4  # display names kept per address
NAME_LIMIT = 200  # characters of a display name kept
MAX_SEEN = 200_000  # message keys remembered (8-byte hashes), so a copy counts once
MAX_LIST_IDS = 10_000
MAX_OWNER_NAMES = 50


@dataclass
class Tally:
    """One address's mail with the owner so far."""

    address: str
    names: dict[str, int] = field(default_factory=dict)
    sent: int = 0  # messages from the owner to them
    received: int = 0  # messages from them to the owner
    sent_weight: float = 0.0  # by audience and age
    received_weight: float = 0.0
    last_sent: datetime | None = None
    last_received: datetime | None = None

    def strength(self) -> float:
        return exchange_score(self.sent_weight, self.received_weight)

    def keep_before(self) -> tuple[bool, float]:
        """What dropping goes by: people the owner wrote to first, then the strongest."""
        return self.sent > 0, self.strength()

    def top_name(self) -> str:
        return max(self.names.items(), key=lambda item: item[1])[0] if self.names else ""


@dataclass(frozen=True)
class Suggestion:
    """One person to add: every address they wrote from or were written to."""

    name: str
    emails: tuple[str, ...]
    sent: int
    received: int
    last_sent: datetime | None
    last_received: datetime | None
    score: float

    @property
    def last_exchange(self) -> datetime:
        found = [moment for moment in (self.last_sent, self.last_received) if moment]
        return max(found)

    def as_json(self) -> dict[str, Any]:
        def when(moment: datetime | None) -> str | None:
            return utc_iso(moment) if moment else None

        return {
            "name": self.name,
            "emails": list(self.emails),
            "sent": self.sent,
            "received": self.received,
            "last_sent": when(self.last_sent),
            "last_received": when(self.last_received),
            "last_exchange": when(self.last_exchange),
            "score": round(self.score, 3),
        }


@dataclass
class Counts:
    """What was read, for the owner: messages counted and left out, and why."""

    counted: int = 0
    automatic: int = 0  # lists, automatic mail, summaries
    outside: int = 0  # dated before the period, after "now", or not at all
    copies: int = 0  # seen in another folder already
    unrelated: int = 0  # neither from nor to the owner
    dropped: int = 0  # addresses dropped as the weakest, to stay bounded


class Correspondence:
    """Who the owner exchanged mail with, from a stream of `MessageFacts`; bounded."""

    def __init__(
        self,
        *,
        now: datetime,
        start: datetime,
        me: Iterable[str],
        contacts: Iterable[str] = (),
        contact_names: Iterable[str] = (),
        max_candidates: int = MAX_CANDIDATES,
    ) -> None:
        self.now = as_utc(now)
        self.start = as_utc(start)
        self.me = frozenset(me)
        self.me_keys = frozenset(alias_key(address) for address in self.me)
        self.contacts = frozenset(contacts)
        self.contact_keys = frozenset(alias_key(address) for address in self.contacts)
        self.contact_names = frozenset(n for n in map(loose_name, contact_names) if n)
        self.max_candidates = max_candidates
        self.keep = max(1, max_candidates * KEEP_AFTER_DROPPING // MAX_CANDIDATES)
        self.tallies: dict[str, Tally] = {}
        self.seen: set[int] = set()
        self.list_ids: set[str] = set()
        self.owner_names: set[str] = set()  # the owner's own, from their From lines
        self.counts = Counts()

    # --- reading ----------------------------------------------------------------------

    def observe(self, facts: MessageFacts) -> None:
        """Count one message's exchanges with the owner, if it is correspondence."""
        if is_excluded(facts):
            self.counts.automatic += 1
            if facts.list_id and len(self.list_ids) < MAX_LIST_IDS:
                self.list_ids.add(facts.list_id.casefold())
            return
        date = facts.date
        if date is None or date < self.start or date > self.now:
            self.counts.outside += 1
            return
        senders = addresses(facts.from_)
        recipients = addresses(facts.recipients)
        if senders & self.me:
            direction, parties = "out", facts.recipients
            self._owner_names(facts.from_)
        elif recipients & self.me:
            direction, parties = "in", facts.from_
        else:
            self.counts.unrelated += 1
            return
        if self._seen_before(facts.message_key):
            self.counts.copies += 1
            return
        self.counts.counted += 1
        counts = weight(audience(senders, recipients)) * self._recency(date)
        for party in parties:
            if self._candidate(party.address):
                self._count(party, direction, date, counts)
        if len(self.tallies) > self.max_candidates:
            self._drop_weakest()

    def _recency(self, date: datetime) -> float:
        age_days = max(0.0, (self.now - date).total_seconds() / 86400)
        return float(0.5 ** (age_days / HALF_LIFE_DAYS))

    def _candidate(self, address: str) -> bool:
        if address in self.me or address in self.contacts or is_role_address(address):
            return False
        key = alias_key(address)
        return key not in self.me_keys and key not in self.contact_keys

    def _count(self, party: Address, direction: str, date: datetime, counts: float) -> None:
        tally = self.tallies.get(party.address)
        if tally is None:
            tally = self.tallies[party.address] = Tally(party.address)
        name = _display_name(party)
        if name and (name in tally.names or len(tally.names) < MAX_NAMES):
            tally.names[name] = tally.names.get(name, 0) + 1
        if direction == "out":
            tally.sent += 1
            tally.sent_weight += counts
            tally.last_sent = max(tally.last_sent or date, date)
        else:
            tally.received += 1
            tally.received_weight += counts
            tally.last_received = max(tally.last_received or date, date)

    def _owner_names(self, senders: tuple[Address, ...]) -> None:
        for sender in senders:
            if sender.address in self.me and len(self.owner_names) < MAX_OWNER_NAMES:
                name = loose_name(_display_name(sender))
                if name:
                    self.owner_names.add(name)

    def _seen_before(self, key: str) -> bool:
        digest = int.from_bytes(hashlib.blake2b(key.encode("utf-8", "replace"),
                                                digest_size=8).digest(), "big")  # fmt: skip
        if digest in self.seen:
            return True
        if len(self.seen) < MAX_SEEN:
            self.seen.add(digest)
        return False

    def _drop_weakest(self) -> None:
        kept = heapq.nlargest(self.keep, self.tallies.values(), key=Tally.keep_before)
        self.counts.dropped += len(self.tallies) - len(kept)
        self.tallies = {tally.address: tally for tally in kept}

    # --- ranking ----------------------------------------------------------------------

    def suggestions(self, limit: int | None = None) -> list[Suggestion]:
        """The people to suggest, strongest first: at most `limit` of them."""
        tallies = [t for t in self.tallies.values() if list_id_of(t.address) not in self.list_ids]
        found = []
        for group in _people(tallies):
            suggestion = self._suggestion(group)
            if suggestion is not None:
                found.append(suggestion)
        found.sort(key=lambda s: (-s.score, -s.last_exchange.timestamp(), s.name.casefold(),
                                  s.emails))  # fmt: skip
        return found[:limit] if limit is not None else found

    def _suggestion(self, group: list[Tally]) -> Suggestion | None:
        names: dict[str, int] = {}
        for tally in group:
            for name, seen in tally.names.items():
                names[name] = names.get(name, 0) + seen
        loose = {loose_name(name) for name in names} - {""}
        if loose & (self.contact_names | self.owner_names):
            return None  # a contact's, or the owner's, other address
        sent = sum(tally.sent for tally in group)
        received = sum(tally.received for tally in group)
        if sent == 0:
            return None  # only ever wrote to the owner: newsletters, shops, strangers
        ordered = sorted(group, key=lambda t: (-(t.sent + t.received), t.address))
        name = max(names.items(), key=lambda item: item[1])[0] if names else ""
        return Suggestion(
            name=name or name_from_address(ordered[0].address),
            emails=tuple(tally.address for tally in ordered),
            sent=sent,
            received=received,
            last_sent=_latest(tally.last_sent for tally in group),
            last_received=_latest(tally.last_received for tally in group),
            score=exchange_score(
                sum(tally.sent_weight for tally in group),
                sum(tally.received_weight for tally in group),
            ),
        )


def exchange_score(sent: float, received: float) -> float:
    """How much a correspondence counts, from the (weighted) mail each way: what went both
    ways fully, what the owner wrote beyond it ONE_WAY, what they wrote beyond it nothing."""
    both = min(sent, received)
    return 2 * both + ONE_WAY * (sent - both)


def _display_name(party: Address) -> str:
    name = party.name.strip(" '\"")[:NAME_LIMIT].strip()
    return "" if "@" in name else name


def _latest(moments: Iterable[datetime | None]) -> datetime | None:
    found = [moment for moment in moments if moment is not None]
    return max(found) if found else None


def _people(tallies: list[Tally]) -> list[list[Tally]]:
    """Tallies grouped by person: one mailbox (`alias_key`) or one loose display name."""
    parent = list(range(len(tallies)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    first_with: dict[str, int] = {}
    for index, tally in enumerate(tallies):
        for key in (alias_key(tally.address), loose_name(tally.top_name())):
            if not key:
                continue
            other = first_with.setdefault(key, index)
            parent[root(index)] = root(other)
    groups: dict[int, list[Tally]] = {}
    for index, tally in enumerate(tallies):
        groups.setdefault(root(index), []).append(tally)
    return list(groups.values())


def name_from_address(address: str) -> str:
    """A name for someone known only by address: `ada.lovelace@x` -> `Ada Lovelace`, else
    the address itself."""
    local = address.rpartition("@")[0].split("+", 1)[0]
    words = local.replace("_", ".").replace("-", ".").split(".")
    if len(words) >= 2 and all(word.isalpha() for word in words):
        return " ".join(word.capitalize() for word in words)
    return address
