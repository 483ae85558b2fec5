"""The token data engine: gen writes shards that read back as the labelled examples, resumes, refuses bad data."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from brain.cli import main
from brain.data import SPLITS, Mix, draw, split_of
from brain.shards import MANIFEST, Sampler, ShardError, Split, generate, load_manifest, shard_batches
from brain.tokenizer import Roles, Tokenizer
from brain.train import collate, encode_example
from game.combat.format import FORMAT_VERSION, parse_answer, parse_input
from game.combat.rules import resolve

N, SHARD = 1500, 500


@pytest.fixture(scope="module")
def data(tmp_path_factory, rules) -> Path:
    out = tmp_path_factory.mktemp("shards")
    generate(out, N, 3, rules, Mix(), shard_size=SHARD, workers=2)
    return out


def _files(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir()) if p.name != MANIFEST}


def test_shards_read_back_as_the_labelled_draws_in_order(data, rules):
    """Every example is the generator's draw, labelled by the rules, in its split, deduplicated, in draw order."""
    m = load_manifest(data, rules)
    expected: dict[str, list[tuple[str, str]]] = {s: [] for s in SPLITS}
    seen: set[str] = set()
    for i in range(N // SHARD):
        rng = random.Random(f"gen:3:{i}")
        for _ in range(SHARD):
            ex = draw(rng, rules, Mix())
            if ex.block not in seen:
                seen.add(ex.block)
                expected[split_of(ex.block)].append((ex.block, ex.answer))
    assert m["duplicates_removed"] == N - len(seen)
    for split in SPLITS:
        s = Split(data, split, m)
        got = [s.text(k) for k in range(len(s))]
        assert got == expected[split] and len(s) == m["counts"][split]
        actions, events = Counter(), Counter()
        for block, answer in got:
            state, action, roll = parse_input(block)
            out = resolve(state, action, roll, rules)
            assert parse_answer(answer, state) == (out.events, out.next_state)
            actions[action] += 1
            events.update(e.rule for e in out.events)
        assert actions == Counter(m["actions"][split]) and events == Counter(m["rule_events"][split])
        assert m["tokens"][split] == sum(len(s.example(k)[0]) for k in range(len(s)))


def test_a_batch_from_shards_equals_the_streams_encoding(data, rules):
    """Ids, targets (forced tokens carry no loss) and roles (vectorized) equal train.encode_example + collate."""
    s = Split(data, "train", load_manifest(data, rules))
    tok = Tokenizer.from_format()
    idx = np.random.default_rng(0).integers(0, len(s), 48)
    x, y, r = s.batch(idx)
    x2, y2, r2 = collate([encode_example(tok, *s.text(int(k))) for k in idx], tok)
    assert np.array_equal(x, x2) and np.array_equal(y, y2) and np.array_equal(r, r2)
    assert (y == -1).sum() > (x == tok.pad).sum()  # prompt and forced tokens are masked, not only padding
    ids = s.example(int(idx[0]))[0].tolist()
    assert r[0, :len(ids)].tolist() == [list(t) for t in Roles(tok).of(ids)]


def test_no_block_crosses_splits(data, rules):
    m = load_manifest(data, rules)
    blocks = {split: {Split(data, split, m).text(k)[0] for k in range(m["counts"][split])} for split in SPLITS}
    assert all(split_of(b) == split for split, bs in blocks.items() for b in bs)
    assert not blocks["train"] & blocks["test"] and not blocks["train"] & blocks["val"]
    assert min(m["counts"].values()) > 0


def test_gen_resumes_from_the_verified_prefix_with_the_same_bytes(data, rules, tmp_path):
    part = tmp_path / "part"
    generate(part, 2 * SHARD, 3, rules, Mix(), shard_size=SHARD, workers=1)  # stopped after two shards
    kept = (part / "train-0000.ids").stat()
    (part / "train-0001.ids").write_bytes(b"\x05" + (part / "train-0001.ids").read_bytes()[1:])  # damaged
    m = generate(part, N, 3, rules, Mix(), shard_size=SHARD, workers=1)
    assert m["gen"]["shards_kept"] == 1 and m["gen"]["draws_this_run"] == N - SHARD
    assert (part / "train-0000.ids").stat().st_mtime_ns == kept.st_mtime_ns  # not redrawn
    assert _files(part) == _files(data)
    full = json.loads((data / MANIFEST).read_text())
    assert {k: v for k, v in m.items() if k != "gen"} == {k: v for k, v in full.items() if k != "gen"}


def test_an_interrupted_gen_process_resumes(data, rules, tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "brain.cli", "gen", "--out", str(out), "--n", str(8 * N), "--seed", "3",
           "--shard-size", str(SHARD), "--workers", "1", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not (out / "shard-0000.json").exists() and time.time() < deadline:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / MANIFEST).exists()  # killed mid-way
    m = generate(out, N, 3, rules, Mix(), shard_size=SHARD, workers=1)
    assert m["gen"]["shards_kept"] >= 1 and not list(out.glob(".*.tmp"))
    assert {k: v for k, v in _files(out).items() if k in _files(data)} == _files(data)


def test_gen_refuses_a_directory_of_another_gen(data, rules, tmp_path, capsys):
    other = tmp_path / "other"
    generate(other, SHARD, 3, rules, Mix(), shard_size=SHARD, workers=1)
    assert main(["gen", "--out", str(other), "--n", str(SHARD), "--seed", "4", "--shard-size", str(SHARD)]) == 2
    err = capsys.readouterr().err
    assert "shard-0000.json" in err and "seed 3 here, 4 asked" in err
    assert load_manifest(other, rules)["seed"] == 3  # the refused gen did not touch the data


def test_gen_refuses_an_older_layout_and_bad_sizes(rules, tmp_path, capsys):
    (tmp_path / MANIFEST).write_text(json.dumps({"format_version": FORMAT_VERSION, "shards": {}}))
    assert main(["gen", "--out", str(tmp_path), "--n", "10"]) == 2
    assert "manifest.json: not a layout-1 token data directory" in capsys.readouterr().err
    assert main(["gen", "--out", str(tmp_path / "x"), "--n", "10", "--shard-size", "0"]) == 2
    assert "--shard-size 0" in capsys.readouterr().err


def test_batches_are_a_function_of_seed_rank_and_index():
    a, b = Sampler(100, 16, seed=7, rank=0, world=2), Sampler(100, 16, seed=7, rank=1, world=2)
    assert np.array_equal(a.indices(5), Sampler(100, 16, seed=7, rank=0, world=2).indices(5))
    assert not np.array_equal(a.indices(5), Sampler(100, 16, seed=8, rank=0, world=2).indices(5))
    # the two ranks' first 6 batches each (192 positions) cover epoch 0 once and then start epoch 1
    first = np.concatenate([s.indices(i) for i in range(6) for s in (a, b)])
    assert sorted(first[:100].tolist()) == list(range(100)) and len(set(first[100:].tolist())) == 92
    assert not np.array_equal(first[:92], first[100:192])  # each epoch has its own order


def test_bucketed_batches_pad_less_and_still_see_every_example_once():
    lengths = np.random.default_rng(0).integers(80, 180, 1000)
    plain = Sampler(1000, 10, seed=5)
    bucketed = Sampler(1000, 10, seed=5, lengths=lengths, bucket=20)
    # a window of 20 batches holds the same 200 examples as 20 plain batches, in another order
    for w in range(5):
        got = np.concatenate([bucketed.indices(i) for i in range(20 * w, 20 * w + 20)])
        want = np.concatenate([plain.indices(i) for i in range(20 * w, 20 * w + 20)])
        assert sorted(got.tolist()) == sorted(want.tolist())
    assert sorted(np.concatenate([bucketed.indices(i) for i in range(100)]).tolist()) == list(range(1000))

    def padded(s: Sampler) -> float:
        return float(np.mean([lengths[s.indices(i)].max() for i in range(100)]))

    # random batches of 10 pad to near the top of 80..180; a sorted window's batches to a few over the mean
    assert padded(plain) > lengths.mean() + 30 and padded(bucketed) < lengths.mean() + 10
    # a function of (seed, world, rank, i): a fresh sampler (a resumed run) and the ranks of a world agree
    again = Sampler(1000, 10, seed=5, lengths=lengths, bucket=20)
    assert all(np.array_equal(again.indices(i), bucketed.indices(i)) for i in (37, 3, 99, 0))
    ranks = [Sampler(1000, 10, seed=5, rank=k, world=2, lengths=lengths, bucket=20) for k in (0, 1)]
    assert all(np.array_equal(ranks[i % 2].indices(i // 2), bucketed.indices(i)) for i in range(60))
    with pytest.raises(ValueError, match="bucket"):
        Sampler(1000, 10, seed=5, bucket=4)


def test_bucketed_shard_batches_resume(data, rules):
    s = Split(data, "train", load_manifest(data, rules))
    assert np.array_equal(s.lengths(), [len(s.example(k)[0]) for k in range(len(s))])
    straight = list(shard_batches(s, 8, 11, 0, 12, bucket=4))
    resumed = list(shard_batches(s, 8, 11, 5, 12, bucket=4))
    for got, want in zip(resumed, straight[5:], strict=True):
        assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))


def test_resumed_shard_batches_are_the_same(data, rules):
    s = Split(data, "train", load_manifest(data, rules))
    straight = list(shard_batches(s, 8, 11, 0, 6))
    resumed = list(shard_batches(s, 8, 11, 3, 6))
    for got, want in zip(resumed, straight[3:], strict=True):
        assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))


