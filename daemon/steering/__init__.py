"""Steering Kithkin by replying to its summary.

A message is a reply to a summary only if it comes from one of the owner's addresses AND
carries the secret token of a summary sent in the last 30 days: in In-Reply-To/References
(the summary's Message-ID holds the token) or in the Subject (the prefilled links put
`[token]` there). A forged From alone does nothing: the token is 128 random bits that only
ever went to the owner. Only then is the body fetched (BODY.PEEK, read-only) and read.

    tokens.py    the tokens, and the first looks at headers (pure)
    policy.py    which messages are taken for replies (date, Authentication-Results)
    commands.py  the commands applied, recorded by contact id
    journal.py   the recorded replies in words
    handling.py  one reply handled: `handle_reply`

Each reply is recorded by its message key in the same transaction as its effects, so it is
applied once, whatever folders it shows up in and however often the service restarts.
May import: core, store, config, book, parsers; never the summary or the mail session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kithkin.daemon.steering.handling import handle_reply

__all__ = ["handle_reply"]


def __getattr__(name: str) -> Any:
    """`handle_reply` imported when first used: tokens.py alone (what a planning child
    needs, sync/planner.py) loads neither the store nor the commands."""
    if name == "handle_reply":
        from kithkin.daemon.steering.handling import handle_reply

        return handle_reply
    raise AttributeError(name)
