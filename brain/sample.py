"""`rpg-brain sample`: input blocks of a held-out suite's distribution (iid, edge, wide, crowded, long), one a
line, for anyone to pipe through `rpg-brain resolve`."""

from __future__ import annotations

import argparse
import random

from brain.suites import SUITES
from game.combat.format import encode_input
from game.content import load_ruleset

DRAWN = tuple(name for name, s in SUITES.items() if s.draw is not None)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--suite", choices=DRAWN, default="iid")
    p.add_argument("--n", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    if args.n < 0:
        raise ValueError(f"--n {args.n}: expected a count >= 0")
    rules = load_ruleset(args.content)
    draw = SUITES[args.suite].draw
    rng = random.Random(f"{args.suite}:{args.seed}")  # game.combat.sampler.sample's stream, for its suites
    for _ in range(args.n):
        print(encode_input(*draw(rng, rules)))
    return 0
