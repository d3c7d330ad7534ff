"""The database schema as an ordered list of forward migrations (sqlite-utils `Migrations`).

Each migration is applied once, in its own transaction, and `PRAGMA user_version` is set to the
number applied, so a file written by a newer Kithkin is recognised and left alone. Never edit
a released migration: add a new one.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATION_SET = "kithkin"
migrations = Migrations(MIGRATION_SET)


def _run(db: Database, *statements: str) -> None:
    for statement in statements:
        db.execute(statement)


@migrations(name="0001_contacts_interactions_folders")
def _0001(db: Database) -> None:
    _run(
        db,
        """CREATE TABLE contacts (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            every_days INTEGER CHECK (every_days IS NULL OR every_days > 0),
            birthday TEXT,
            snoozed_until TEXT,
            muted INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX contacts_name ON contacts (name COLLATE NOCASE)",
        """CREATE TABLE addresses (
            address TEXT PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE
        )""",
        "CREATE INDEX addresses_contact ON addresses (contact_id)",
        """CREATE TABLE contact_tags (
            contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            PRIMARY KEY (contact_id, tag)
        )""",
        """CREATE TABLE interactions (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
            kind TEXT NOT NULL DEFAULT 'email',
            direction TEXT CHECK (direction IS NULL OR direction IN ('in', 'out')),
            date TEXT NOT NULL,
            message_key TEXT,
            message_id TEXT,
            subject TEXT,
            audience INTEGER NOT NULL DEFAULT 1,
            UNIQUE (contact_id, message_key)
        )""",
        "CREATE INDEX interactions_contact_date ON interactions (contact_id, date)",
        """CREATE TABLE folders (
            name TEXT PRIMARY KEY,
            uidvalidity INTEGER,
            last_uid INTEGER NOT NULL DEFAULT 0,
            uidnext INTEGER,
            last_sync_at TEXT,
            messages_seen INTEGER NOT NULL DEFAULT 0,
            interactions_logged INTEGER NOT NULL DEFAULT 0,
            last_error TEXT
        )""",
        """CREATE TABLE pending_backfill (
            address TEXT PRIMARY KEY,
            queued_at TEXT NOT NULL
        )""",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",
    )


@migrations(name="0002_interaction_days")
def _0002(db: Database) -> None:
    """A day number per interaction (days since 1970-01-01, UTC) for the analysis aggregates."""
    _run(
        db,
        "ALTER TABLE interactions ADD COLUMN day INTEGER NOT NULL DEFAULT 0",
        "UPDATE interactions SET day = CAST(unixepoch(date) / 86400 AS INTEGER)",
        "CREATE INDEX interactions_contact_day ON interactions (contact_id, day, audience)",
    )


@migrations(name="0003_summaries")
def _0003(db: Database) -> None:
    """Every summary prepared: its week, its secret token, and whether it was delivered."""
    _run(
        db,
        """CREATE TABLE summaries (
            id INTEGER PRIMARY KEY,
            week TEXT NOT NULL,
            token TEXT NOT NULL UNIQUE,
            trigger TEXT NOT NULL,
            created_at TEXT NOT NULL,
            sent_at TEXT
        )""",
        "CREATE INDEX summaries_week ON summaries (week)",
    )


