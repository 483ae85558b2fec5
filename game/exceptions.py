"""Exceptions of the game core (python-tcod tutorial's exceptions.py)."""

from __future__ import annotations


class Impossible(Exception):
    """The action cannot be done now; the message says why and no turn passes."""
