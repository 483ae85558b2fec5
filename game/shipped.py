"""The content the game plays: the shipped content against the shipped model's envelope.

The loader (game/content/loader.py) checks content against the legal state and any envelope it is given; this
module gives it the envelope of the model that ships with the game (game.resolve.shipped_envelope, a JSON read
through brain.paths: no numpy, no torch). The content is made to fit the model that ships with it, so that the
game grows exactly as far as the model can follow (the shipped model's envelope is the whole format, and the
content is made for it). Where it does not (a model trained on a narrower envelope put in its place), the game
still starts: the content is held to the legal state, `Content.beyond_model` names the first value past the
model's bound (file, key, bound), the game says so once, and the model declines every turn beyond its envelope
(the rules resolve it; a counted fallback naming the field). Content of one's own (`rpg-tui --content DIR`,
RPG_CONTENT_DIR) is checked against the legal state only. It lives apart from the loader because brain loads
content too, and must not reach back into game.resolve.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from game.content.loader import Content, ContentError, load_content, shipped_content_dir
from game.resolve import shipped_envelope, shipped_model_dir


def load_game_content(directory: Path | str | None = None) -> Content:
    """What rpg-tui plays (see the module's docstring). No shipped model at all: the legal state only."""
    if directory is not None or os.environ.get("RPG_CONTENT_DIR"):
        return load_content(directory)
    where = shipped_model_dir()
    if not (where / "config.json").exists():
        return load_content(shipped_content_dir())
    try:
        envelope = shipped_envelope()
    except ValueError as exc:
        raise ContentError(where / "config.json", "envelope", "the shipped model's envelope, to check the "
                           f"content against ({exc})") from None
    try:
        return load_content(shipped_content_dir(), envelope, f"the shipped model ({where.name})")
    except ContentError as beyond:
        content = load_content(shipped_content_dir())  # a value outside the legal state is refused here
        return replace(content, beyond_model=str(beyond))
