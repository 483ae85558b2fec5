"""The shipped model: it loads without unpickling and beats a fixed floor on held-out blocks."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from brain.checkpoint import CONFIG, WEIGHTS
from brain.engine import ModelResolver
from brain.paths import shipped_model_dir
from brain.suites import held_out
from brain.suites.score import evaluate
from game.resolve import load_model_resolver

SHIPPED = shipped_model_dir()
pytestmark = pytest.mark.skipif(not (SHIPPED / WEIGHTS).exists(),
                                reason=f"no shipped model at {SHIPPED} (train and ship it: docs/brain.md)")

# Below what the shipped model measures (99.92% or more on 21,000 held-out each: docs/brain.md), far above
# chance: a broken model, tokenizer or engine, or a sampler change it was not trained on, falls under it.
FLOOR = {"iid": 0.97, "edge": 0.97, "wide": 0.97}


@pytest.fixture(scope="module")
def resolver(rules) -> Iterator[ModelResolver]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # two threads stall when another process holds a core
    yield load_model_resolver(None, rules)
    torch.set_num_threads(before)


def test_shipped_config_describes_the_model(rules):
    config = json.loads((SHIPPED / CONFIG).read_text())
    assert config["ruleset_id"] == rules.ruleset_id
    assert config["params"] <= 1_000_000 and (SHIPPED / WEIGHTS).stat().st_size <= 4_000_000
    assert config["envelope"]["sampler"] == "wide"  # the whole format: the shipped content lies inside it
    for key in ("eval", "data", "train", "tokenizer", "weights_sha256"):
        assert key in config
    assert config["data"]["manifest_hash"]


@pytest.mark.parametrize("suite", ["iid", "edge", "wide"])
def test_default_model_beats_the_floor_on_held_out_blocks(resolver, rules, suite):
    result = evaluate(resolver, held_out(suite, 150, rules, seed=31), rules)
    assert result["parse_failures"] == 0
    assert result["exact"] >= FLOOR[suite], json.dumps({k: result[k] for k in ("exact", "examples")})[:2000]
