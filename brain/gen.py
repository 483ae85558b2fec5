"""`rpg-brain gen`: the training distribution as token shards + manifest.json (brain/shards.py does the work)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from brain.data import Mix
from brain.shards import generate
from game.combat.sampler import SAMPLERS
from game.content import load_ruleset


def add_arguments(g: argparse.ArgumentParser) -> None:
    g.add_argument("--out", type=Path, default=Path("brain/data"))
    g.add_argument("--n", type=int, default=200_000, help="draws before the split and deduplication")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--sampler", choices=tuple(SAMPLERS), default="wide",
                   help="the envelope the data covers: wide (the whole format) or narrow (the shipped model's)")
    g.add_argument("--edge", type=float, default=0.2, help="share of edge-suite cases")
    g.add_argument("--easy-keep", type=float, default=0.5, help="acceptance of an easy case")
    g.add_argument("--boundary", type=float, default=0.0,
                   help="share of draws redrawn until the turn is on a boundary (a heal capped at max hp, a shield "
                        "the size of the hit: brain.data.on_boundary)")
    g.add_argument("--long", type=float, default=0.0,
                   help="share of draws that are lengthy whole-format turns of 220 tokens or more (brain.data.LONG; "
                        "wide sampler only)")
    g.add_argument("--narrow", type=float, default=0.0,
                   help="share of draws from the narrow sampler (today's play, inside the wide envelope: heals "
                        "near max hp are common there; wide sampler only)")
    g.add_argument("--workers", type=int, default=None, help="processes drawing shards (default: every core)")
    g.add_argument("--shard-size", type=int, default=50_000, help="draws per shard (the unit of resume)")
    g.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    rules = load_ruleset(args.content)
    # ShardError: the cli's one handler
    mix = Mix(args.edge, args.easy_keep, args.sampler, args.boundary, args.long, args.narrow)
    m = generate(args.out, args.n, args.seed, rules, mix,
                 shard_size=args.shard_size, workers=args.workers, progress=not args.quiet)
    g = m["gen"]
    per_worker = g["draws_this_run"] / max(1e-9, g["seconds"]) / g["workers"]
    print(json.dumps({"out": str(args.out), "counts": m["counts"], "tokens": m["tokens"],
                      "duplicates_removed": m["duplicates_removed"], **g, "draws_per_s_per_worker": round(per_worker)}))
    return 0