def test_prefetched_batches_keep_order_errors_and_stop_early():
    import threading

    from brain.train import prefetched

    assert list(prefetched(iter(range(50)), ahead=3)) == list(range(50))

    def broken():
        yield 1
        raise ShardError("shard 7: truncated")

    got = []
    with pytest.raises(ShardError, match="shard 7"):
        for item in prefetched(broken()):
            got.append(item)
    assert got == [1]  # the error reaches the consumer after the items made before it

    def endless():
        i = 0
        while True:
            yield i
            i += 1

    it = prefetched(endless(), ahead=2)
    assert [next(it) for _ in range(5)] == [0, 1, 2, 3, 4]
    it.close()  # a run that stops early (until=, a plateau) leaves no thread filling a queue
    for t in threading.enumerate():
        if t.name == "batch-prefetch":
            t.join(timeout=5)
            assert not t.is_alive()


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


def test_a_corrupt_or_truncated_shard_is_refused_with_its_name(data, rules, tmp_path, capsys):
    bad = _copy(data, tmp_path / "bad")
    ids = bad / "train-0001.ids"
    blob = bytearray(ids.read_bytes())
    blob[10] ^= 1
    ids.write_bytes(bytes(blob))
    with pytest.raises(ShardError, match=r"train-0001\.ids: sha256 differs"):
        Split(bad, "train", load_manifest(bad, rules))
    ids.write_bytes(bytes(blob[:-7]))
    with pytest.raises(ShardError, match=r"train-0001\.ids: \d+ bytes, the manifest says"):
        Split(bad, "train", load_manifest(bad, rules))
    assert main(["train", "--preset", "tiny", "--data", str(bad), "--out", str(tmp_path / "run")]) == 2
    assert "train-0001.ids" in capsys.readouterr().err


