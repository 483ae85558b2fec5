"""Training data: the stream's split discipline and its mix (the gen shards: test_brain_shards.py)."""

from __future__ import annotations

import random

from brain.data import Mix, draw, split_of, stream


def test_stream_yields_only_its_split(rules):
    for split in ("train", "test"):
        for ex, _ in zip(stream(0, split, rules), range(50), strict=False):
            assert split_of(ex.block) == split


def test_mix_tilts_toward_strikes_and_arithmetic(rules):
    rng = random.Random(0)
    tilted = [draw(rng, rules, Mix(edge=0.0, easy_keep=0.5)) for _ in range(3000)]
    plain = [draw(rng, rules, Mix(edge=0.0, easy_keep=1.0)) for _ in range(3000)]
    strikes = lambda exs: sum(e.action in ("attack", "poison_strike") for e in exs) / len(exs)
    assert strikes(tilted) > strikes(plain) + 0.03
