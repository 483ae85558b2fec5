"""The failure-first report: every registered suite on one resolver, then the three metrics.

The suites live in brain/suites/ (perturb, order, ood, chain beside iid and edge; docs/evaluation.md defines
them), the metrics in brain/suites/metrics.py; this module runs them together, as `rpg-brain eval --suite all`
and the report card do, and writes their table. Names below are re-exported so older imports keep working.
"""

from __future__ import annotations

from collections.abc import Iterable

from brain.suites import EVAL_SEED, SUITES, Run
from brain.suites.chain import CHAIN_SCRIPT, chain, chain_starts
from brain.suites.metrics import at_boundary, boundary_confusion, label_collapse, token_drift
from brain.suites.order import order_cases, reversed_status_block
from brain.suites.perturb import (
    PERTURBATIONS,
    PerturbResult,
    perturb,
    perturb_suite,
    raw_answers,
    ungated_answers,
)
from brain.suites.records import Answers, CachingResolver, Record, judge, summary
from game.combat.judge import Resolver
from game.combat.ruleset import Ruleset

__all__ = ["CHAIN_SCRIPT", "PERTURBATIONS", "Answers", "CachingResolver", "PerturbResult", "Record", "all_table",
           "at_boundary", "boundary_confusion", "chain", "chain_starts", "judge", "label_collapse",
           "order_cases", "perturb", "perturb_suite", "raw_answers", "reversed_status_block", "run_all", "summary",
           "token_drift", "ungated_answers"]


def run_all(resolver: Resolver, rules: Ruleset, n: int = 1000, ungated_answer: Answers | None = None,
            raw_answer: Answers | None = None, chains: int = 10, chain_turns: int = 50, seed: int = EVAL_SEED,
            suites: Iterable[str] | None = None) -> dict:
    """Every suite (or only `suites`, then without the metrics) and the three metrics, as `rpg-brain eval
    --suite all` reports them. One `Run` is shared, so each case is decoded once; `seed` draws every suite."""
    run = Run(resolver, rules, n, seed, ungated_answer, raw_answer, chains, chain_turns)
    names = list(SUITES) if suites is None else [s for s in SUITES if s in set(suites)]
    out = {name: SUITES[name].results(run) for name in names}
    if suites is not None:
        return out
    rec = run.records
    held = [r for s in HELD_OUT for r in rec[s]]
    out["label_collapse"] = label_collapse(held + rec["ood"] + rec["order"])
    out["token_drift"] = token_drift(held, rec["chain"])
    out["boundary_confusion"] = boundary_confusion(held)
    return out


HELD_OUT = ("iid", "edge", "wide", "crowded", "long", "boundary")


def all_table(result: dict) -> str:
    """The failure-first table of the report."""
    rows = ["| suite | n | next-state exact | notes |", "|---|---|---|---|"]
    for s in HELD_OUT:
        r = result[s]
        exact = f"{r['state_exact']:.2%}" if r["answered"] else "- (none answered)"
        rows.append(f"| {s} | {r['n']} | {exact} | parse fail {r['parse_failures']}, invariant fail "
                    f"{r['invariant_failures']}, outside the envelope {r['outside_envelope']}, wrong "
                    f"{r['wrong']} |")
    o = result["order"]
    rows.append(f"| order | {o['n']} | {o['state_exact']:.2%} | status order reversed: "
                f"{o['status_reversed_exact']:.2%} exact, {o['status_reversed_agreement']:.2%} same answer; all 8 "
                f"actions right for {o['all_actions_right_share']:.2%} of states |")
    for name in ("ood", "probe"):
        r = result[name]
        per = "; ".join(f"{m}: {v['n']} turns, {v['fallbacks']} fallbacks, {v['silent']} silent"
                        + (f", unguarded exact {v['unguarded_exact']:.2%}" if v.get("unguarded_exact") is not None
                           else "")
                        + (f", {len(v['at_the_format_bound'])} of its fields at the format's bound"
                           if "at_the_format_bound" in v else "")
                        for m, v in r["models"].items())
        rows.append(f"| {name} | {r['n']} | - | {r['silent']} silent answers outside the envelope; "
                    f"{per or 'no envelope'} |")
    p = result["perturb"]
    pct = lambda v: "not measured" if v is None else f"{v:.2%}"
    rows.append(f"| perturb | {p['n']} | - | gated path rejects {p['gated_rejection_rate']:.2%}; ungated, the model's "
                f"answer would pass as plausible for {pct(p['ungated_plausible_rate'])} (and be the right answer to "
                f"the unperturbed turn for {pct(p['ungated_right_rate'])}); unconstrained, it writes a plausible "
                f"state for {pct(p['raw_plausible_rate'])} |")
    c = result["chain"]
    first = c["mean_first_divergence_turn"]
    mean_turns = c.get("mean_turns", c["turns"])
    rows.append(f"| chain | {c['runs']} fights of up to {c['turns']} turns (mean {mean_turns:.1f}) "
                f"| {c['on_track_share']:.2%} of turns on the rules chain | {c['runs_never_diverged']}/{c['runs']} "
                f"runs never diverged" + ("" if first is None else f"; mean first divergence at turn {first:.1f}")
                + " |")
    lc, td, bc = result["label_collapse"], result["token_drift"], result["boundary_confusion"]
    rows += ["", "| metric | value | detail |", "|---|---|---|",
             f"| label collapse | {lc['value']:.3f} | {lc['collapsed']} of {lc['wrong_fields']} wrong fields hold "
             "the field's commonest value |",
             f"| token drift | {td['value']:+.3f} | chain off-track share {td.get('chain_first_half', 0):.3f} (turns "
             f"1-25) -> {td.get('chain_second_half', 0):.3f} (26-50); within a block late-minus-early field error "
             f"{td['block_late_minus_early']:+.4f} ({td.get('late_wrong', 0)} late vs {td.get('early_wrong', 0)} "
             "early wrong fields) |",
             f"| boundary confusion | {bc['value']:.2f} | {bc.get('wrong_at_boundary', 0)} wrong of "
             f"{bc['n_at_boundary']} at boundaries ({bc['error_at_boundary']:.2%}) vs {bc.get('wrong_away', 0)} of "
             f"{bc['n_away']} away ({bc['error_away']:.2%}) |"]
    return "\n".join(rows)
