"""Telling people from machines, and one person's addresses from each other's.

For `kithkin suggest`, which reads who the owner corresponds with and proposes them as
contacts. Pure text rules on normalised addresses (`addresses.normalise_address`) and
cleaned display names; nothing here reads mail.

- `is_role_address`: no-reply senders, mailer daemons and role mailboxes (`info@`,
  `support@`, `billing@`, `notifications@` ...), which are not a person to keep up with.
- `alias_key`: the mailbox an address delivers to, so `ann+shop@x` is `ann@x` and Gmail's
  `a.n.n@gmail.com` is `ann@gmail.com`.
- `loose_name`: a display name compared loosely (case, accents, punctuation, spacing, word
  order), so `Zoë Ångström` and `angstrom, zoe` are one person; "" for a name too thin to
  say so (one word, or an address written as a name).
- `list_id_of`: the List-Id a mailing list's own address goes with (`dev@lists.x.org` and
  `<dev.lists.x.org>`, as Mailman, Sympa and Google Groups write them).
"""

from __future__ import annotations

import re
import unicodedata

# Local parts (before any +tag) of mailboxes that no person reads as their own.
ROLE_LOCAL_PARTS = frozenset(
    {
        "abuse", "accounts", "admin", "administrator", "alerts", "billing", "bounce",
        "bounces", "careers", "customerservice", "customer-service", "daemon", "feedback",
        "help", "helpdesk", "hostmaster", "info", "invoice", "invoices", "jobs", "listserv",
        "mailer", "mailerdaemon", "majordomo", "marketing", "news", "newsletter",
        "newsletters", "nobody", "noc", "notice", "notices", "notification", "notifications",
        "notify", "orders", "postmaster", "privacy", "receipts", "reply", "root", "sales",
        "security", "service", "support", "system", "updates", "webmaster",
    }
)  # fmt: skip
# Anywhere in a local part: no person's address says this.
_NO_REPLY = re.compile(r"no[-_.]?reply|do[-_.]?not[-_.]?reply|dont[-_.]?reply|mailer[-_.]daemon")
# A local part starting or ending so is a role (`notifications-github`, `dev-request`).
ROLE_PREFIXES = ("notification", "newsletter", "bounce", "alert", "postmaster")
ROLE_SUFFIXES = ("-owner", "-request", "-bounces", "-bounce", "-notifications", "-admin")
# Domains whose mail is delivered to one mailbox whatever the dots in the local part.
DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def _local_and_domain(address: str) -> tuple[str, str]:
    local, _, domain = address.rpartition("@")
    return local, domain


def _base(local: str) -> str:
    """The local part without its +tag (`ann+shop` -> `ann`); a bare `+x` stays as it is."""
    base = local.split("+", 1)[0]
    return base or local


def is_role_address(address: str) -> bool:
    """Whether a normalised address is a no-reply sender or a role mailbox, not a person."""
    local, _ = _local_and_domain(address)
    base = _base(local)
    return (
        base in ROLE_LOCAL_PARTS
        or _NO_REPLY.search(local) is not None
        or base.startswith(ROLE_PREFIXES)
        or base.endswith(ROLE_SUFFIXES)
    )


def alias_key(address: str) -> str:
    """The mailbox a normalised address delivers to: without +tag, Gmail without dots."""
    local, domain = _local_and_domain(address)
    base = _base(local)
    if domain in DOTLESS_DOMAINS:
        domain = DOTLESS_DOMAINS[domain]
        base = base.replace(".", "") or base
    return f"{base}@{domain}"


_WORD = re.compile(r"\w+")


def loose_name(name: str) -> str:
    """A display name for comparing: accents dropped, case folded, words sorted; "" when it
    is fewer than two words or holds an address (too thin to say two addresses are one)."""
    if not name or "@" in name:
        return ""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    words = _WORD.findall(bare.casefold())
    if len(words) < 2:
        return ""
    return " ".join(sorted(words))


def list_id_of(address: str) -> str:
    """The List-Id (bare, as `message_ids.list_id` gives it) a list's own address has."""
    local, domain = _local_and_domain(address)
    return f"{local}.{domain}"
