"""Play logs: one JSON line per resolved combat turn, the game's new training data.

The writer appends and flushes each line, so a crash loses at most the line
being written. The reader tolerates a torn last line and reports every bad
line with its file and line number; it never raises on bad content.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

PLAYLOG_VERSION = 1
REQUIRED = {
    "playlog_version": int, "format_version": int, "ruleset": str, "seed": int, "turn": int,
    "input": str, "model_answer": (str, type(None)), "rules_answer": str, "applied_answer": str,
    "active": str, "fallback": (str, type(None)), "latency_ms": (int, float, type(None)),
}


class PlayLogWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: TextIO | None = None

    def write(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
        self._fh.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


@dataclass(frozen=True)
class BadLine:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


def check_record(obj: Any) -> str | None:
    """Why a decoded line is not a play-log record, or None."""
    if not isinstance(obj, dict):
        return "expected a JSON object"
    for key, kind in REQUIRED.items():
        if key not in obj:
            return f"missing field {key!r}"
        if not isinstance(obj[key], kind) or isinstance(obj[key], bool):
            return f"field {key!r} has the wrong type ({type(obj[key]).__name__})"
    return None


def read_playlog_lines(path: Path | str, bad: list[BadLine] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, record) for the valid records of one file; append a BadLine to `bad`
    for every other line.

    A torn last line (no trailing newline, not valid JSON) is reported with
    reason 'torn last line' so callers can tell a crash from corruption.
    """
    path = Path(path)
    bad = bad if bad is not None else []
    try:
        data = path.read_bytes()
    except OSError as exc:
        bad.append(BadLine(str(path), 0, f"cannot read: {exc.strerror or exc}"))
        return
    lines = data.split(b"\n")
    torn_tail = not data.endswith(b"\n")
    for i, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        last = i == len(lines)
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            reason = "torn last line" if last and torn_tail else f"not JSON ({exc})"
            bad.append(BadLine(str(path), i, reason))
            continue
        problem = check_record(obj)
        if problem:
            bad.append(BadLine(str(path), i, problem))
        else:
            yield i, obj


def read_playlog(path: Path | str, bad: list[BadLine] | None = None) -> Iterator[dict[str, Any]]:
    """The valid records of one file (see read_playlog_lines)."""
    for _, obj in read_playlog_lines(path, bad):
        yield obj


def _files(paths: list[Path | str]) -> Iterator[Path]:
    for p in map(Path, paths):
        yield from (sorted(p.rglob("*.jsonl")) if p.is_dir() else [p])


def iter_playlog_lines(paths: list[Path | str], bad: list[BadLine] | None = None
                       ) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(file, line, record) from files and directories (every *.jsonl under a directory, sorted)."""
    for f in _files(paths):
        for line, obj in read_playlog_lines(f, bad):
            yield str(f), line, obj


def iter_playlogs(paths: list[Path | str], bad: list[BadLine] | None = None) -> Iterator[dict[str, Any]]:
    """Records from files and directories (every *.jsonl under a directory, sorted)."""
    for f in _files(paths):
        yield from read_playlog(f, bad)
