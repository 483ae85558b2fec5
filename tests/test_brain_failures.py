"""Failure-first suites and metrics, checked against resolvers whose failures we know."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from brain.failures import (
    PERTURBATIONS,
    boundary_confusion,
    chain,
    chain_starts,
    judge,
    label_collapse,
    order_cases,
    perturb,
    perturb_suite,
    reversed_status_block,
    summary,
    token_drift,
)
from game.combat import resolve
from game.combat.format import FormatError, encode_answer, encode_input, parse_input
from game.combat.judge import Resolution, RulesResolver
from game.combat.sampler import sample


class Collapsing:
    """Answers like the rules, except that every hp of 1 is written as 0 (a boundary error) and the
    target's heal cooldown is always written as 0 (the commonest value: a label collapse)."""

    name = "collapsing"

    def __init__(self, rules, boundary: bool = True, collapse: bool = True):
        self.rules, self.boundary, self.collapse = rules, boundary, collapse

    def resolve_batch(self, cases):
        out = []
        for state, action, roll in cases:
            o = resolve(state, action, roll, self.rules)
            nxt = o.next_state
            a, b = nxt.actor, nxt.target
            if a.hp == 1 and self.boundary:
                a = replace(a, hp=0)
            if self.collapse:
                b = b.with_cooldown("heal", 0)
            nxt = replace(nxt, actor=a, target=b)
            out.append(Resolution(self.name, encode_answer(o.events, nxt), nxt, o.events))
        return out


def test_every_perturbation_is_rejected_by_the_gated_path(rules):
    results = perturb_suite(RulesResolver(rules), 400, 0, rules)
    assert {r.kind for r in results} == set(PERTURBATIONS)
    assert all(r.rejected and r.error.startswith("malformed input") for r in results)


def test_perturb_changes_the_block(rules):
    rng = random.Random(1)
    for state, action, roll in sample("iid", 50, 0, rules):
        block = encode_input(state, action, roll)
        for kind in PERTURBATIONS:
            assert perturb(block, kind, rng) != block


def test_reversed_status_order_is_still_the_same_input(rules):
    for case in sample("iid", 200, 2, rules):
        text = reversed_status_block(case)
        assert parse_input(text) == case


def test_metrics_are_clean_for_the_rules(rules):
    records = judge(RulesResolver(rules), sample("edge", 300, 0, rules), rules)
    assert summary(records)["exact_match"] == 1.0
    assert label_collapse(records)["value"] == 0.0
    assert boundary_confusion(records)["value"] == 1.0
    runs = [r for s in chain_starts(3, 0, rules) for r in chain(RulesResolver(rules), s, 50, 0, rules)]
    assert all(r.exact for r in runs)
    assert token_drift(records, runs)["value"] == 0.0


def test_metrics_see_known_failures(rules):
    cases, _ = order_cases(60, 0, rules)
    cases = cases + sample("edge", 400, 0, rules)
    collapse = label_collapse(judge(Collapsing(rules, boundary=False), cases, rules))
    assert collapse["collapsed"] > 0 and collapse["value"] == 1.0
    bc = boundary_confusion(judge(Collapsing(rules, collapse=False), cases, rules))
    assert bc["error_at_boundary"] > 0 and bc["error_away"] == 0 and bc["value"] == float("inf")


def test_chain_tracks_divergence(rules):
    start = chain_starts(1, 5, rules)[0]
    records = chain(Collapsing(rules), start, 50, 0, rules)
    assert 1 <= len(records) <= 50
    if len(records) < 50:  # the fight ended: the last answer left a side at 0 hp, and no turn follows
        last = records[-1]
        nxt = last.answer.next_state if last.answer.ok and last.answer.next_state else last.truth
        assert 0 in (nxt.actor.hp, nxt.target.hp, last.truth.actor.hp, last.truth.target.hp)
    off = [r.tag.endswith(":off") for r in records]
    if any(not r.exact for r in records):  # once off the rules chain, the tag says so
        first = next(i for i, r in enumerate(records) if not r.exact)
        assert all(off[first + 1:])


