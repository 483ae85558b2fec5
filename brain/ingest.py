"""Play logs -> training data. The rules engine labels every record; the model's answer is never trusted.

`rpg-brain ingest PATH... --out DIR` reads play logs (files or directories), keeps records of this format
version and ruleset, re-labels each input block with the rules, drops duplicates and every block of the
held-out test split, and writes token shards in `rpg-brain gen`'s layout (brain/shards.py: train and val
shards, manifest.json with its extent, `"kind": "playlog"` and the provenance of every row), so one loader
(`brain.shards.Split`) reads generated and played data alike. The `val` part is the held-out slice of play data
that `rpg-brain finetune` evaluates on. Bad lines are counted and reported with file and line.

Nothing is lost on the way:
- the logs are streamed (memory grows with the number of distinct blocks, an 8-byte digest each, not with the
  logs' size); every input must be a regular file or a directory (a FIFO or a device is refused, not read);
- `--out` must be new, empty, or a dataset this command wrote, and may not contain an input; a run that finds no
  usable record writes nothing (exit 2), so a dataset is never replaced by an empty one;
- the dataset is written into `.NAME.PID.tmp` beside DIR and swapped in only once complete; what a killed
  ingest left (`.NAME.*.tmp`, `.NAME.old-*` of a process that is gone) is removed by the next one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import stat
import time
from collections import Counter
from pathlib import Path

from brain.data import SPLITS, forced_mask, split_of
from brain.shards import (
    MANIFEST,
    PLAY,
    block_key,
    extend_extent,
    manifest_of,
    sampler_id,
    tokenizer_sha256,
    write_shard,
)
from brain.tokenizer import Tokenizer
from game.combat.envelope import check_case, extent
from game.combat.format import FORMAT_VERSION, FormatError, encode_answer, parse_input
from game.combat.rules import resolve
from game.combat.ruleset import Ruleset
from game.playlog import BadLine, iter_playlog_lines, playlog_files

KIND = "playlog"
SHARD_ROWS = 50_000


class IngestError(ValueError):
    """The inputs or the output directory cannot be used; nothing was written."""


def _inputs(paths: list[Path]) -> list[Path]:
    """The play-log files named or under the directories named; IngestError for anything that is not one."""
    for p in paths:
        try:
            mode = p.stat().st_mode
        except OSError as exc:
            raise IngestError(f"{p}: {exc.strerror or 'cannot be read'}") from None
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise IngestError(f"{p}: not a regular file or a directory (a FIFO or device is never read)")
    files = list(playlog_files(paths))
    for f in files:
        if not f.is_file():  # a FIFO named *.jsonl inside a directory
            raise IngestError(f"{f}: not a regular file (a FIFO or device is never read)")
    if not files:
        raise IngestError(f"no play logs (*.jsonl) under {', '.join(map(str, paths))}")
    return files


def _check_out(out_dir: Path, paths: list[Path]) -> None:
    """--out is new, empty, or a dataset ingest wrote; it holds none of the inputs."""
    out = out_dir.resolve()
    for p in paths:
        if p.resolve() == out or out in p.resolve().parents:
            raise IngestError(f"--out {out_dir}: holds the input {p}; write the dataset somewhere else")
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise IngestError(f"--out {out_dir}: is a file; expected a directory (new, or a dataset to replace)")
    if not any(out_dir.iterdir()):
        return
    try:
        kind = json.loads((out_dir / MANIFEST).read_text()).get("kind")
    except (OSError, ValueError, AttributeError):
        kind = None
    if kind != KIND:
        raise IngestError(f"--out {out_dir}: not a dataset `rpg-brain ingest` wrote (no {MANIFEST} with kind "
                          f"{KIND!r}); it is never replaced: give a new or empty directory")


def _sweep_leftovers(out_dir: Path) -> None:
    """Remove what an ingest killed mid-way left beside `out_dir` (its process is gone)."""
    for p in out_dir.parent.glob(f".{out_dir.name}.*"):
        tag = p.name[len(out_dir.name) + 2:]
        pid = tag.removesuffix(".tmp").removeprefix("old-")
        if pid.isdigit() and (tag.endswith(".tmp") or tag.startswith("old-")) and not _alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ingest(paths: list[Path], out_dir: Path, rules: Ruleset) -> dict:
    """Write the dataset and return its manifest (also written as manifest.json)."""
    out_dir = Path(out_dir)
    paths = [Path(p) for p in paths]
    files = _inputs(paths)
    _check_out(out_dir, paths)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _sweep_leftovers(out_dir)
    tmp = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        manifest = _write_dataset(files, tmp, rules)
        if not manifest["counts"]["train"] + manifest["counts"]["val"]:
            why = "; ".join(manifest["bad_lines"][:3]) or "every record was a duplicate or in the test split"
            raise IngestError(f"no usable record in {len(files)} file(s) ({why}); nothing written")
        _swap_in(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def _write_dataset(files: list[Path], out_dir: Path, rules: Ruleset) -> dict:
    tok = Tokenizer.from_format()
    plan = {"layout_version": 1, "format_version": FORMAT_VERSION, "ruleset_id": rules.ruleset_id,
            "tokenizer_sha256": tokenizer_sha256(tok), "sampler": sampler_id(PLAY), "kind": KIND}
    bad: list[BadLine] = []
    counts: Counter[str] = Counter()
    seen: set[bytes] = set()  # digests, not blocks: memory per distinct block stays small
    sources: dict[str, Counter[str]] = {}
    rows: dict[str, list[tuple]] = {s: [] for s in SPLITS}
    extents: dict = {s: {} for s in SPLITS}
    records: list[dict] = []

    def flush() -> None:
        records.append(write_shard(out_dir, len(records), sum(map(len, rows.values())), plan, rows, 0, extents))
        for s in SPLITS:
            rows[s], extents[s] = [], {}

    for file, line, rec in iter_playlog_lines(files, bad):
        counts["records"] += 1
        if rec["format_version"] != FORMAT_VERSION:
            counts["foreign_format_version"] += 1
            bad.append(BadLine(file, line, f"format version {rec['format_version']}, expected {FORMAT_VERSION}"))
            continue
        if rec["ruleset"] != rules.ruleset_id:
            counts["foreign_ruleset"] += 1
            bad.append(BadLine(file, line, f"ruleset {rec['ruleset']}, expected {rules.ruleset_id}"))
            continue
        block = rec["input"]
        try:
            case = parse_input(block)
        except FormatError as exc:
            counts["malformed_input"] += 1
            bad.append(BadLine(file, line, f"input block: {exc}"))
            continue
        problem = check_case(*case, rules)
        if problem:
            counts["malformed_input"] += 1
            bad.append(BadLine(file, line, f"input block: {problem}"))
            continue
        digest = hashlib.blake2b(block.encode(), digest_size=8).digest()
        if digest in seen:
            counts["duplicates"] += 1
            continue
        seen.add(digest)
        split = split_of(block)
        if split == "test":
            counts["test_split_removed"] += 1
            continue
        out = resolve(*case, rules)
        answer = encode_answer(out.events, out.next_state)
        counts["relabelled_differently"] += answer != rec["rules_answer"]
        counts["model_was_wrong"] += rec["model_answer"] is not None and rec["model_answer"] != answer
        ids = tok.encode(block)
        prompt = bytes([tok.bos, *ids, tok.sep])
        ans = tok.encode(answer)
        open_ = bytes(not f for f in forced_mask([tok.pieces[i] for i in ans]))
        events = tuple(e.rule for e in out.events)
        rows[split].append((split, block_key(prompt), prompt + bytes([*ans, tok.eos]), bytes(len(prompt)) + open_,
                            case[1], events))
        extend_extent(extents[split], case[1], extent(case), len(ids), len(prompt) + len(ans) + 1)
        sources.setdefault(file, Counter())[split] += 1
        if sum(map(len, rows.values())) >= SHARD_ROWS:
            flush()
    if any(rows.values()) or not records:
        flush()
    counts["bad_lines"] = len(bad)
    manifest = manifest_of(plan, counts["records"], records)
    manifest |= {"ingest": dict(sorted(counts.items())),
                 "sources": {f: {**dict(c), "sha256": _sha256(Path(f))} for f, c in sorted(sources.items())},
                 "bad_lines": [str(b) for b in bad[:200]], "written_at": time.time()}
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _swap_in(tmp: Path, out_dir: Path) -> None:
    """Put the complete new dataset at out_dir; the old one (if any) is removed only after the swap.
    A kill between the two renames leaves the old dataset whole under .NAME.old-PID (the next ingest's
    _sweep_leftovers removes it once this process is gone: it was replaced, and the new one is in place)."""
    if not out_dir.exists():
        os.replace(tmp, out_dir)
        return
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    os.replace(out_dir, old)
    try:
        os.replace(tmp, out_dir)
    except OSError:
        os.replace(old, out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return "unreadable"
    return h.hexdigest()[:16]


# ------------------------------------------------------------------ the `rpg-brain ingest` stage

def add_arguments(ig: argparse.ArgumentParser) -> None:
    ig.add_argument("paths", type=Path, nargs="+", help="play-log files or directories")
    ig.add_argument("--out", type=Path, required=True,
                    help="the dataset directory: new, empty, or a dataset ingest wrote (which it replaces)")


def run(args: argparse.Namespace) -> int:
    import sys

    from game.content import load_ruleset

    manifest = ingest(args.paths, args.out, load_ruleset(args.content))  # IngestError, OSError: the cli's handler
    for line in manifest["bad_lines"][:20]:
        print(f"skipped {line}", file=sys.stderr)
    print(json.dumps({"out": str(args.out), "counts": manifest["counts"], "ingest": manifest["ingest"]}))
    return 0
