"""Kithkin: a self-hosted personal CRM daemon (service, store and commands).

Data flows one way: mail/ (read-only IMAP) -> parsers (bytes -> facts) -> sync/ (plan a
batch: core/ matching) -> store/ (SQLite) -> summary/ (core/ analysis, templates) -> mail/
(delivery to the owner). steering/ applies the owner's replies; service/ runs it all under
systemd; cli/ is the face. README's Architecture section draws it; tests/test_walls.py
checks who may import whom.
"""

__version__ = "0.1.0"
