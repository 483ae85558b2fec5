"""Training data: (input block, answer) pairs labelled by the rules engine.

The answer is format.encode_answer(events, next_state): the derivation
scratchpad, ` | `, the canonical next-state block. Cases come from the game's
sampler, mixed iid/edge and weighted toward hard turns (strikes, several hp
changes). The split is a hash of the input block, so a block lands in the same
split whoever draws it: test blocks are never trained on, whatever the seed.

Training reads an infinite stream (`stream`); `rpg-brain gen` writes the same
distribution to JSONL shards with a manifest, for inspection and for eval.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from multiprocessing import Pool
from pathlib import Path

from game.combat.format import FORMAT_VERSION, answer_grammar, encode_answer, encode_input
from game.combat.rules import resolve
from game.combat.ruleset import Ruleset
from game.combat.sampler import Case, sample_edge, sample_iid

SPLITS = ("train", "val", "test")
# strikes and multi-step arithmetic are where a small model goes wrong (issue 5)
_STRIKES = frozenset({"attack", "poison_strike"})


def split_of(block: str) -> str:
    """train / val / test by sha1 of the input block: 90 / 5 / 5."""
    h = int.from_bytes(hashlib.sha1(block.encode()).digest()[:8], "little") % 100
    return "train" if h < 90 else "val" if h < 95 else "test"


@dataclass(frozen=True)
class Mix:
    """How the stream draws cases (recorded in the manifest)."""

    edge: float = 0.2  # share of sample_edge cases
    easy_keep: float = 0.5  # acceptance of an easy case (no strike, < 2 arithmetic events)


@dataclass(frozen=True)
class Example:
    block: str
    answer: str
    action: str
    rules: tuple[str, ...]  # the rule events that fired, in order


def label(case: Case, rules: Ruleset) -> Example:
    state, action, roll = case
    out = resolve(state, action, roll, rules)
    return Example(encode_input(state, action, roll), encode_answer(out.events, out.next_state), action,
                   tuple(e.rule for e in out.events))


def is_hard(ex: Example, outcome_events: int) -> bool:
    return ex.action in _STRIKES or outcome_events >= 2


def _arith(ex: Example) -> int:
    return ex.answer.split(" | ")[0].count(">")


def draw(rng: random.Random, rules: Ruleset, mix: Mix = Mix()) -> Example:
    """One example from the training distribution (any split)."""
    while True:
        case = sample_edge(rng, rules) if rng.random() < mix.edge else sample_iid(rng, rules)
        ex = label(case, rules)
        if is_hard(ex, _arith(ex)) or rng.random() < mix.easy_keep:
            return ex


def stream(seed: int, split: str, rules: Ruleset, mix: Mix = Mix(), rank: int = 0) -> Iterator[Example]:
    """Endless examples of one split; distinct ranks draw distinct streams."""
    rng = random.Random(f"stream:{seed}:{rank}")
    while True:
        ex = draw(rng, rules, mix)
        if split_of(ex.block) == split:
            yield ex


def forced_mask(answer_pieces: list[str]) -> list[bool]:
    """For each answer token (and the final END), whether the grammar left it no choice."""
    g = answer_grammar()
    allowed = next(g)
    out = []
    for piece in [*answer_pieces, ""]:
        out.append(len(allowed) == 1)
        if piece not in allowed:
            raise ValueError(f"token {piece!r} not allowed by the answer grammar here")
        if piece == "":
            break
        allowed = g.send(piece)
    return out


# ---------------------------------------------------------------- gen: shards + manifest

def _shard(job: tuple[int, int, int, dict, dict]) -> tuple[dict[str, list[dict]], int]:
    index, n, seed, rules_d, mix_d = job
    rules, mix = Ruleset(**rules_d), Mix(**mix_d)
    rng = random.Random(f"gen:{seed}:{index}")
    out: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for _ in range(n):
        ex = draw(rng, rules, mix)
        out[split_of(ex.block)].append({"input": ex.block, "answer": ex.answer, "action": ex.action,
                                        "rules": list(ex.rules)})
    return out, n


def generate(out_dir: Path, n: int, seed: int, rules: Ruleset, mix: Mix = Mix(), shard_size: int = 50_000,
             workers: int = 2) -> dict:
    """Write n draws (deduplicated) as JSONL shards per split, plus manifest.json; returns the manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(i, min(shard_size, n - i * shard_size), seed, asdict(rules), asdict(mix))
            for i in range((n + shard_size - 1) // shard_size)]
    seen: set[str] = set()
    counts = {s: 0 for s in SPLITS}
    actions = {s: Counter() for s in SPLITS}
    events = {s: Counter() for s in SPLITS}
    shards: dict[str, list[str]] = {s: [] for s in SPLITS}
    dupes = 0
    with Pool(workers) as pool:
        for i, (by_split, _) in enumerate(pool.imap(_shard, jobs)):
            for split, rows in by_split.items():
                name = f"{split}-{i:04d}.jsonl"
                with open(out_dir / name, "w") as f:
                    for row in rows:
                        if row["input"] in seen:
                            dupes += 1
                            continue
                        seen.add(row["input"])
                        f.write(json.dumps(row) + "\n")
                        counts[split] += 1
                        actions[split][row["action"]] += 1
                        events[split].update(row["rules"])
                shards[split].append(name)
    manifest = {
        "format_version": FORMAT_VERSION, "ruleset_id": rules.ruleset_id, "seed": seed, "draws": n,
        "duplicates_removed": dupes, "mix": asdict(mix), "counts": counts, "shards": shards,
        "actions": {s: dict(sorted(c.items())) for s, c in actions.items()},
        "rule_events": {s: dict(sorted(c.items())) for s, c in events.items()},
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def manifest_hash(manifest: dict) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:16]


def read_split(data_dir: Path, split: str) -> Iterator[dict]:
    manifest = json.loads((data_dir / "manifest.json").read_text())
    for name in manifest["shards"][split]:
        with open(data_dir / name) as f:
            for line in f:
                yield json.loads(line)
