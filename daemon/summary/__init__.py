"""The weekly summary: its inputs from the store, its rendering through the templates, and
the job that sends it once a week.

    inputs.py       the analysis inputs for a day, from the store
    entries.py      what each person's entry says (the action, the reasons, the links)
    render.py       findings -> an email (text and HTML) from templates/
    legacy.py       the template names from before one entry per person, for overrides
    environment.py  the jinja2 environment (autoescaped) and the template overrides
    extras.py       what it shows besides the findings (replies, notes, unreadable mail)
    weekly.py       the job: render, deliver, record once per week

May import: core, store, config, steering, mail (delivery), parsers, errors, jinja2.
"""
