"""rpg-tui: a terminal roguelike whose combat is resolved by rules or by a tiny model."""

__version__ = "0.1.0"
