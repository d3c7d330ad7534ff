"""`kithkin suggest`: the people the owner corresponds with, read from the mailbox into
memory and ranked as suggested contacts. Nothing of it is written anywhere.

    reading.py   the folders the sync reads (INBOX and \\Sent), headers only, batch by batch

The ranking is pure and lives in core/suggestions.py; the command in cli/suggest.py.
May import: sync (its source, limits, narrowing), mail's records, core, errors, parsers.
"""
