"""Which messages that look like replies are taken for replies: a valid token, dated after
the summary it answers (else a replay), and, with `[summary] reply_authserv_id`, an
Authentication-Results field of the owner's own receiving server saying DKIM or SPF passed
for the owner's domain. A message that fails leaves nothing behind but a count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kithkin.daemon.config import Config
from kithkin.daemon.steering.tokens import TOKEN_VALID_DAYS, tokens_in
from kithkin.daemon.store import Store
from kithkin.parsers import authresults
from kithkin.parsers.headers import MessageFacts

IGNORED = {  # why a message that looked like a reply was not taken for one -> status wording
    "no_valid_token": "without a valid token",
    "before_summary": "dated before its summary",
    "unauthenticated": "failing the Authentication-Results check",
}
_IGNORED_COUNTER = "replies.ignored."


@dataclass(frozen=True)
class ReplyPolicy:
    """What a reply must pass besides sender, token and date. With `authserv_ids` (the
    owner's receiving servers), an Authentication-Results field written by one of them saying
    DKIM or SPF passed for one of `domains` (the owner's); with none, no such check."""

    authserv_ids: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()


UNCHECKED = ReplyPolicy()


def reply_policy(config: Config) -> ReplyPolicy:
    """`[summary] reply_authserv_id` and the domains of `[me] addresses`."""
    return ReplyPolicy(
        frozenset(config.summary.reply_authserv_ids),
        frozenset(address.rpartition("@")[2] for address in config.me),
    )


def refusal(
    store: Store,
    facts: MessageFacts,
    raw_message: bytes | None,
    token: str | None,
    policy: ReplyPolicy,
) -> str | None:
    """Why a message that looks like a reply is not taken for one (a key of IGNORED), or
    None. A reply must carry a valid token, be dated after the summary whose token it carries
    was made (an older message with a token is a replay), and pass the policy."""
    if token is None:
        return "no_valid_token"
    made = store.summaries.created_at(token)
    if made is None or facts.date is None or facts.date <= made:
        return "before_summary"
    if policy.authserv_ids and not authresults.passes_for(
        authresults.fields(raw_message or b""), policy.authserv_ids, policy.domains
    ):
        return "unauthenticated"
    return None


def ignored_counts(store: Store) -> dict[str, int]:
    """How many messages were not taken for replies, by reason (all that is kept of them)."""
    return {reason: int(store.meta.get(_IGNORED_COUNTER + reason) or 0) for reason in IGNORED}


def describe_ignored(counts: dict[str, int]) -> str | None:
    parts = [f"{count} {IGNORED[reason]}" for reason, count in counts.items() if count]
    if not parts:
        return None
    return "Messages not taken for replies to a summary: " + ", ".join(parts)


def count_ignored(store: Store, reason: str) -> None:
    """All that is kept of a message not taken for a reply (caller's transaction)."""
    store.meta.increment(_IGNORED_COUNTER + reason)


def valid_token(facts: MessageFacts, store: Store, now: datetime) -> str | None:
    """The token of a summary made in the last TOKEN_VALID_DAYS that `facts` refers to."""
    known = store.summaries.tokens_since(now - timedelta(days=TOKEN_VALID_DAYS))
    return next((token for token in tokens_in(facts) if token in known), None)
