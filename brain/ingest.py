"""Play logs -> training data. The rules engine labels every record; the model's answer is never trusted.

`rpg-brain ingest PATH... --out DIR` reads play logs (files or directories), keeps records of this
format version and ruleset, re-labels each input block with the rules, drops duplicates and every
block of the held-out test split, and writes the dataset in the same shard layout as `rpg-brain gen`
(train / val JSONL, manifest.json with provenance). The `val` part is the held-out slice of play
data that `rpg-brain finetune` evaluates on. Bad lines are counted and reported with file and line.

Nothing is lost on the way: the logs are streamed (memory grows with the number of distinct blocks,
an 8-byte digest each, not with the logs' size), the dataset is written into a temporary directory
beside DIR and only swapped in once complete, and a missing input or an --out that is a file is an
IngestError before anything is written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

from brain.data import split_of
from game.combat.envelope import check_case
from game.combat.format import FORMAT_VERSION, FormatError, encode_answer, parse_input
from game.combat.rules import resolve
from game.combat.ruleset import Ruleset
from game.playlog import BadLine, iter_playlog_lines, playlog_files

SPLITS = ("train", "val")


class IngestError(ValueError):
    """The inputs or the output directory cannot be used; nothing was written."""


def _check(paths: list[Path], out_dir: Path) -> list[Path]:
    for p in paths:
        if not p.exists():
            raise IngestError(f"{p}: no such file or directory")
    if out_dir.exists() and not out_dir.is_dir():
        raise IngestError(f"--out {out_dir}: is a file; expected a directory (new, or a dataset to replace)")
    files = list(playlog_files(paths))
    if not files:
        raise IngestError(f"no play logs (*.jsonl) under {', '.join(map(str, paths))}")
    return files


def ingest(paths: list[Path], out_dir: Path, rules: Ruleset) -> dict:
    """Write the dataset and return its manifest (also written as manifest.json)."""
    out_dir = Path(out_dir)
    files = _check([Path(p) for p in paths], out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        manifest = _write_dataset(files, tmp, rules)
        _swap_in(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def _write_dataset(files: list[Path], out_dir: Path, rules: Ruleset) -> dict:
    bad: list[BadLine] = []
    counts: Counter[str] = Counter()
    seen: set[bytes] = set()  # digests, not blocks: memory per distinct block stays small
    rows: Counter[str] = Counter()
    actions: dict[str, Counter[str]] = {s: Counter() for s in SPLITS}
    sources: dict[str, Counter[str]] = {}
    shards = {s: f"{s}-play.jsonl" for s in SPLITS}
    outs = {s: open(out_dir / name, "w", encoding="utf-8") for s, name in shards.items()}
    try:
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
            outs[split].write(json.dumps({"input": block, "answer": answer, "action": case[1],
                                          "rules": [e.rule for e in out.events], "source": f"{file}:{line}"}) + "\n")
            rows[split] += 1
            actions[split][case[1]] += 1
            sources.setdefault(file, Counter())[split] += 1
        for fh in outs.values():
            fh.flush()
            os.fsync(fh.fileno())
    finally:
        for fh in outs.values():
            fh.close()
    counts["bad_lines"] = len(bad)
    manifest = {
        "kind": "playlog", "format_version": FORMAT_VERSION, "ruleset_id": rules.ruleset_id,
        "counts": {"train": rows["train"], "val": rows["val"], "test": 0},
        "ingest": dict(sorted(counts.items())), "shards": {**{s: [n] for s, n in shards.items()}, "test": []},
        "sources": {f: {**dict(c), "sha256": _sha256(Path(f))} for f, c in sorted(sources.items())},
        "actions": {s: dict(c) for s, c in actions.items()},
        "bad_lines": [str(b) for b in bad[:200]],
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _swap_in(tmp: Path, out_dir: Path) -> None:
    """Put the complete new dataset at out_dir; the old one (if any) is removed only after the swap.
    A kill between the two renames leaves the old dataset whole under .NAME.old-PID."""
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
    ig.add_argument("--out", type=Path, required=True)


def run(args: argparse.Namespace) -> int:
    import sys

    from game.content import load_ruleset

    manifest = ingest(args.paths, args.out, load_ruleset(args.content))  # IngestError, OSError: the cli's handler
    for line in manifest["bad_lines"][:20]:
        print(f"skipped {line}", file=sys.stderr)
    print(json.dumps({"out": str(args.out), "counts": manifest["counts"], "ingest": manifest["ingest"]}))
    return 0
