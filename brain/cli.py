"""`rpg-brain`: the model pipeline's command line.

Subcommands that need torch import it inside their handler, so `sample` and
`resolve --resolver rules` stay fast and work without it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

from game.combat.format import encode_input, encode_output
from game.combat.sampler import SUITES, sample
from game.content import ContentError, load_ruleset
from game.resolve import Resolver, RulesResolver, resolve_blocks

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    COMMANDS[fn.__name__.removeprefix("cmd_")] = fn
    return fn


@command
def cmd_sample(args: argparse.Namespace) -> int:
    rules = load_ruleset(args.content)
    for state, action, roll in sample(args.suite, args.n, args.seed, rules):
        print(encode_input(state, action, roll))
    return 0


def _chunks(lines: Iterator[str], size: int) -> Iterator[list[str]]:
    while chunk := list(islice(lines, size)):
        yield chunk


@command
def cmd_resolve(args: argparse.Namespace) -> int:
    rules = load_ruleset(args.content)
    resolver: Resolver
    if args.resolver == "rules":
        resolver = RulesResolver(rules)
    else:
        from game.resolve import load_model_resolver

        try:
            resolver = load_model_resolver(args.model, rules)
        except ValueError as exc:
            print(f"rpg-brain: cannot load the model: {exc}", file=sys.stderr)
            return 2
    # the model answers a batch at a time; the rules answer line by line, so streams stay live
    size = 1 if args.resolver == "rules" else args.batch
    lines = (line.rstrip("\r\n") for line in sys.stdin)
    for chunk in _chunks(lines, size):
        for res in resolve_blocks(resolver, chunk, rules):
            if res.ok:
                print(res.raw if args.derivation else encode_output(res.next_state))
            else:
                print(f"error: {res.error}")
        sys.stdout.flush()
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rpg-brain", description=__doc__.splitlines()[0])
    p.add_argument("--content", type=Path, default=None, help="content directory (default: the project's content/)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("sample", help="print input blocks from the state sampler")
    s.add_argument("--suite", choices=sorted(SUITES), default="iid")
    s.add_argument("--n", type=int, default=10)
    s.add_argument("--seed", type=int, default=0)

    r = sub.add_parser("resolve", help="read input blocks on stdin, write one next-state block or error per line")
    r.add_argument("--resolver", choices=("rules", "model"), default="rules")
    r.add_argument("--model", type=Path, default=None, help="model directory (default: the shipped model)")
    r.add_argument("--batch", type=int, default=256, help="lines resolved together by the model")
    r.add_argument("--derivation", action="store_true", help="print the whole answer, derivation included")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ContentError as exc:
        print(f"rpg-brain: bad content: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `rpg-brain sample | head` is normal use
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
