"""`rpg-brain sample`: input blocks from the state sampler, one a line."""

from __future__ import annotations

import argparse

from game.combat.format import encode_input
from game.combat.sampler import SUITES, sample
from game.content import load_ruleset


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--suite", choices=sorted(SUITES), default="iid")
    p.add_argument("--n", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    rules = load_ruleset(args.content)
    for state, action, roll in sample(args.suite, args.n, args.seed, rules):
        print(encode_input(state, action, roll))
    return 0
