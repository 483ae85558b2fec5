"""The run history: one line per finished run, kept beside the morgue files (morgue/runs.json).

Written with game.atomic.write_atomic, so a crash mid-write leaves the old table whole. A table that
cannot be read is never overwritten: `load_runs` raises RunsError naming the file and the problem,
and `record_run` then sets the unreadable file aside before starting a new one.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from game.atomic import write_atomic

RUNS_NAME = "runs.json"
FIELDS = {"seed": int, "depth": int, "cause": str, "turns": int, "resolver": str, "divergences": int,
          "won": bool, "when": str, "kills": int, "level": int}


class RunsError(ValueError):
    pass


def runs_path(save_dir: Path) -> Path:
    return Path(save_dir) / "morgue" / RUNS_NAME


def load_runs(save_dir: Path) -> list[dict[str, Any]]:
    path = runs_path(save_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunsError(f"{path}: not a readable run table ({exc})") from None
    if not isinstance(data, list):
        raise RunsError(f"{path}: expected a JSON list of runs")
    for i, run in enumerate(data):
        if not isinstance(run, dict):
            raise RunsError(f"{path}: run {i}: expected an object")
        for key, kind in FIELDS.items():
            if not isinstance(run.get(key), kind) or (kind is int and isinstance(run.get(key), bool)):
                raise RunsError(f"{path}: run {i}: field {key!r}: expected {kind.__name__}, got {run.get(key)!r}")
    return data


def record_run(s, save_dir: Path) -> Path:
    """Add the finished session `s` to the table; returns the table's path."""
    path = runs_path(save_dir)
    try:
        runs = load_runs(save_dir)
    except RunsError:
        aside = path.with_name(f"runs.broken-{time.strftime('%Y%m%d-%H%M%S')}.json")
        os.replace(path, aside)  # kept for inspection, never lost
        runs = []
    runs.append({"seed": s.seed, "depth": s.max_depth, "cause": s.cause or "still alive", "turns": s.turns,
                 "resolver": s.active, "divergences": s.stats.divergences, "won": s.won,
                 "when": time.strftime("%Y-%m-%d %H:%M"), "kills": s.stats.kills, "level": s.player.level})
    write_atomic(path, json.dumps(runs, indent=1), backup=path.with_name(RUNS_NAME + ".bak"))
    return path


def ranked(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best first: wins, then the deepest, then the fewest turns."""
    return sorted(runs, key=lambda r: (not r["won"], -r["depth"], r["turns"]))
