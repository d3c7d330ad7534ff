"""Summary tokens, and the first looks at a message that might be a reply to a summary.

Every summary carries a random 128-bit token: in its Message-ID
(`<summary.TOKEN@kithkin.invalid>`, which replies quote in In-Reply-To and References) and in
the Subject of the prefilled reply links (`[TOKEN]`). Pure: headers in, answers out.
"""

from __future__ import annotations

import re
import secrets

from kithkin.parsers.headers import HeaderBlock, MessageFacts

TOKEN_VALID_DAYS = 30
MESSAGE_ID_DOMAIN = "kithkin.invalid"
_SUMMARY_ID = re.compile(r"summary\.([0-9a-f]{32})@" + re.escape(MESSAGE_ID_DOMAIN), re.IGNORECASE)
_SUBJECT_TOKEN = re.compile(r"\[([0-9a-f]{32})\]", re.IGNORECASE)
_LOOKS_LIKE_REPLY = re.compile(r"^\s*(re|aw|sv|antw|vs)\s*:.*\bkithkin\b", re.IGNORECASE)


def new_token() -> str:
    """The random, unguessable token a summary carries (128 bits, hex)."""
    return secrets.token_hex(16)


def summary_message_id(token: str) -> str:
    return f"<summary.{token}@{MESSAGE_ID_DOMAIN}>"


def tokens_in(facts: MessageFacts) -> list[str]:
    """Every summary token a message refers to, from its headers."""
    found = []
    for reference in (*facts.in_reply_to, *facts.references):
        match = _SUMMARY_ID.search(reference)
        if match:
            found.append(match.group(1).lower())
    found += [token.lower() for token in _SUBJECT_TOKEN.findall(facts.subject)]
    return list(dict.fromkeys(found))


def owner_to_owner(message: HeaderBlock | MessageFacts, me: frozenset[str]) -> bool:
    """From the owner and to the owner only: what a reply to a summary always is. (Mail
    from the owner to anyone else is never read as one, so nothing of it is recorded.)"""
    recipients = message.to + message.cc + message.bcc
    return (
        bool(message.from_)
        and bool(recipients)
        and all(mailbox.address in me for mailbox in (*message.from_, *recipients))
    )


def may_be_summary_reply(block: HeaderBlock, me: frozenset[str]) -> bool:
    """A cheap first look at an undecoded block: owner to owner, and something in its
    references or subject that could be a summary's token (or is still encoded)."""
    if not owner_to_owner(block, me):
        return False
    subject = block.raw("subject")
    text = (block.raw("in-reply-to") + block.raw("references") + subject).lower()
    return "kithkin" in text or "=?" in subject or bool(_SUBJECT_TOKEN.search(subject))


def looks_like_summary_reply(facts: MessageFacts, me: frozenset[str]) -> bool:
    """Worth a look: from the owner, and it refers to a summary or is a "Re: ...Kithkin...".

    Kithkin's own summaries (with the X-Kithkin-Summary header) are not replies.
    """
    if facts.kithkin_summary or not owner_to_owner(facts, me):
        return False
    return bool(tokens_in(facts)) or bool(_LOOKS_LIKE_REPLY.search(facts.subject))