@pytest.mark.parametrize(("key", "value"), [("ruleset_id", "0000"), ("format_version", FORMAT_VERSION + 1),
                                            ("sampler", {"turn": 49})])  # drawn by another sampler: its turns
def test_data_of_another_ruleset_or_format_is_refused(data, rules, tmp_path, capsys, key, value):
    other = _copy(data, tmp_path / "other")
    m = json.loads((other / MANIFEST).read_text())
    (other / MANIFEST).write_text(json.dumps(m | {key: value}))
    assert main(["train", "--preset", "tiny", "--data", str(other), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "manifest.json" in err and key in err and not (tmp_path / "run").exists()


def test_a_malformed_manifest_is_refused_with_its_name(data, rules, tmp_path):
    other = _copy(data, tmp_path / "other")
    m = json.loads((other / MANIFEST).read_text())
    del m["shards"]["train"][0]["loss"]
    (other / MANIFEST).write_text(json.dumps(m))
    with pytest.raises(ShardError, match=r"manifest\.json: a train shard entry is malformed"):
        Split(other, "train", load_manifest(other, rules))
    (other / MANIFEST).write_text("[1, 2]")
    with pytest.raises(ShardError, match=r"manifest\.json: expected an object"):
        load_manifest(other, rules)


def test_the_cpu_preset_says_which_gen_it_needs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the preset's data path is relative: brain/data/cpu, absent here
    assert main(["train", "--preset", "cpu", "--steps", "1"]) == 2
    assert "brain/data/cpu/manifest.json: missing" in capsys.readouterr().err and not (tmp_path / "brain/runs").exists()


def test_train_from_shards_runs_and_resumes_exactly(data, rules, tmp_path, capsys):
    import torch

    from brain.checkpoint import CONFIG, load_model
    from brain.train import PRESETS, train

    assert main(["train", "--preset", "tiny", "--data", str(data), "--out", str(tmp_path / "cli")]) == 0
    config = json.loads((tmp_path / "cli" / CONFIG).read_text())
    assert config["train"]["config"]["data"] == str(data) and config["train"]["step"] == PRESETS["tiny"].steps
    assert json.loads(capsys.readouterr().out)["val_loss"] > 0
    # the shards' mix is the run's (its edge and easy_keep steer only a stream); the shares at 0 are not written
    assert config["train"]["data_mix"] == json.loads((data / MANIFEST).read_text())["mix"] \
        == {"edge": 0.2, "easy_keep": 0.5, "sampler": "wide"}
    tc = replace(PRESETS["tiny"], data=str(data))
    train(tc, tmp_path / "straight", rules, quiet=True)
    train(tc, tmp_path / "split", rules, quiet=True, until=tc.steps // 2)
    train(tc, tmp_path / "split", rules, quiet=True, resume=True)
    a, b = load_model(tmp_path / "straight")[0].state_dict(), load_model(tmp_path / "split")[0].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # a run carried to another machine: its shards are elsewhere now (`train --resume --data DIR`)
    train(tc, tmp_path / "carried", rules, quiet=True, until=tc.steps // 2)
    config = json.loads((tmp_path / "carried" / CONFIG).read_text())
    config["train"]["config"]["data"] = str(tmp_path / "gone")
    (tmp_path / "carried" / CONFIG).write_text(json.dumps(config))
    shutil.copytree(data, tmp_path / "moved")
    train(tc, tmp_path / "carried", rules, quiet=True, resume=True, data=str(tmp_path / "moved"))
    c = load_model(tmp_path / "carried")[0].state_dict()
    assert all(torch.equal(a[k], c[k]) for k in a)
    # resuming on other data (same path, regenerated with another seed) is refused
    train(tc, tmp_path / "cut", rules, quiet=True, until=tc.steps // 2)
    other = tmp_path / "other"
    generate(other, N, 4, rules, Mix(), shard_size=SHARD, workers=1)
    config = json.loads((tmp_path / "cut" / CONFIG).read_text())
    config["train"]["config"]["data"] = str(other)
    (tmp_path / "cut" / CONFIG).write_text(json.dumps(config))
    with pytest.raises(ShardError, match="not the data this run was trained on"):
        train(tc, tmp_path / "cut", rules, quiet=True, resume=True)
