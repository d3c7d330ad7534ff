"""Meetings from the owner's calendar files ([calendar] sources): .ics files and vdirs.

    files.py    a source's files: listed cheaply, read bounded
    reader.py   each changed source read, its meetings with contacts logged once each

The events are parsed by parsers/calendar.py and turned into interactions by
core/meetings.py. May import: store, config, core, errors, parsers.
"""
