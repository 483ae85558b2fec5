"""Held-out evaluation: how often the model writes exactly what the rules write.

Cases come from a suite (a registry, so perturbation/order/ood/chain suites can
be added: a name and a function drawing cases) with an evaluation seed no
training run uses, and only blocks whose split hash is 'test' are kept, so no
evaluated block was ever trained on.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from brain.data import split_of
from game.combat.format import encode_answer, encode_derivation, encode_input, encode_output
from game.combat.rules import resolve
from game.combat.ruleset import Ruleset
from game.combat.sampler import Case, sample_edge, sample_iid
from game.combat.validate import diff, flatten, involved_rules
from game.resolve import Resolver

EVAL_SEED = 20261125  # training seeds are small integers; this one is never used for training


@dataclass(frozen=True)
class Suite:
    name: str
    draw: Callable[[random.Random, Ruleset], Case]
    about: str


SUITES: dict[str, Suite] = {}


def register(suite: Suite) -> Suite:
    SUITES[suite.name] = suite
    return suite


register(Suite("iid", sample_iid, "the training distribution (sampler.sample_iid)"))
register(Suite("edge", sample_edge, "deliberate edges: hp 0/1/max, last-turn statuses, stun, cooldowns, lethal hits"))


def held_out(suite: str, n: int, rules: Ruleset, seed: int = EVAL_SEED) -> list[Case]:
    """n cases of a suite whose input blocks hash to the test split."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; expected one of {', '.join(SUITES)}")
    rng = random.Random(f"eval:{suite}:{seed}")
    out: list[Case] = []
    while len(out) < n:
        case = SUITES[suite].draw(rng, rules)
        if split_of(encode_input(*case)) == "test":
            out.append(case)
    return out


def _hp_changes(events) -> int:
    return sum(1 for e in events if e.result is not None)


def evaluate(resolver: Resolver, cases: list[Case], rules: Ruleset, batch: int = 256) -> dict:
    """Exact match (answer, next state, derivation), per-field accuracy, failures and the rules behind errors."""
    n = len(cases)
    exact = state_exact = deriv_exact = parse_fail = invariant_fail = 0
    fields_total = fields_right = 0
    wrong_rules: Counter[str] = Counter()
    by_action: dict[str, list[int]] = {}
    by_changes: dict[int, list[int]] = {}
    by_rule: dict[str, list[int]] = {}
    wrong_fields: Counter[str] = Counter()
    examples: list[dict] = []
    latency = 0.0
    for i in range(0, n, batch):
        chunk = cases[i:i + batch]
        for case, res in zip(chunk, resolver.resolve_batch(chunk), strict=False):
            state, action, roll = case
            want = resolve(state, action, roll, rules)
            want_text = encode_answer(want.events, want.next_state)
            latency += res.latency_ms
            ok_state = res.next_state is not None and encode_output(res.next_state) == encode_output(want.next_state)
            ok = res.ok and res.raw == want_text
            exact += ok
            state_exact += ok_state and res.ok
            deriv_exact += res.events is not None and encode_derivation(res.events) == encode_derivation(want.events)
            if res.error and res.error.startswith("malformed"):
                parse_fail += 1
            elif res.error and res.error.startswith("invariant"):
                invariant_fail += 1
            flat = flatten(want.next_state)
            fields_total += len(flat)
            if res.next_state is not None:
                diffs = diff(res.next_state, want.next_state)
                fields_right += len(flat) - len(diffs)
                for d in diffs:
                    wrong_fields[d.field] += 1
                    wrong_rules.update(involved_rules(d.field, want.events))
            for table, key in ((by_action, action), (by_changes, min(_hp_changes(want.events), 5))):
                table.setdefault(key, [0, 0])[0] += ok
                table[key][1] += 1
            for rule in {e.rule for e in want.events}:
                by_rule.setdefault(rule, [0, 0])[0] += ok
                by_rule[rule][1] += 1
            if not ok and len(examples) < 10:
                examples.append({"input": encode_input(*case), "want": want_text, "got": res.raw, "error": res.error})
    rate = lambda t: {str(k): {"exact": v[0] / v[1], "n": v[1]} for k, v in sorted(t.items())}
    return {
        "n": n, "exact": exact / n, "state_exact": state_exact / n, "derivation_exact": deriv_exact / n,
        "field_accuracy": fields_right / max(1, fields_total), "parse_failures": parse_fail,
        "invariant_failures": invariant_fail, "mean_latency_ms": latency / max(1, n),
        "by_action": rate(by_action), "by_hp_changes": rate(by_changes), "by_rule": rate(by_rule),
        "wrong_fields": dict(wrong_fields.most_common(15)), "wrong_rules": dict(wrong_rules.most_common(15)),
        "examples": examples,
    }


def summary_table(results: dict[str, dict]) -> str:
    """A markdown table, one row per suite."""
    lines = ["| suite | n | exact | next-state exact | derivation exact | field acc | parse fail | invariant fail |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['n']} | {r['exact']:.2%} | {r['state_exact']:.2%} | {r['derivation_exact']:.2%} "
                     f"| {r['field_accuracy']:.3%} | {r['parse_failures']} | {r['invariant_failures']} |")
    return "\n".join(lines)
