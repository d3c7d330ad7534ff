"""How long a first sync (from an empty store) may take: an estimate, not a promise.

PER_MESSAGE is measured, not guessed: `tests/bench/bench_sync.py --messages 30000` (a private
Dovecot on loopback, 10% of the mail with contacts, a 2-core machine shared with other work)
timed `kithkin sync` at 1.73 to 1.77 s for 30,000 messages: 58 to 59 µs a message in wall
time, process start-up and login included (45 to 54 µs of it the client's CPU). 60 µs it is.
A distant server adds round trips: three per folder (STATUS, EXAMINE with the first listing,
the rest of the listing), and one per PIPELINE_DEPTH + 1 header FETCHes of FETCH_BATCH
messages, since that many are in flight at once. Not counted: the server's own speed beyond
Dovecot's on loopback, and the bandwidth (about 430 bytes of headers a message).
"""

from __future__ import annotations

import math

from kithkin.daemon.sync.batches import FETCH_BATCH, PIPELINE_DEPTH

PER_MESSAGE = 60e-6  # seconds of a first sync per message on loopback (see above)
ROUND_TRIPS_PER_FOLDER = 3


def first_sync_seconds(messages: int, folders: int, round_trip: float) -> float:
    """Seconds a first sync of `messages` in `folders` may take at `round_trip` seconds."""
    batches = math.ceil(messages / FETCH_BATCH)
    round_trips = folders * ROUND_TRIPS_PER_FOLDER + math.ceil(batches / (PIPELINE_DEPTH + 1))
    return messages * PER_MESSAGE + round_trips * round_trip


def duration(seconds: float) -> str:
    """About how long, in words a person reads at a glance: "under a second", "about 40
    seconds", "about 7 minutes", "about 2.5 hours"."""
    if seconds < 1:
        return "under a second"
    if seconds < 90:
        whole = round(seconds)
        return f"about {whole} second{'s' if whole != 1 else ''}"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} minutes"
    return f"about {seconds / 3600:.1f} hours"