@migrations(name="0004_manual_interactions_notes_replies")
def _0004(db: Database) -> None:
    """Calls and meetings logged by hand (with a note), dated notes per person, and the
    owner's replies to summaries (applied once each, with what came of them)."""
    _run(
        db,
        "ALTER TABLE interactions ADD COLUMN note TEXT",
        """CREATE TABLE notes (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
            date TEXT NOT NULL,
            text TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX notes_contact_date ON notes (contact_id, date)",
        """CREATE TABLE replies (
            message_key TEXT PRIMARY KEY,
            token TEXT,
            received_at TEXT NOT NULL,
            applied_at TEXT NOT NULL,
            results TEXT NOT NULL,
            reported_in TEXT
        )""",
    )


@migrations(name="0005_set_aside_messages")
def _0005(db: Database) -> None:
    """Messages whose processing failed, set aside so the mail after them is still logged:
    only where they are (folder, UIDVALIDITY, UID) and at which stage they failed, never
    anything of their content."""
    _run(
        db,
        """CREATE TABLE set_aside (
            folder TEXT NOT NULL,
            uidvalidity INTEGER NOT NULL,
            uid INTEGER NOT NULL,
            stage TEXT NOT NULL CHECK (stage IN ('fetch', 'process')),
            attempts INTEGER NOT NULL DEFAULT 1,
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            reported_in TEXT,
            PRIMARY KEY (folder, uidvalidity, uid)
        )""",
    )


@migrations(name="0006_drop_ignored_replies")
def _0006(db: Database) -> None:
    """Messages that looked like replies to a summary but carried no valid token were kept
    (their key, date and "ignored"); now such mail leaves no trace but a count in `meta`."""
    ignored = [
        key
        for key, results in db.execute("SELECT message_key, results FROM replies").fetchall()
        if _was_ignored(results)
    ]
    if not ignored:
        return
    db.execute(
        "INSERT INTO meta (key, value) VALUES ('replies.ignored.no_valid_token', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT)",
        [str(len(ignored)), len(ignored)],
    )
    for key in ignored:
        db.execute("DELETE FROM replies WHERE message_key = ?", [key])


def _was_ignored(results: str) -> bool:
    import json

    try:
        return bool(json.loads(results).get("ignored"))
    except (ValueError, AttributeError):
        return False


@migrations(name="0007_birthday_reminders")
def _0007(db: Database) -> None:
    """How many days before a person's birthday to mention it (`contacts edit --remind`);
    NULL: `[analysis] birthday_days`."""
    _run(
        db,
        "ALTER TABLE contacts ADD COLUMN remind_days INTEGER "
        "CHECK (remind_days IS NULL OR remind_days BETWEEN 0 AND 366)",
    )


@migrations(name="0008_contact_nicknames")
def _0008(db: Database) -> None:
    """What the owner calls a person (`--nickname`, a vCard's NICKNAME): names match it too."""
    _run(db, "ALTER TABLE contacts ADD COLUMN nickname TEXT")


@migrations(name="0010_contact_sources")
def _0010(db: Database) -> None:
    """Address books kept elsewhere (`[contacts] sources`): which contact came from which card
    (and what the card said when last applied, so a re-read changes only what the card
    changed), when a card was removed from its book, and the state of every file read, so an
    unchanged file is not parsed again."""
    _run(
        db,
        """CREATE TABLE contact_sources (
            contact_id INTEGER PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            card_key TEXT NOT NULL,
            file TEXT NOT NULL,
            card TEXT NOT NULL,
            note_id INTEGER,
            added_at TEXT NOT NULL,
            removed_at TEXT,
            UNIQUE (source, card_key)
        )""",
        "CREATE INDEX contact_sources_key ON contact_sources (card_key)",
        """CREATE TABLE contact_source_files (
            source TEXT NOT NULL,
            name TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            inode INTEGER NOT NULL,
            ctime_ns INTEGER NOT NULL,
            problem_lines TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (source, name)
        )""",
        """CREATE TABLE contact_source_reads (
            source TEXT PRIMARY KEY,
            read_at TEXT,
            error TEXT
        )""",
    )


@migrations(name="0011_mailboxes")
def _0011(db: Database) -> None:
    """Several mailboxes (`[[mailbox]]`): folder cursors and set-aside messages belong to one
    by its name. What was synced before belongs to '', the mailbox of the single `[imap]`
    form, and passes to the first `[[mailbox]]` when that form replaces it. The past mail of
    a new contact is looked up in each mailbox: `backfill_done` says where it was."""
    _run(
        db,
        """CREATE TABLE folders_by_mailbox (
            mailbox TEXT NOT NULL DEFAULT '',
            name TEXT NOT NULL,
            uidvalidity INTEGER,
            last_uid INTEGER NOT NULL DEFAULT 0,
            uidnext INTEGER,
            last_sync_at TEXT,
            messages_seen INTEGER NOT NULL DEFAULT 0,
            interactions_logged INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            PRIMARY KEY (mailbox, name)
        )""",
        """INSERT INTO folders_by_mailbox (name, uidvalidity, last_uid, uidnext, last_sync_at,
               messages_seen, interactions_logged, last_error)
           SELECT name, uidvalidity, last_uid, uidnext, last_sync_at, messages_seen,
               interactions_logged, last_error FROM folders""",
        "DROP TABLE folders",
        "ALTER TABLE folders_by_mailbox RENAME TO folders",
        """CREATE TABLE set_aside_by_mailbox (
            mailbox TEXT NOT NULL DEFAULT '',
            folder TEXT NOT NULL,
            uidvalidity INTEGER NOT NULL,
            uid INTEGER NOT NULL,
            stage TEXT NOT NULL CHECK (stage IN ('fetch', 'process')),
            attempts INTEGER NOT NULL DEFAULT 1,
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            reported_in TEXT,
            PRIMARY KEY (mailbox, folder, uidvalidity, uid)
        )""",
        """INSERT INTO set_aside_by_mailbox (folder, uidvalidity, uid, stage, attempts,
               first_at, last_at, reported_in)
           SELECT folder, uidvalidity, uid, stage, attempts, first_at, last_at, reported_in
           FROM set_aside""",
        "DROP TABLE set_aside",
        "ALTER TABLE set_aside_by_mailbox RENAME TO set_aside",
        # A queued address leaves pending_backfill once every mailbox has looked it up.
        """CREATE TABLE backfill_done (
            mailbox TEXT NOT NULL,
            address TEXT NOT NULL,
            PRIMARY KEY (mailbox, address)
        )""",
    )


def migration_names() -> list[str]:
    """Every migration this code knows, in order (all are pending on an empty database)."""
    empty = Database(memory=True, execute_plugins=False)
    return [migration.name for migration in migrations.pending(empty)]


def schema_version() -> int:
    """The `user_version` this code writes: the number of migrations it knows."""
    return len(migration_names())
