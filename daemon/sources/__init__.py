"""Address books kept elsewhere (`[contacts] sources`): vdirs and vCard files read into the
contact book on every poll, at `kithkin sync` and by `kithkin contacts sources`.

    files.py     listing a source and reading its files, within bounds
    cards.py     a card's key (its UID) and the fields applied from it
    merge.py     one card applied to the book: only what the card changed
    refresh.py   a read of every source: changed files only, one transaction each

May import: store, config, core, errors, parsers.
"""

from __future__ import annotations

from kithkin.daemon.sources.refresh import (
    SourceProblem,
    SourceReport,
    refresh_source,
    refresh_sources,
)

__all__ = ["SourceProblem", "SourceReport", "refresh_source", "refresh_sources"]
