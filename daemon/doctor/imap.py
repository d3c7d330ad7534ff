"""The mailbox: the password's source, the login, what the server offers, the folders a sync
would read and how many messages they hold, and whether INBOX would take the summary.

Read-only like the sync, and more so: LIST, STATUS, CAPABILITY, NOOP, MYRIGHTS and
GETQUOTAROOT, never a SELECT, EXAMINE or APPEND.
"""

from __future__ import annotations

from collections.abc import Callable

from kithkin.daemon.config import ServerConfig
from kithkin.daemon.doctor.estimate import PER_MESSAGE, duration, first_sync_seconds
from kithkin.daemon.doctor.folders import FolderPlan, plan_folders
from kithkin.daemon.doctor.network import server_of
from kithkin.daemon.doctor.results import Result, fail, info, ok, warn
from kithkin.daemon.doctor.runner import Context, secret_of
from kithkin.daemon.errors import CredentialError, MailboxError
from kithkin.daemon.mail.connect import open_client
from kithkin.daemon.mail.credentials import find_secret
from kithkin.daemon.mail.inspection import (
    AppendRoom,
    append_room,
    capabilities,
    folder_listing,
    message_counts,
    round_trip,
)

SUMMARY_BYTES = 256 * 1024  # a summary is far smaller (about 30 KB); room for this is enough
SHOWN_NAMES = 12  # folder names listed in a hint, at most

# What each capability means for Kithkin, present and absent.
CAPABILITIES = {
    "IDLE": ("new mail in INBOX is read within seconds", "new mail is read at each poll"),
    "CONDSTORE": ("not needed by Kithkin", "not needed by Kithkin"),
    "SPECIAL-USE": ("Sent is found by its attribute, in any language", "Sent is found by its name"),
}


def password_check(kind: str) -> Callable[[Context], Result]:
    name = f"{kind} password"

    def check(context: Context) -> Result:
        server = server_of(context.loaded(), kind)
        try:
            found = find_secret(server, context.env)
        except CredentialError as exc:
            if kind == "smtp" and not server.password_command:
                context.secrets[kind] = None  # delivery logs in only where it has one
                return info(
                    name,
                    "none found: the summary is sent without logging in "
                    "(for a relay that needs no login)",
                    "if your server wants a login: `kithkin credentials set smtp` "
                    "or [smtp] password_command",
                )
            return fail(name, str(exc))
        context.secrets[kind] = found
        what = "access token" if server.auth == "xoauth2" else "password"
        return ok(name, f"{what} for {server.username} at {server.host} from {found.source}")

    return check


def check_login(context: Context) -> Result:
    imap = context.bounded(context.loaded().require_imap())
    secret = secret_of(context, "imap")
    if secret is None:
        return fail("imap login", "no password")
    try:
        context.client = open_client(imap, secret)
    except MailboxError as exc:
        return fail("imap login", str(exc), _login_hint(imap, str(exc), context))
    return ok("imap login", f"logged in as {imap.username} ({imap.auth})")


def _login_hint(imap: ServerConfig, failure: str, context: Context) -> str:
    found = context.secrets.get("imap")
    source = found.source if found is not None else "its source"
    if imap.auth == "xoauth2":
        return f"the access token from {source} may have expired, or is not for {imap.username}"
    if "not ASCII" in failure:
        return "the server takes only ASCII passwords here: change the password"
    return f'check [imap] username ("{imap.username}") and the password from {source}'


def check_capabilities(context: Context) -> Result:
    context.capabilities = found = capabilities(context.connection())
    parts = []
    for capability, (present, absent) in CAPABILITIES.items():
        has = capability in found
        parts.append(f"{capability} {'yes' if has else 'no'} ({present if has else absent})")
    if "IDLE" not in found and context.loaded().daemon.idle:
        return info("imap capabilities", "; ".join(parts))
    return ok("imap capabilities", "; ".join(parts))


def check_folders(context: Context) -> Result:
    configured = context.loaded().require_imap().folders
    listing = folder_listing(context.connection())
    plan = plan_folders(listing, configured)
    context.folders = [choice.name for choice in plan.chosen]
    return folders_verdict(plan, sorted({name for _flags, _sep, name in listing}))


