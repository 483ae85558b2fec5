"""The run history: one line per finished run, kept beside the morgue files (morgue/runs.json).

Written with game.atomic.write_atomic, so a crash mid-write leaves the old table whole. A table that
cannot be read is never overwritten: `load_runs` raises RunsError naming the file and the problem, for
ANY problem (a file that is not a regular file, larger than MAX_RUNS_BYTES, not JSON, a 5,000-digit number,
100,000 nested `[`, fields of the wrong type or out of range, control characters), and `record_run` then
sets the unreadable file aside (runs.broken-<time>.json, a name never used before) before starting a new one.
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
from pathlib import Path
from typing import Any

from game.atomic import write_atomic

RUNS_NAME = "runs.json"
MAX_RUNS_BYTES = 4 * 1024 * 1024  # a finished run is ~200 bytes: 20,000 runs
MAX_RUNS = 20_000
MAX_TEXT = 200  # characters of a string field (a cause of death is under 80)
MAX_NUMBER = 10**18  # seeds are below 2**63, counters far below
FIELDS = {"seed": int, "depth": int, "cause": str, "turns": int, "resolver": str, "divergences": int,
          "won": bool, "when": str, "kills": int, "level": int}
RESOLVER_NAMES = ("rules", "model", "experts")
TALLY_FIELDS = ("turns", "answered", "divergences", "fallbacks")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class RunsError(ValueError):
    pass


def runs_path(save_dir: Path) -> Path:
    return Path(save_dir) / "morgue" / RUNS_NAME


def _read(path: Path) -> bytes | None:
    """The table's bytes (None when there is none); RunsError for anything but a regular file of a sane size.
    Never follows a symlink, never blocks on a pipe."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RunsError(f"{path}: not a readable run table ({exc.strerror or exc})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise RunsError(f"{path}: not a regular file")
        blob = b""
        while len(blob) <= MAX_RUNS_BYTES and (chunk := os.read(fd, 1 << 20)):
            blob += chunk
    except OSError as exc:
        raise RunsError(f"{path}: not a readable run table ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(blob) > MAX_RUNS_BYTES:
        raise RunsError(f"{path}: larger than a run table may be ({MAX_RUNS_BYTES} bytes)")
    return blob


def _field_problem(key: str, kind: type, v: Any) -> str | None:
    if kind is int:
        if isinstance(v, bool) or not isinstance(v, int) or not -MAX_NUMBER <= v <= MAX_NUMBER:
            return f"expected an integer of at most 18 digits, got {str(v)[:40]!r}"
    elif not isinstance(v, kind):
        return f"expected {kind.__name__}, got {str(v)[:40]!r}"
    elif kind is str and (len(v) > MAX_TEXT or _CONTROL.search(v)):
        return f"expected text of at most {MAX_TEXT} characters without control characters, got {v[:40]!r}"
    return None


def load_runs(save_dir: Path) -> list[dict[str, Any]]:
    """The finished runs; [] when there is no table yet; RunsError (file and problem) for any other problem."""
    path = runs_path(save_dir)
    blob = _read(path)
    if blob is None:
        return []
    try:
        data = json.loads(blob.decode("utf-8"))
    except RecursionError:
        raise RunsError(f"{path}: not a readable run table (nested too deeply)") from None
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, and integers longer than Python converts
        raise RunsError(f"{path}: not a readable run table ({str(exc)[:200]})") from None
    if not isinstance(data, list):
        raise RunsError(f"{path}: expected a JSON list of runs")
    if len(data) > MAX_RUNS:
        raise RunsError(f"{path}: more than {MAX_RUNS} runs")
    for i, run in enumerate(data):
        if not isinstance(run, dict):
            raise RunsError(f"{path}: run {i}: expected an object")
        for key, kind in FIELDS.items():
            problem = _field_problem(key, kind, run.get(key))
            if problem is not None:
                raise RunsError(f"{path}: run {i}: field {key!r}: {problem}")
        if "resolvers" in run:  # since save version 4: turns and divergences per resolver
            problem = _resolvers_problem(run["resolvers"])
            if problem is not None:
                raise RunsError(f"{path}: run {i}: field 'resolvers': {problem}")
    return data


def _resolvers_problem(v: Any) -> str | None:
    if not isinstance(v, dict) or not set(v) <= set(RESOLVER_NAMES):
        return f"expected an object keyed by {', '.join(RESOLVER_NAMES)}, got {str(v)[:40]!r}"
    for name, tally in v.items():
        if not isinstance(tally, dict) or set(tally) != set(TALLY_FIELDS):
            return f"{name}: expected an object of {', '.join(TALLY_FIELDS)}"
        for key in TALLY_FIELDS:
            problem = _field_problem(key, int, tally[key])
            if problem is not None:
                return f"{name}.{key}: {problem}"
    return None


def resolver_summary(run: dict[str, Any]) -> str:
    """`rules 120 · model 30 (2 div)`: combat turns applied per resolver, and each learned one's divergences;
    a run recorded before per-resolver counts: its last resolver and all divergences."""
    tallies = run.get("resolvers")
    if not tallies:
        return f"{run['resolver']} ({run['divergences']} div)" if run["divergences"] else run["resolver"]
    parts = []
    for name in RESOLVER_NAMES:
        t = tallies.get(name)
        if t and (t["turns"] or t["answered"]):
            div = f" ({t['divergences']} div)" if t["divergences"] else ""
            parts.append(f"{name} {t['turns']}{div}")
    return " · ".join(parts) or run["resolver"]


def set_aside(path: Path) -> Path:
    """Rename an unreadable table to runs.broken-<time>.json, a name not taken yet (nothing is overwritten)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"runs.broken-{stamp}.json")
    n = 1
    while os.path.lexists(aside):
        aside = path.with_name(f"runs.broken-{stamp}-{n}.json")
        n += 1
    os.replace(path, aside)
    return aside


def record_run(s, save_dir: Path) -> Path:
    """Add the finished session `s` to the table; returns the table's path. A table that cannot be read is
    set aside first (kept for inspection, never lost); OSError when the directory refuses."""
    path = runs_path(save_dir)
    try:
        runs = load_runs(save_dir)
    except RunsError:
        set_aside(path)
        runs = []
    runs.append({"seed": s.seed, "depth": s.max_depth, "cause": (s.cause or "still alive")[:MAX_TEXT], "turns": s.turns,
                 "resolver": s.active, "divergences": s.stats.divergences, "won": s.won,
                 "when": time.strftime("%Y-%m-%d %H:%M"), "kills": s.stats.kills, "level": s.player.level,
                 "resolvers": {name: tally.to_json() for name, tally in s.stats.by_resolver.items()}})
    write_atomic(path, json.dumps(runs[-MAX_RUNS:], indent=1), backup=path.with_name(RUNS_NAME + ".bak"))
    return path


def ranked(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best first: wins, then the deepest, then the fewest turns."""
    return sorted(runs, key=lambda r: (not r["won"], -r["depth"], r["turns"]))
