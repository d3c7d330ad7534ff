"""Kithkin: a self-hosted personal CRM daemon (service, store and commands)."""

__version__ = "0.1.0"
