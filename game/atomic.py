"""One way to write a file so that a crash, a kill or a hostile directory never leaves half of it.

`write_atomic(path, data, backup=...)`: the data goes to a fresh temporary file created exclusively
(O_EXCL through tempfile.mkstemp, so an existing file or symlink of that name is never followed or
reused) in the destination's directory, is fsynced, and is renamed over `path`. With `backup`, the
file `path` held until now is first hard-linked (copied where links are refused) to `backup`, so at
every moment a complete `path` exists: never only a backup and a temporary file. Errors are OSError,
left to the caller, which knows what to tell the player; the temporary file never outlives a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable; some filesystems refuse to open a directory, which is fine."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _temp_beside(path: Path) -> tuple[int, Path]:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    return fd, Path(name)


def write_atomic(path: Path | str, data: str | bytes, *, backup: Path | str | None = None) -> None:
    """Replace `path` with `data` in one rename; keep the previous file as `backup` when asked."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = _temp_beside(path)
    try:
        # mkstemp makes the file private (0600); keep the mode the target had, else an ordinary 0644
        with contextlib.suppress(OSError):
            os.fchmod(fd, stat.S_IMODE(path.stat().st_mode) if path.is_file() else 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        if backup is not None and path.is_file() and not path.is_symlink():
            _keep_copy(path, Path(backup))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _keep_copy(src: Path, dst: Path) -> None:
    """dst becomes a copy of src, itself replaced in one rename (src stays where it is)."""
    fd, tmp = _temp_beside(dst)
    os.close(fd)
    tmp.unlink()
    try:
        try:
            os.link(src, tmp)
        except OSError:  # a filesystem without hard links
            shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
