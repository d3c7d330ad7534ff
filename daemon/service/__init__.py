"""`kithkin run`: the long-running service under systemd.

    loop.py       the loop: poll, summary on schedule, signals, reconnect with backoff
    timetable.py  the two jobs, run by the injected clock
    push.py       IDLE on INBOX between polls, where the server has it
    health.py     the state shown to status and systemd; the clock; the wake-up pipe
    logbook.py    what the log says of each poll (a folder not synced: once)
    notify.py     sd_notify, never blocking

May import: everything below it (app, sync, summary, mail, store, steering, config, core).
"""
