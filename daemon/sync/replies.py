"""The reply stage, after a batch is planned: the owner's possible replies to a summary
are checked for a valid token, only those bodies fetched (BODY.PEEK), and each applied in
its own savepoint of the batch's transaction (a reply that fails is set aside)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, tzinfo

from kithkin.daemon.steering import handle_reply
from kithkin.daemon.steering.policy import ReplyPolicy, valid_token
from kithkin.daemon.store import Store
from kithkin.daemon.sync.failures import caused_by_the_message
from kithkin.daemon.sync.source import MailSource
from kithkin.parsers.headers import MessageFacts

log = logging.getLogger("kithkin.sync")

Answer = tuple[int, MessageFacts, bytes | None, str | None]  # uid, facts, body, token


def read_replies(
    source: MailSource, store: Store, candidates: list[tuple[int, MessageFacts]], now: datetime
) -> list[Answer]:
    """Bodies of the owner's replies carrying a valid summary token; nothing else."""
    fresh = [(uid, f) for uid, f in candidates if not store.replies.seen(f.message_key)]
    if not fresh:
        return []
    tokens = {uid: valid_token(facts, store, now) for uid, facts in fresh}
    bodies = source.fetch_bodies([uid for uid, token in tokens.items() if token])
    return [(uid, facts, bodies.get(uid), tokens[uid]) for uid, facts in fresh]


def apply_replies(
    store: Store,
    answers: list[Answer],
    *,
    now: datetime,
    zone: tzinfo,
    policy: ReplyPolicy,
    before_each: Callable[[int], None],
) -> list[int]:
    """Apply each reply in its own savepoint (the caller holds the transaction); returns the
    UIDs of replies that failed."""
    failed = []
    for uid, facts, body, token in answers:
        if store.replies.seen(facts.message_key):
            continue
        try:
            with store.atomic():
                before_each(uid)
                results = handle_reply(store, facts, body, token, now=now, zone=zone, policy=policy)
            log.info("reply to a summary: %s", results)
        except Exception as exc:
            if not caused_by_the_message(exc):
                raise
            log.debug("UID %s: reply could not be applied", uid, exc_info=True)
            failed.append(uid)
    return failed
