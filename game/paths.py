"""Where saves, play logs and morgue files live.

From a checkout (the project's pyproject.toml sits two levels above this file)
the default is the project's saves/; from an installed package it is the
user's data directory (XDG_DATA_HOME/rpg-tui). `--save-dir` overrides both.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# A run's name (save files, play logs, morgue files, kept runs are named after it): it is read back from save
# files, so it is checked before it becomes part of any path. No separators, no leading dot, no control
# characters, nothing a shell or a file system treats specially.
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def run_id_problem(run_id: object) -> str | None:
    """Why `run_id` cannot name a run's files, or None."""
    if isinstance(run_id, str) and RUN_ID.fullmatch(run_id):
        return None
    shown = repr(run_id) if len(repr(run_id)) <= 40 else repr(run_id)[:37] + "..."
    return f"expected 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit, got {shown}"


def run_file(directory: Path | str, run_id: str, suffix: str) -> Path:
    """`directory/<run_id><suffix>`; ValueError when the run id could leave the directory or is not a name."""
    problem = run_id_problem(run_id)
    if problem is not None:
        raise ValueError(f"run id: {problem}")
    return Path(directory) / f"{run_id}{suffix}"


def project_root() -> Path | None:
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() and (root / "game").is_dir() else None


def default_save_dir() -> Path:
    root = project_root()
    if root is not None:
        return root / "saves"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rpg-tui"
