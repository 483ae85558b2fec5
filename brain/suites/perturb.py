"""perturb: malformed input blocks (labels misspelt, renamed, duplicated, dropped, fields reordered, extra
whitespace, truncated, overloaded labels). The gated path (strict parser, then the model) must reject them;
ungated, how often would the model's answer have passed as a plausible turn?"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass

from brain.suites.records import Answers
from brain.suites.registry import Run, Suite, register
from game.combat.format import FormatError, encode_input
from game.combat.judge import Resolver
from game.combat.rules import resolve
from game.combat.ruleset import Ruleset
from game.combat.sampler import Case, sample_iid
from game.combat.state import CombatState

PERTURBATIONS = ("misspell", "rename", "duplicate", "drop", "whitespace", "reorder", "truncate", "overload")
_FIELDS = (" hp", " pw", " ar", " cd", " do ", " r")
_RENAMES = {" hp": " hl", " pw": " pow", " ar": " arm", " cd": " cool", " do ": " act ", " r": " roll"}


def perturb(block: str, kind: str, rng: random.Random) -> str:
    """One label perturbation of a valid input block."""
    # a field label followed by its value (" r3", not the " r" of " rg02:1")
    spots = {f: [m.start() for m in re.finditer(re.escape(f) + (r"" if f == " do " else r"(?=\d)"), block)]
             for f in _FIELDS}
    label = rng.choice([f for f, at in spots.items() if at])
    at = spots[label][-1 if kind == "duplicate" else 0]
    start = at + len(label)
    end = start
    while end < len(block) and block[end] != " ":
        end += 1
    value = block[start:end]
    if kind == "misspell":
        word = label.strip()
        bad = word[:-1] + ("x" if word[-1] != "x" else "y")
        return block[:at] + label.replace(word, bad) + block[start:]
    if kind == "rename":
        return block[:at] + _RENAMES[label] + block[start:]
    if kind == "duplicate":
        return block[:end] + label + value + block[end:]
    if kind == "drop":
        return block[:at] + block[end:]
    if kind == "whitespace":
        i = rng.choice([i for i, ch in enumerate(block) if ch == " "])
        return block[:i] + rng.choice(["  ", "\t", " \u00a0"]) + block[i + 1:]
    if kind == "reorder":  # swap two fixed-order fields of one side
        side = block.split(" B ")[0]
        pw, ar = side.index(" pw"), side.index(" ar")
        swapped = side[:pw] + side[ar:ar + 5] + side[pw:pw + 5] + side[ar + 5:]
        return swapped + block[len(side):]
    if kind == "truncate":
        return block[:rng.randrange(1, len(block) - 1)]
    if kind == "overload":  # one label carrying two values
        extra = "".join(rng.choice("0123456789") for _ in value[-2:] or "0")
        return block[:end] + "," + extra + block[end:]
    raise ValueError(f"unknown perturbation {kind!r}")


@dataclass(frozen=True)
class PerturbResult:
    kind: str
    block: str
    rejected: bool  # the gated path refused it with an error
    error: str | None
    # Ungated answers, judged against the turn the block was perturbed from (None: not measured).
    # "plausible": parses and passes every invariant, i.e. the game would have applied it silently.
    ungated_plausible: bool | None = None  # constrained decoding, no strict parser in front
    ungated_right: bool | None = None  # ... and it is even the rules' answer to the unperturbed turn
    raw_plausible: bool | None = None  # unconstrained decoding: the bare model writing the format itself


def perturb_suite(resolver: Resolver, n: int, seed: int, rules: Ruleset, ungated_answer: Answers | None = None,
                  raw_answer: Answers | None = None) -> list[PerturbResult]:
    """Gated: strict parse then the resolver. Ungated: the text given to the model as is."""
    from game.combat.judge import resolve_blocks

    rng = random.Random(f"perturb:{seed}")
    blocks, kinds, origins = [], [], []
    for i in range(n):
        kind = PERTURBATIONS[i % len(PERTURBATIONS)]
        case = sample_iid(rng, rules)
        blocks.append(perturb(encode_input(*case), kind, rng))
        kinds.append(kind)
        origins.append(case)
    gated = resolve_blocks(resolver, blocks, rules)
    ungated = ungated_answer(blocks) if ungated_answer else [None] * n
    raws = raw_answer(blocks) if raw_answer else [None] * n
    out = []
    for kind, block, case, res, ung, raw in zip(kinds, blocks, origins, gated, ungated, raws, strict=True):
        plausible = right = None
        if ung is not None:
            nxt = _applied_state(ung, case)
            plausible = nxt is not None
            right = plausible and nxt == resolve(*case, rules).next_state
        out.append(PerturbResult(kind, block, not res.ok, res.error, plausible, right,
                                 None if raw is None else _applied_state(raw, case) is not None))
    return out


def ungated_answers(resolver: Resolver, blocks: list[str]) -> list[str | None]:
    """The model's constrained answer to each block as written, no parser in front; None where the block
    cannot be tokenised."""
    out: list[str | None] = []
    for block in blocks:
        try:
            out.append(resolver.engine.generate([block])[0])  # type: ignore[attr-defined]
        except ValueError:
            out.append(None)
    return out


def raw_answers(resolver: Resolver, blocks: list[str], limit: int = 100) -> list[str | None]:
    """The bare model's unconstrained answer to the first `limit` blocks (batch 1, slow); None elsewhere."""
    out: list[str | None] = []
    for block in blocks[:limit]:
        try:
            out.append(resolver.engine.generate_raw(block))  # type: ignore[attr-defined]
        except ValueError:
            out.append(None)
    return out + [None] * (len(blocks) - len(out))


def _applied_state(answer: str, case: Case) -> CombatState | None:
    """The state the game would have applied for this answer to the turn the block came from: it parses and
    breaks no invariant (a plausible answer), else None."""
    from game.combat.format import parse_answer
    from game.combat.validate import check_transition

    try:
        nxt = parse_answer(answer, case[0])[1]
    except FormatError:
        return None
    return None if check_transition(case[0], case[1], nxt) else nxt



def run(r: Run) -> dict:
    perturbed = perturb_suite(r.resolver, max(r.n // 2, len(PERTURBATIONS)), r.seed, r.rules, r.ungated_answer,
                              r.raw_answer)
    by_kind: dict[str, dict] = {}
    for p in perturbed:
        k = by_kind.setdefault(p.kind, Counter())
        k["n"] += 1
        k["rejected"] += p.rejected
        for name in ("ungated_plausible", "ungated_right", "raw_plausible"):
            value = getattr(p, name)
            if value is not None:
                k[name + "_measured"] += 1
                k[name] += value

    def rate(name: str) -> float | None:
        measured = sum(k[name + "_measured"] for k in by_kind.values())
        return sum(k[name] for k in by_kind.values()) / measured if measured else None

    return {
        "n": len(perturbed),
        "gated_rejection_rate": sum(p.rejected for p in perturbed) / len(perturbed),
        "ungated_plausible_rate": rate("ungated_plausible"), "ungated_right_rate": rate("ungated_right"),
        "raw_plausible_rate": rate("raw_plausible"),
        "by_kind": {kind: dict(c) for kind, c in by_kind.items()},
    }


register(Suite("perturb", "malformed input blocks: the gated path must reject them", run=run))
