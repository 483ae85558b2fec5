"""Training data: the gen command's shards and manifest, the stream's split discipline, the answer labels."""

from __future__ import annotations

import json
import random
from collections import Counter

from brain.cli import main
from brain.data import Mix, draw, read_split, split_of, stream
from game.combat.format import FORMAT_VERSION, parse_answer, parse_input
from game.combat.rules import resolve


def test_gen_writes_deduplicated_shards_and_an_honest_manifest(tmp_path, rules, capsys):
    assert main(["gen", "--out", str(tmp_path), "--n", "1200", "--seed", "3", "--workers", "1"]) == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION and manifest["ruleset_id"] == rules.ruleset_id
    seen: set[str] = set()
    for split in ("train", "val", "test"):
        rows = list(read_split(tmp_path, split))
        assert len(rows) == manifest["counts"][split]
        assert Counter(r["action"] for r in rows) == Counter(manifest["actions"][split])
        assert Counter(e for r in rows for e in r["rules"]) == Counter(manifest["rule_events"][split])
        for r in rows:
            assert split_of(r["input"]) == split and r["input"] not in seen
            seen.add(r["input"])
            state, action, roll = parse_input(r["input"])
            out = resolve(state, action, roll, rules)
            events, nxt = parse_answer(r["answer"], state)
            assert (events, nxt) == (out.events, out.next_state)
    assert sum(manifest["counts"].values()) + manifest["duplicates_removed"] == 1200
    assert json.loads(capsys.readouterr().out)["counts"] == manifest["counts"]


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
