"""The domain, pure: records, the audience rule, matching a message to contacts, the
analysis (who is fading, waiting, not answering, whose birthday is near), dates and words.

    records.py   contact, interaction, folder state, set-aside message
    audience.py  "a message to more than three people counts less", once
    matching.py  message facts + address book -> interactions
    rhythm.py    each person's rhythm, from the gaps between days with contact
    analysis.py  analysis inputs -> findings, as of a day
    thresholds.py  its thresholds (`[analysis]`)
    findings.py  what the analysis finds
    digest.py    findings -> the summary's list: each person once, ordered, capped
    wording.py   durations in words
    dates.py, timing.py  days, zones, and when the weekly summary is due

May import: parsers, errors. No SQL, no sockets, no clock read here ("now" comes in).
"""