def folders_verdict(plan: FolderPlan, listed: list[str]) -> Result:
    if not plan.ok:
        problems = [f"{name!r} is not on the server" for name in plan.missing]
        problems += [f"{name!r} holds only folders, no mail" for name in plan.unselectable]
        like = "; ".join(f"did you mean {b!r} for {a!r}?" for a, b in plan.suggestions)
        shown = ", ".join(listed[:SHOWN_NAMES]) + (", ..." if len(listed) > SHOWN_NAMES else "")
        hint = (like + " " if like else "") + f"the server has: {shown}"
        return fail("imap folders", "[imap] folders: " + "; ".join(problems), hint)
    line = "reads " + ", ".join(f"{choice.name} ({choice.found_by})" for choice in plan.chosen)
    if not plan.sent_found:
        return warn(
            "imap folders",
            f"{line}; no folder of sent mail found, so mail you send is not read",
            'name it in [imap] folders, e.g. folders = ["INBOX", "Sent"]',
        )
    return ok("imap folders", line)


def check_messages(context: Context) -> Result:
    counts = message_counts(context.connection(), context.folders)
    rtt = round_trip(context.connection(), context.monotonic)
    unknown = [name for name, count in counts.items() if count is None]
    total = sum(count or 0 for count in counts.values())
    seconds = first_sync_seconds(total, len(counts), rtt)
    shown = ", ".join(f"{name} {count:,}" for name, count in counts.items() if count is not None)
    line = (
        f"{shown} messages: a first sync takes {duration(seconds)} (an estimate, from "
        f"{PER_MESSAGE * 1e6:.0f} µs a message and {_milliseconds(rtt)} a round trip here)"
    )
    if unknown:
        return warn("imap messages", line + f"; no STATUS for {', '.join(unknown)}")
    return ok("imap messages", line)


def _milliseconds(seconds: float) -> str:
    return "under 1 ms" if seconds < 0.001 else f"{seconds * 1000:.0f} ms"


def check_inbox_delivery(context: Context) -> Result:
    room = append_room(context.connection(), context.capabilities)
    return delivery_verdict(room)


def delivery_verdict(room: AppendRoom) -> Result:
    """May INBOX take the summary? Asked, never tried: the doctor stores nothing."""
    name = "summary delivery"
    if room.rights is not None and "i" not in room.rights:
        return fail(
            name,
            f"you may not add messages to INBOX (your rights: {room.rights})",
            'ask your server admin for the "i" (insert) right, or use [summary] delivery = "smtp"',
        )
    if room.limit is not None and room.limit < SUMMARY_BYTES:
        return fail(
            name,
            f"the server takes messages of at most {room.limit:,} bytes (APPENDLIMIT)",
            'use [summary] delivery = "smtp"',
        )
    if room.quota is not None:
        used, limit = room.quota
        if limit - used < SUMMARY_BYTES // 1024:
            return fail(
                name,
                f"INBOX has {max(limit - used, 0):,} KiB free of its {limit:,} KiB quota: "
                "too little for the summary (QUOTA)",
                "make room in your mailbox, or ask for a larger quota",
            )
    if room.refused:
        return warn(
            name,
            f"the server would not answer {' and '.join(room.refused)} for INBOX, so whether "
            "it takes the summary is not known (nothing was stored)",
            "`kithkin summary --send` tries it for real",
        )
    said = []
    if room.rights is not None:
        said.append(f"rights {room.rights}")
    if room.limit is not None:
        said.append(f"messages up to {room.limit:,} bytes")
    if room.quota is not None:
        said.append(f"{room.quota[1] - room.quota[0]:,} KiB free")
    if not said:
        return ok(
            name,
            "INBOX can take the summary by APPEND as far as the server says "
            "(no ACL, APPENDLIMIT or QUOTA to ask; nothing was stored)",
        )
    return ok(name, f"INBOX can take the summary by APPEND ({', '.join(said)}; nothing was stored)")
