"""Play logs: one JSON line per resolved combat turn, the game's new training data.

The writer appends and flushes each line, so a crash loses at most the line
being written. The reader tolerates a torn last line and reports every bad
line with its file and line number; it never raises on bad content.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

PLAYLOG_VERSION = 1
MAX_LINE_BYTES = 1 << 20  # a record is about 1 kB; a longer line is damage, skipped without reading it whole
REQUIRED = {
    "playlog_version": int, "format_version": int, "ruleset": str, "seed": int, "turn": int,
    "input": str, "model_answer": (str, type(None)), "rules_answer": str, "applied_answer": str,
    "active": str, "fallback": (str, type(None)), "latency_ms": (int, float, type(None)),
}


class PlayLogWriter:
    """Appends records; a file system that refuses (playlogs is a file, a read-only or full disk) never
    stops the game: the first failure is reported once through `on_error` ("file: reason"), kept in
    `error`, and later records are counted in `dropped` until the writer is pointed elsewhere."""

    def __init__(self, path: Path, on_error: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.on_error = on_error
        self.error: str | None = None
        self.dropped = 0
        self._fh: TextIO | None = None

    def write(self, record: dict[str, Any]) -> None:
        if self.error is not None:
            self.dropped += 1
            return
        line = json.dumps(record, separators=(",", ":")) + "\n"
        try:
            if self._fh is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = self.path.open("a", encoding="utf-8")
            self._fh.write(line)
            self._fh.flush()
        except OSError as exc:
            self.dropped += 1
            self.error = f"{exc.filename or self.path}: {exc.strerror or exc}"
            self.close()
            if self.on_error is not None:
                self.on_error(self.error)

    def close(self) -> None:
        if self._fh is not None:
            fh, self._fh = self._fh, None
            try:
                fh.close()
            except OSError:  # every line was flushed already; nothing is lost
                pass


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

    The file is streamed line by line (memory stays flat in its size); a line longer than
    MAX_LINE_BYTES is skipped unread. A torn last line (no trailing newline, not valid JSON) is
    reported with reason 'torn last line' so callers can tell a crash from corruption.
    """
    path = Path(path)
    bad = bad if bad is not None else []
    try:
        fh = path.open("rb")
    except OSError as exc:
        bad.append(BadLine(str(path), 0, f"cannot read: {exc.strerror or exc}"))
        return
    with fh:
        number = 0
        while True:
            try:
                raw = fh.readline(MAX_LINE_BYTES + 1)
            except OSError as exc:
                bad.append(BadLine(str(path), number + 1, f"cannot read: {exc.strerror or exc}"))
                return
            if not raw:
                return
            number += 1
            if len(raw) > MAX_LINE_BYTES:
                while raw and not raw.endswith(b"\n"):  # skip the rest of the line, a bounded piece at a time
                    raw = fh.readline(MAX_LINE_BYTES)
                bad.append(BadLine(str(path), number, f"line longer than {MAX_LINE_BYTES} bytes"))
                continue
            if not raw.strip():
                continue
            obj, reason = _decode(raw)
            if reason is None:
                reason = check_record(obj)
            elif not raw.endswith(b"\n"):  # only the last line can lack its newline: a crash mid-write
                reason = "torn last line"
            if reason:
                bad.append(BadLine(str(path), number, reason))
            else:
                yield number, obj


def _decode(raw: bytes) -> tuple[Any, str | None]:
    """The JSON value of one line, or None and why not (never raises: deep nesting and huge numbers included)."""
    try:
        return json.loads(raw.decode("utf-8")), None
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 (byte {exc.start + 1})"
    except RecursionError:
        return None, "not JSON (nested too deeply)"
    except ValueError as exc:  # JSONDecodeError, and integers longer than Python converts
        return None, f"not JSON ({str(exc)[:120]})"


def read_playlog(path: Path | str, bad: list[BadLine] | None = None) -> Iterator[dict[str, Any]]:
    """The valid records of one file (see read_playlog_lines)."""
    for _, obj in read_playlog_lines(path, bad):
        yield obj


def playlog_files(paths: list[Path | str]) -> Iterator[Path]:
    """The files named, and every *.jsonl under each directory named (sorted)."""
    for p in map(Path, paths):
        yield from (sorted(p.rglob("*.jsonl")) if p.is_dir() else [p])



def iter_playlog_lines(paths: list[Path | str], bad: list[BadLine] | None = None
                       ) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(file, line, record) from files and directories (every *.jsonl under a directory, sorted)."""
    for f in playlog_files(paths):
        for line, obj in read_playlog_lines(f, bad):
            yield str(f), line, obj


def iter_playlogs(paths: list[Path | str], bad: list[BadLine] | None = None) -> Iterator[dict[str, Any]]:
    """Records from files and directories (every *.jsonl under a directory, sorted)."""
    for f in playlog_files(paths):
        yield from read_playlog(f, bad)
