"""Play logs -> training data. The rules engine labels every record; the model's answer is never trusted.

`rpg-brain ingest PATH... --out DIR` reads play logs (files or directories), keeps records of this
format version and ruleset, re-labels each input block with the rules, drops duplicates and every
block of the held-out test split, and writes the dataset in the same shard layout as `rpg-brain gen`
(train / val JSONL, manifest.json with provenance). The `val` part is the held-out slice of play
data that `rpg-brain finetune` evaluates on. Bad lines are counted and reported with file and line.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from brain.data import split_of
from game.combat.format import FORMAT_VERSION, FormatError, encode_answer, parse_input
from game.combat.rules import resolve
from game.combat.ruleset import Ruleset
from game.playlog import BadLine, iter_playlog_lines
from game.resolve import check_case


def ingest(paths: list[Path], out_dir: Path, rules: Ruleset) -> dict:
    """Write the dataset and return its manifest (also written as manifest.json)."""
    bad: list[BadLine] = []
    counts: Counter[str] = Counter()
    seen: set[str] = set()
    rows: dict[str, list[dict]] = {"train": [], "val": []}
    sources: dict[str, Counter[str]] = {}
    for file, line, rec in iter_playlog_lines([Path(p) for p in paths], bad):
        counts["records"] += 1
        where = f"{file}:{line}"
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
        if block in seen:
            counts["duplicates"] += 1
            continue
        seen.add(block)
        split = split_of(block)
        if split == "test":
            counts["test_split_removed"] += 1
            continue
        out = resolve(*case, rules)
        answer = encode_answer(out.events, out.next_state)
        counts["relabelled_differently"] += answer != rec["rules_answer"]
        counts["model_was_wrong"] += rec["model_answer"] is not None and rec["model_answer"] != answer
        rows[split].append({"input": block, "answer": answer, "action": case[1],
                            "rules": [e.rule for e in out.events], "source": where})
        sources.setdefault(file, Counter())[split] += 1
    counts["bad_lines"] = len(bad)
    out_dir.mkdir(parents=True, exist_ok=True)
    shards = {"train": [], "val": [], "test": []}
    for split, items in rows.items():
        name = f"{split}-play.jsonl"
        with open(out_dir / name, "w", encoding="utf-8") as fh:
            for row in items:
                fh.write(json.dumps(row) + "\n")
        shards[split].append(name)
    manifest = {
        "kind": "playlog", "format_version": FORMAT_VERSION, "ruleset_id": rules.ruleset_id,
        "counts": {"train": len(rows["train"]), "val": len(rows["val"]), "test": 0},
        "ingest": dict(sorted(counts.items())), "shards": shards,
        "sources": {f: {**dict(c), "sha256": _sha256(Path(f))} for f, c in sorted(sources.items())},
        "actions": {s: dict(Counter(r["action"] for r in items)) for s, items in rows.items()},
        "bad_lines": [str(b) for b in bad[:200]],
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return "unreadable"
