"""Where brain's models live, and their envelopes read without numpy or torch.

The game reaches this module only through game/resolve.py's door (`available_models`, `shipped_envelope`):
reading a model's envelope is a JSON read, so rules-only play stays free of numpy and of the decoders.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from game.combat.envelope import Envelope, EnvelopeError

MODELS = Path(__file__).resolve().parent / "models"
MAX_CONFIG_BYTES = 16 << 20  # brain/checkpoint.py's bound on a config.json


def shipped_model_dir() -> Path:
    return MODELS / "default"


def shipped_experts_dir() -> Path:
    """The composed resolver's experts directory (brain/experts.py)."""
    return MODELS / "experts"


def user_models_dir() -> Path:
    """Models a player trained themselves (listed beside the shipped one)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rpg-tui" / "models"


def available_models() -> list[Path]:
    """The shipped model and its int8 form (when present) and every model directory under the user's models dir."""
    shipped = shipped_model_dir()
    found = [d for d in (shipped, shipped.with_name(shipped.name + "-int8")) if d.is_dir()]
    user = user_models_dir()
    if user.is_dir():
        found += sorted(p for p in user.iterdir() if p.is_dir())
    return found


def read_envelope(model_dir: Path) -> Envelope:
    """The envelope a model directory's config.json records; ValueError naming the file and key otherwise."""
    path = Path(model_dir) / "config.json"
    try:
        if not path.is_file() or path.stat().st_size > MAX_CONFIG_BYTES:
            raise ValueError("missing, not a regular file, or too large")
        config = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(config, dict) or "envelope" not in config:
            raise ValueError("records no envelope")
        return Envelope.from_json(config["envelope"])
    except (OSError, UnicodeDecodeError, RecursionError, EnvelopeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