def test_the_parser_refuses_every_perturbed_block_with_a_format_error(rules):
    """Never another exception: a FormatError naming a column and a field, for every kind on many blocks."""
    rng = random.Random(0)
    for case in sample("iid", 30, 4, rules):
        block = encode_input(*case)
        for kind in PERTURBATIONS:
            with pytest.raises(FormatError) as info:
                parse_input(perturb(block, kind, rng))
            assert info.value.column >= 1 and info.value.field


def test_run_all_has_every_suite_and_metric(rules):
    from brain.failures import all_table, run_all

    out = run_all(RulesResolver(rules), rules, n=40, chains=2, chain_turns=20)
    assert {"iid", "edge", "wide", "crowded", "long", "boundary", "perturb", "order", "ood", "probe", "chain",
            "label_collapse", "token_drift", "boundary_confusion"} <= set(out)
    assert out["ood"]["n"] == 0 and out["probe"]["n"] == 0  # the rules have no envelope: nothing lies beyond it
    assert out["perturb"]["gated_rejection_rate"] == 1.0
    assert out["chain"]["on_track_share"] == 1.0 and out["order"]["status_reversed_exact"] == 1.0
    bad = run_all(Collapsing(rules), rules, n=40, chains=2, chain_turns=20)
    assert bad["label_collapse"]["value"] > 0 and bad["iid"]["state_exact"] < 1.0
    assert "| label collapse |" in all_table(bad)


def test_the_table_of_a_model_with_an_envelope(rules):
    """A model that declines past a narrow envelope: wide turns are counted outside, not wrong, and the probe
    and ood rows give each model's fallbacks and silent answers (the table once failed on the probe's rows)."""
    from envelopes import NARROW
    from fakes import PerfectModel

    from brain.failures import all_table, run_all
    from game.combat.envelope import OUTSIDE

    class Guarded(PerfectModel):
        name = "fake-guarded"

        def envelopes(self):
            return [(self.name, NARROW, self)]

        def answer(self, case):  # unguarded, as the ood suite asks the bare model
            return self.inner.resolve_batch([case])[0].raw

        def resolve_batch(self, cases):
            whys = [NARROW.outside(c) for c in cases]
            return [Resolution(self.name, "", error=f"{OUTSIDE}: {why}") if why else r
                    for why, r in zip(whys, super().resolve_batch(cases), strict=True)]

    out = run_all(Guarded(rules), rules, n=40, chains=2, chain_turns=20)
    assert out["probe"]["n"] > 0 and out["probe"]["silent"] == 0 == out["ood"]["silent"]
    assert out["ood"]["models"][Guarded.name]["unguarded_exact"] == 1.0
    assert out["wide"]["outside_envelope"] > 0 and out["wide"]["wrong"] == 0
    table = all_table(out)
    assert "| probe |" in table and "0 silent" in table and f"{out['probe']['n']} fallbacks" in table


def test_ungated_answers_are_judged_against_the_unperturbed_turn(rules):
    def forgiving(blocks):
        """Reads through whitespace damage like a lenient parser would, answers garbage otherwise."""
        out = []
        for b in blocks:
            try:
                case = parse_input(" ".join(b.split()))
            except FormatError:
                out.append("garbage")
                continue
            o = resolve(*case, rules)
            out.append(encode_answer(o.events, o.next_state))
        return out

    results = perturb_suite(RulesResolver(rules), 160, 0, rules, ungated_answer=forgiving)
    spaced = [r for r in results if r.kind == "whitespace"]
    assert spaced and all(r.ungated_plausible and r.ungated_right for r in spaced)
    assert all(r.ungated_plausible is False for r in results if r.kind == "truncate")
    assert all(r.raw_plausible is None for r in results)
