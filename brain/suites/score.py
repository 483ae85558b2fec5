"""Scoring a resolver on cases: exact match of the answer and of the next state, per-field accuracy, failures,
turns outside its envelope, the rule events behind wrong answers; and pooled rates with a 95% interval."""

from __future__ import annotations

import math
from collections import Counter

from game.combat.envelope import Case
from game.combat.format import encode_answer, encode_derivation, encode_input, encode_output
from game.combat.judge import Resolver
from game.combat.rules import resolve
from game.combat.ruleset import Ruleset
from game.combat.validate import diff, flatten, involved_rules


def _hp_changes(events) -> int:
    return sum(1 for e in events if e.result is not None)


def evaluate(resolver: Resolver, cases: list[Case], rules: Ruleset, batch: int = 256) -> dict:
    """Exact match (answer, next state, derivation), per-field accuracy, failures and the rules behind errors."""
    n = len(cases)
    exact = state_exact = deriv_exact = parse_fail = invariant_fail = outside = 0
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
            if res.declined:  # outside the model's envelope: the rules answer it in play; not a wrong answer
                outside += 1
                continue
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
    answered = max(1, n - outside)
    return {
        "n": n, "answered": n - outside, "outside_envelope": outside, "right": exact, "wrong": n - outside - exact,
        "exact": exact / answered, "state_exact": state_exact / answered, "derivation_exact": deriv_exact / answered,
        "field_accuracy": fields_right / max(1, fields_total), "parse_failures": parse_fail,
        "invariant_failures": invariant_fail, "mean_latency_ms": latency / answered,
        "by_action": rate(by_action), "by_hp_changes": rate(by_changes), "by_rule": rate(by_rule),
        "wrong_fields": dict(wrong_fields.most_common(15)), "wrong_rules": dict(wrong_rules.most_common(15)),
        "examples": examples,
    }


def wilson(right: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson interval of a rate: honest near 100%, where right/n +- 2 sd would pass 1."""
    if n == 0:
        return 0.0, 1.0
    p = right / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def pooled(runs: list[dict]) -> dict:
    """One suite over several seeds: the counts added, exact with its 95% interval, and each seed's exact."""
    right = sum(r["right"] for r in runs)
    answered = sum(r["answered"] for r in runs)
    lo, hi = wilson(right, answered)
    return {"seeds": [r["seed"] for r in runs], "n": sum(r["n"] for r in runs), "answered": answered,
            "right": right, "wrong": answered - right, "outside_envelope": sum(r["outside_envelope"] for r in runs),
            "parse_failures": sum(r["parse_failures"] for r in runs),
            "invariant_failures": sum(r["invariant_failures"] for r in runs),
            "exact": right / max(1, answered), "exact_95": [lo, hi], "per_seed_exact": [r["exact"] for r in runs]}


def summary_table(results: dict[str, dict]) -> str:
    """A markdown table, one row per suite (pooled over seeds when `exact_95` is there)."""
    lines = ["| suite | n | exact | 95% interval | wrong | outside envelope | parse fail | invariant fail |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        lo, hi = r.get("exact_95") or wilson(r["right"], r["answered"])
        lines.append(f"| {name} | {r['n']} | {r['exact']:.3%} | {lo:.3%} - {hi:.3%} | {r['wrong']} "
                     f"| {r['outside_envelope']} | {r['parse_failures']} | {r['invariant_failures']} |")
    return "\n".join(lines)
