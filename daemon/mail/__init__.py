"""The mail servers: the read-only IMAP session the sync reads from, and delivery of the
summary to its owner. The only code that opens network connections.

    session.py    ImapSession: EXAMINE, list UIDs, fetch headers (the sync's MailSource)
    idle.py       IDLE on the examined folder: wait for new mail (the service's push)
    connect.py    opening a connection: TLS, timeouts, login; failures as one line
    listing.py    which UIDs a folder holds, in a few commands
    responses.py  reply shapes read from raw bytes (the FETCH reader)
    folders.py    which folders are read
    records.py    what the session hands the engine
    delivery.py   the summary by SMTP or IMAP APPEND
    credentials.py  where passwords come from

May import: config, core, parsers, errors.
"""
