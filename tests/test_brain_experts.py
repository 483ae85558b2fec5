"""The composed resolver (brain/experts.py): router, measured dependencies, manifest, stale experts, training,
the resolver through the game's turn path and play log, and the m cycle in the app."""

from __future__ import annotations

import io
import json
import random
from dataclasses import replace

import pytest
from fakes import KEY_OF, PerfectModel, clear_monsters, settle, spawn_adjacent
from script_loader import load_script

from brain.cli import main as brain_main
from brain.data import Mix
from brain.experts import (
    MANIFEST,
    ROUTES,
    ExpertsError,
    ExpertsResolver,
    Router,
    constants_hash,
    dependencies,
    read_manifest,
    stale_experts,
)
from brain.shards import generate
from brain.train import PRESETS, train_expert, train_stale
from game.combat.format import encode_input
from game.combat.judge import RulesResolver
from game.combat.sampler import sample
from game.combat.state import ACTIONS
from game.combat_turn import playlog_record, resolve_turn
from game.playlog import PlayLogWriter, read_playlog
from game.resolve import load_experts_resolver

TINY = replace(PRESETS["tiny"], steps=6, eval_every=6, ckpt_every=6, log_every=6, val_n=4, val_loss_n=8)


# `slow` marks every test that needs the fixtures' data generation and tiny training runs (`shards`,
# `experts_dir`) or measured dependencies (`deps`): about 10 s each on the 2-core box, and ship, which also
# evaluates what it ships, about 100 s.

# ---------------------------------------------------------------- router and dependencies

def test_router_routes_every_action_once(rules):
    router = Router(ROUTES)
    assert sorted(a for acts in ROUTES.values() for a in acts) == sorted(ACTIONS)
    assert router.route("poison_strike") == "strikes" and router.route("brace") == "self"
    state, _, roll = sample("iid", 1, 0, rules)[0]
    assert router.route_block(encode_input(state, "ignite", roll)) == "ignite"
    with pytest.raises(ValueError, match="routed to both"):
        Router({"a": ("attack",), "b": ("attack", *ACTIONS[1:])})
    with pytest.raises(ValueError, match="no route for ignite"):
        Router({"a": tuple(a for a in ACTIONS if a != "ignite")})
    with pytest.raises(ValueError, match="no expert"):
        router.route("dance")


@pytest.fixture(scope="module")
def deps(rules):
    return {name: dependencies(acts, rules, n=300) for name, acts in ROUTES.items()}


@pytest.mark.slow
def test_measured_dependencies(deps):
    assert "burn_magnitude" in deps["ignite"]
    assert "burn_magnitude" not in deps["strikes"] and "burn_magnitude" not in deps["self"]
    assert "crit_bonus" in deps["strikes"] and "crit_bonus" not in deps["self"] and "crit_bonus" not in deps["ignite"]
    assert "heal_amount" in deps["self"] and "heal_amount" not in deps["strikes"]
    assert all("fatigue_damage" in d for d in deps.values())  # every actor ticks fatigue, whatever it did


# ---------------------------------------------------------------- trained tiny experts

@pytest.fixture(scope="module")
def shards(tmp_path_factory, rules):
    out = tmp_path_factory.mktemp("shards")
    generate(out, 1500, 5, rules, Mix(), shard_size=1500, workers=1)
    return out


@pytest.fixture(scope="module")
def experts_dir(tmp_path_factory, shards, rules):
    d = tmp_path_factory.mktemp("experts")
    for name in ("strikes", "self"):
        train_expert(name, shards, d, rules, TINY, dep_n=200, quiet=True)
    # the third through the command line
    rc = brain_main(["train", "--preset", "tiny", "--steps", "6", "--expert", "ignite", "--experts", str(d),
                     "--data", str(shards), "--dep-n", "200"])
    assert rc == 0
    return d


@pytest.mark.slow
def test_train_expert_writes_the_manifest(experts_dir, rules):
    m = read_manifest(experts_dir)
    assert set(m.experts) == set(ROUTES)
    ignite = m.experts["ignite"]
    assert ignite.actions == ("ignite",) and (experts_dir / "ignite" / "config.json").is_file()
    assert ignite.constants["burn_magnitude"] == rules.burn_magnitude and "crit_bonus" not in ignite.constants
    assert ignite.constants_hash == constants_hash(ignite.constants)
    assert ignite.trained["steps"] == 6 and ignite.trained["tokens"] > 0 and ignite.ruleset_id == rules.ruleset_id


@pytest.mark.slow
def test_an_expert_can_start_as_the_single_models_weights(experts_dir, shards, tmp_path, rules):
    """`train --expert NAME --init MODEL --steps 0`: the expert is MODEL's very weights, recorded with its route's
    envelope and 0 steps of its own (a family whose smallest size that meets the target is the single model's)."""
    single = experts_dir / "strikes"
    d = tmp_path / "experts"
    rc = brain_main(["train", "--preset", "tiny", "--steps", "0", "--init", str(single), "--expert", "strikes",
                     "--experts", str(d), "--data", str(shards), "--dep-n", "100"])
    assert rc == 0
    from safetensors.numpy import load_file

    mine, theirs = load_file(d / "strikes" / "model.safetensors"), load_file(single / "model.safetensors")
    assert mine.keys() == theirs.keys() and all((mine[k] == theirs[k]).all() for k in mine)
    e = read_manifest(d).experts["strikes"]
    assert e.trained["steps"] == 0 and e.trained["examples"] == 0
    config = json.loads((d / "strikes" / "config.json").read_text())
    assert config["envelope"]["actions"] == list(ROUTES["strikes"]) and config["train"]["config"]["init"] == str(single)


@pytest.mark.slow
def test_training_reads_only_the_routes_examples(shards, rules):
    from brain.shards import Split, Subset, load_manifest

    split = Split(shards, "train", load_manifest(shards, rules))
    sub = Subset(split, ROUTES["ignite"])
    assert 0 < len(sub) < len(split)
    assert all(" do ignite " in sub.text(k)[0] for k in range(len(sub)))


@pytest.mark.slow
def test_experts_resolver_answers_and_names_the_expert(experts_dir, rules):
    res = ExpertsResolver.load(experts_dir, rules)
    cases = sample("iid", 24, 1, rules)
    out = res.resolve_batch(cases)
    assert len(out) == len(cases)
    for (_, action, _), r in zip(cases, out, strict=True):
        assert r.resolver == "experts" and r.decode.startswith(f"expert {res.router.route(action)}")
        # a 6-step model: judged, never trusted; a turn its route's small data never reached is declined
        assert r.ok or r.declined or r.error.startswith(("malformed", "invariant"))


@pytest.mark.slow
def test_one_constant_change_makes_only_its_experts_stale(experts_dir, shards, tmp_path, rules):
    import shutil

    d = tmp_path / "experts"
    shutil.copytree(experts_dir, d)
    changed = replace(rules, burn_magnitude=rules.burn_magnitude + 1)
    assert changed.ruleset_id != rules.ruleset_id
    stale = stale_experts(read_manifest(d), changed)
    assert list(stale) == ["ignite"] and stale["ignite"] == [("burn_magnitude", 2, 3)]
    with pytest.raises(ExpertsError, match=r"expert ignite is stale \(burn_magnitude was 2, content has 3\)"):
        ExpertsResolver.load(d, changed)
    # retrain the stale one only, from its own weights, on data of the changed rules
    new_shards = tmp_path / "shards"
    generate(new_shards, 800, 6, changed, Mix(), shard_size=800, workers=1)
    before = read_manifest(d)
    done = train_stale(new_shards, d, changed, TINY, dep_n=200, quiet=True)
    assert list(done) == ["ignite"] and done["ignite"].trained["adapted"]
    after = read_manifest(d)
    assert after.experts["strikes"] == before.experts["strikes"]  # untouched, still trained under the old id
    assert after.experts["ignite"].constants["burn_magnitude"] == 3
    res = ExpertsResolver.load(d, changed)  # loads although strikes and self were trained under another id
    assert res.resolve_batch(sample("iid", 3, 2, changed))[0].resolver == "experts"


# ---------------------------------------------------------------- manifest validation

def _write(d, obj) -> None:
    (d / MANIFEST).write_text(obj if isinstance(obj, str) else json.dumps(obj))


@pytest.mark.slow
@pytest.mark.parametrize("mutate, key", [
    (lambda m: "{not json", "invalid JSON"),
    (lambda m: {**m, "experts_version": 7}, "experts_version"),
    (lambda m: {**m, "router": {"by": "phase"}}, "router"),
    (lambda m: {**m, "router": {"by": "action", "routes": {"all": ["attack"]}}}, "router.routes: no route for"),
    (lambda m: {**m, "experts": [{**m["experts"][0], "model_dir": "/etc"}]}, "model_dir"),
    (lambda m: {**m, "experts": [{**m["experts"][0], "constants": {"warp_speed": 1}}]}, "constants.warp_speed"),
    (lambda m: {**m, "experts": [{**m["experts"][0], "constants_hash": "c-0"}]}, "constants_hash"),
    (lambda m: {**m, "experts": [{**m["experts"][0], "actions": ["heal"]}]}, "actions"),
    (lambda m: {**m, "experts": [m["experts"][0], m["experts"][0]]}, "one entry per expert"),
])
def test_bad_manifest_names_file_and_key(experts_dir, tmp_path, mutate, key):
    good = json.loads((experts_dir / MANIFEST).read_text())
    _write(tmp_path, mutate(good))
    with pytest.raises(ExpertsError) as exc:
        read_manifest(tmp_path)
    assert str(tmp_path / MANIFEST) in str(exc.value) and key in str(exc.value)


@pytest.mark.slow
def test_missing_expert_or_manifest_refuses_to_load(experts_dir, tmp_path, rules):
    with pytest.raises(ExpertsError, match="missing"):
        ExpertsResolver.load(tmp_path, rules)
    good = json.loads((experts_dir / MANIFEST).read_text())
    _write(tmp_path, {**good, "experts": good["experts"][:2]})
    with pytest.raises(ExpertsError, match="no trained expert for route"):
        ExpertsResolver.load(tmp_path, rules)


# ---------------------------------------------------------------- the game's path

def fake_experts(tmp_path, rules, model_for=None) -> ExpertsResolver:
    """An ExpertsResolver over rules-built fakes (one per route: `model_for(name)`, PerfectModel by default),
    with the manifest of the real router."""
    from brain.experts import DEFAULT_ROUTER, Manifest

    model_for = model_for or (lambda name: PerfectModel(rules))
    return ExpertsResolver(tmp_path, Manifest(DEFAULT_ROUTER, {}), {n: model_for(n) for n in ROUTES})


class WrongIgnite(PerfectModel):
    """Right everywhere but one hp off on the target (a plausible answer the game must still catch)."""

    name = "fake-wrong"

    def resolve_batch(self, cases):
        from fakes import OffByOneModel
        return OffByOneModel(self.inner.rules).resolve_batch(cases)


def test_experts_through_resolve_turn_shadow_fallback_and_playlog(tmp_path, rules):
    by_rules = RulesResolver(rules)
    exp = fake_experts(tmp_path, rules, lambda n: WrongIgnite(rules) if n == "ignite" else PerfectModel(rules))
    rng = random.Random(0)
    state, _, roll = sample("iid", 1, 3, rules)[0]
    while state.target.hp < 3 or state.actor.hp == 0 or state.actor.has("stun") or state.actor.cooldown("ignite"):
        state, _, roll = sample("iid", 1, rng.randrange(10**6), rules)[0]
    good = resolve_turn(state, "attack", roll, by_rules, exp, "experts")
    assert good.tag == "[experts]" and good.applied.resolver == "experts" and good.model.decode == "expert strikes"
    bad = resolve_turn(state, "ignite", roll, by_rules, exp, "experts")
    assert bad.diverged and bad.model.decode == "expert ignite"
    from fakes import GarbageModel

    garbled = fake_experts(tmp_path, rules, lambda n: GarbageModel() if n == "self" else PerfectModel(rules))
    fell = resolve_turn(state, "wait", roll, by_rules, garbled, "experts")
    assert fell.fallback.startswith("malformed answer") and fell.applied is fell.rules
    assert fell.model.resolver == "experts" and fell.model.decode == "expert self"
    assert resolve_turn(state, "attack", roll, by_rules, garbled, "experts").applied.resolver == "experts"
    shadow = resolve_turn(state, "ignite", roll, by_rules, exp, "rules")
    assert shadow.applied is shadow.rules and shadow.diverged
    log = tmp_path / "log.jsonl"
    w = PlayLogWriter(log)
    for r in (good, bad):
        w.write(playlog_record(r, 1, rules.ruleset_id, 1))
    w.close()
    rows = list(read_playlog(log))
    assert [r["active"] for r in rows] == ["experts", "experts"] and rows[1]["diverged"]


@pytest.mark.slow
def test_cli_resolve_with_experts(experts_dir, tmp_path, capsys, monkeypatch, rules):
    blocks = [encode_input(*c) for c in sample("iid", 3, 9, rules)]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(blocks) + "\n"))
    assert brain_main(["resolve", "--resolver", "experts", "--experts", str(experts_dir)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert brain_main(["resolve", "--resolver", "experts", "--experts", str(tmp_path)]) == 2
    assert "cannot load the experts" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_eval_bench_and_train_with_experts(experts_dir, shards, tmp_path, capsys):
    assert brain_main(["eval", "--resolver", "experts", "--experts", str(experts_dir), "--suite", "iid",
                       "--n", "6", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 6
    assert brain_main(["bench", "--resolver", "experts", "--experts", str(experts_dir), "--n", "5"]) == 0
    b = json.loads(capsys.readouterr().out)
    assert b["params"] == sum(b["per_expert_params"].values()) and b["batch1_p95_ms"] >= b["batch1_p50_ms"] > 0
    assert brain_main(["train", "--preset", "tiny", "--stale", "--experts", str(experts_dir), "--data",
                       str(shards)]) == 0  # nothing is stale under the content it was trained on
    assert json.loads(capsys.readouterr().out)["trained"] == {}
    assert brain_main(["train", "--preset", "tiny", "--expert", "ignite", "--experts", str(tmp_path)]) == 2
    assert "give --data" in capsys.readouterr().err
    assert brain_main(["train", "--preset", "tiny", "--expert", "magic", "--experts", str(tmp_path), "--data",
                       str(shards)]) == 2
    assert "unknown expert 'magic'" in capsys.readouterr().err


async def test_m_cycles_rules_model_experts(tmp_path, rules, run_app):
    exp = fake_experts(tmp_path, rules)
    async with run_app(seed=3, model_loader=lambda: PerfectModel(rules), experts_loader=lambda: exp) as (app, pilot):
        s = app.session
        seen = []
        for _ in range(3):
            await pilot.press("m")
            await settle(pilot)
            seen.append((s.active, getattr(s.model, "name", None)))
        assert seen == [("model", "fake-perfect"), ("experts", "experts"), ("rules", "experts")]
        await pilot.press("m", "m")  # back to experts
        await settle(pilot)
        assert s.active == "experts" and "resolver: experts" in str(app.screen.query_one("#status").content)
        clear_monsters(s)
        _m, d = spawn_adjacent(s, "orc")
        await pilot.press(KEY_OF[d])
        await settle(pilot)
        mine = next(r for r in s.recent if r.action == "attack" and r.who.startswith("you"))
        assert mine.active == "experts" and mine.applied.resolver == "experts" and mine.model.decode == "expert strikes"
        await pilot.press("f2")
        await settle(pilot)
        last = s.recent[-1].model.decode  # the orc's answer, after the player's
        assert last.startswith("expert ") and f"decode {last}" in str(app.screen.query_one("#debug-text").content)


async def test_m_skips_experts_that_cannot_load(tmp_path, rules, run_app):
    def broken():
        raise ExpertsError(f"{tmp_path}/experts.json: expert ignite is stale (burn_magnitude was 2, content has 3)")

    async with run_app(seed=3, model_loader=lambda: PerfectModel(rules), experts_loader=broken) as (app, pilot):
        s = app.session
        for _ in range(2):  # model, then experts, which fails to load
            await pilot.press("m")
            await settle(pilot)
        # the log says why; the model loaded before is put back (the status is about it)
        assert any(m.text.startswith("Experts unavailable (") and "expert ignite is stale" in m.text
                   for m in s.messages.items)
        assert s.model_status == "loaded (fake-perfect)" and app.resolvers.model is not None
        await pilot.press("m", "m")  # rules, model
        await settle(pilot)
        await pilot.press("m")  # experts skipped, saying why: rules
        await settle(pilot)
        assert s.active == "rules"
        assert any(m.text.startswith("Skipped experts: unavailable (") and "burn_magnitude" in m.text
                   for m in s.messages.items)


@pytest.mark.slow
def test_side_by_side_script_measures_both_and_the_report_renders_it(experts_dir, tmp_path):
    """scripts/experts_compare.py at a tiny budget: every measure present for both sides, from real runs."""
    from brain.lab_report import experts_section

    compare = load_script("experts_compare")
    out = tmp_path / "reports" / "experts.json"
    assert experts_section(out.parent).startswith("## Experts") and "Not measured yet" in experts_section(out.parent)
    rc = compare.main(["--model", str(experts_dir / "strikes"), "--experts", str(experts_dir), "--n", "8",
                       "--failure-n", "8", "--arena-turns", "150", "--arena-seeds", "2", "--latency-n", "5",
                       "--out", str(out)])
    assert rc == 0
    d = json.loads(out.read_text())
    for side in ("single", "composed"):
        s = d[side]
        assert s["held_out"]["iid"]["n"] == 8 and 0 <= s["held_out"]["edge"]["exact"] <= 1
        assert s["arena"]["combat_turns"] > 0 and s["latency"]["batch1_p95_ms"] > 0
        assert set(s["failures"]) >= {"wide_state_exact", "ood_silent", "probe_silent", "chain_on_track",
                                      "boundary_confusion"}
    assert d["composed"]["size"]["params"] == 3 * d["single"]["size"]["params"]  # three experts of one size
    assert d["single"]["training"]["examples"] == 6 * TINY.batch_size  # 6 tiny steps behind the single model
    assert set(d["composed"]["training"]["per_expert"]) == set(ROUTES)
    text = experts_section(out.parent)
    assert "Not measured" not in text and "| arena divergences per 1,000 combat turns |" in text


def _side(params: int, p95: float) -> dict:
    return {"held_out": {s: {"n": 10, "exact": 1.0} for s in ("iid", "edge", "wide")},
            "failures": {"ood_silent": 0, "probe_silent": 0, "label_collapse": 0.0, "token_drift": 0.0,
                         "boundary_confusion": 0.0},
            "arena": {"seeds": [2], "per_1000": 0.0, "divergences": 0, "combat_turns": 100},
            "size": {"params": params, "fp32_bytes": 4 * params, "int8_bytes": params},
            "latency": {"batch1_p50_ms": p95 / 2, "batch1_p95_ms": p95},
            "training": {"examples": 1, "seconds": 60.0, "per_expert": {"a": {"phases": []}}}}


def _recovery(constant: str, experts_flops: int | None, single_flops: int | None) -> dict:
    to = lambda f: None if f is None else {"steps": 1, "examples": 64, "tokens": 1000, "flops": f, "seconds": 1.0}
    curve = [{"steps": 0, "examples": 0, "flops": 0, "seconds": 0.0, "iid": None, "edge": None, "wide": None},
             {"steps": 25, "examples": 64, "flops": 1, "seconds": 1.0, "iid": 1.0, "edge": 1.0, "wide": 1.0}]
    side = lambda f: {"curve": curve, "reached": f is not None, "to_target": to(f)}
    return {"constant": constant, "from": 2, "to": 3, "stale_experts": ["ignite"], "target": 0.999, "slack": None,
            "eval_n": 10, "eval_seed": 1, "before_change": {k: dict.fromkeys(("iid", "edge", "wide"), 1.0)
                                                           for k in ("experts", "single")},
            "sides": {"experts": side(experts_flops), "single": side(single_flops)}}


def test_report_reads_the_wins_off_the_figures(tmp_path):
    """The report's verdict on the issue's tests comes from the figures in experts.json: bytes <= 1/2, p95 <= 2/3,
    a rule change in <= 1/3 of the single model's FLOPs, and a side that never got back says so."""
    from brain.lab_report import experts_section

    d = {"routes": {"a": ["attack"]}, "single": _side(100, 3.0), "composed": _side(300, 1.9),
         "recoveries": [_recovery("burn_magnitude", 30, 100), _recovery("crit_bonus", 50, 100),
                        _recovery("heal_amount", 10, None)]}
    (tmp_path / "experts.json").write_text(json.dumps(d))
    text = experts_section(tmp_path)
    assert "bytes: experts 3.00 of the single model's (wins at <= 0.50): not met" in text
    assert "p95 on the game path: 0.63 of the single model's (wins at <= 0.67): met" in text
    assert "rule change burn_magnitude 2 -> 3: 0.30 of the single model's FLOPs (wins at <= 0.33): met" in text
    assert "rule change crit_bonus 2 -> 3: 0.50 of the single model's FLOPs (wins at <= 0.33): not met" in text
    assert "rule change heal_amount 2 -> 3: the experts got back, the single model did not" in text
    assert "| held-out wide exact (n 10) | 100.00% | 100.00% |" in text
    assert "so the composition does not win" in text
    d["recoveries"] = d["recoveries"][:1]  # p95 met, and the one rule change measured met
    (tmp_path / "experts.json").write_text(json.dumps(d))
    assert "so the composition wins on the issue's terms" in experts_section(tmp_path)


@pytest.mark.slow
def test_recovery_script_retrains_only_the_stale_expert(experts_dir, tmp_path, rules):
    """scripts/experts_recovery.py at a tiny budget: burn_magnitude + 1 makes ignite (only) stale; with a
    relative goal (--slack) the single model, already there, spends nothing, the experts side retrains ignite.
    1,200 draws: the ignite route needs a val example (about 1 in 160 draws is one)."""
    recovery = load_script("experts_recovery")
    out = tmp_path / "rec"
    rc = recovery.main(["--experts", str(experts_dir), "--model", str(experts_dir / "strikes"), "--out", str(out),
                        "--gen-n", "1200", "--chunk", "2", "--max-steps", "2", "--batch-size", "4", "--eval-n", "5",
                        "--dep-n", "100", "--slack", "1.0"])
    assert rc == 0
    d = json.loads((out / "recovery.json").read_text())
    assert d["stale_experts"] == ["ignite"] and d["to"] == rules.burn_magnitude + 1
    single, experts = d["sides"]["single"], d["sides"]["experts"]
    assert single["reached"] and single["to_target"]["steps"] == 0
    assert experts["curve"][0]["iid"] is None  # a stale expert refuses to load: nothing to evaluate
    assert experts["reached"] and experts["to_target"] == {**experts["to_target"], "steps": 2, "examples": 8}
    assert read_manifest(out / "experts").experts["ignite"].constants["burn_magnitude"] == rules.burn_magnitude + 1


@pytest.mark.slow
def test_recovery_script_can_start_the_experts_from_the_single_model(experts_dir, tmp_path, rules):
    """--experts-from-model 0: every expert starts as a copy of the single model's weights, on its own route;
    crit_bonus + 1 touches only the strikes arithmetic, so only the strikes expert is stale and retrains."""
    recovery = load_script("experts_recovery")
    single, out = experts_dir / "strikes", tmp_path / "rec"
    rc = recovery.main(["--model", str(single), "--experts-from-model", "0", "--constant", "crit_bonus", "--out",
                        str(out), "--gen-n", "1200", "--chunk", "2", "--max-steps", "2", "--batch-size", "4",
                        "--eval-n", "5", "--dep-n", "100", "--slack", "1.0"])
    assert rc == 0
    seeded = read_manifest(out / "base_experts")
    assert set(seeded.experts) == set(ROUTES)
    for name, expert in seeded.experts.items():  # the single model's very weights, each on its own route
        copy = out / "base_experts" / expert.model_dir
        assert (copy / "model.safetensors").read_bytes() == (single / "model.safetensors").read_bytes()
        assert expert.trained["steps"] == 0 and expert.actions == ROUTES[name]
    assert "crit_bonus" in seeded.experts["strikes"].constants and "crit_bonus" not in seeded.experts["self"].constants
    d = json.loads((out / "recovery.json").read_text())
    assert d["stale_experts"] == ["strikes"] and d["to"] == rules.crit_bonus + 1
    assert set(d["before_change"]["experts"]) == {"iid", "edge", "wide"}
    assert read_manifest(out / "experts").experts["strikes"].constants["crit_bonus"] == rules.crit_bonus + 1


@pytest.mark.slow
def test_ship_experts_copies_weights_not_optimizer_state(experts_dir, tmp_path, capsys, rules):
    """`rpg-brain ship EXPERTS_DIR --to DIR`: each expert's config, weights, log and model.onnx; the manifest last."""
    to = tmp_path / "shipped"
    assert brain_main(["ship", str(experts_dir), "--to", str(to)]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["experts"] == sorted(ROUTES)
    for name in ROUTES:
        files = {p.name for p in (to / name).iterdir()}
        assert {"config.json", "model.safetensors"} <= files and not any(f.startswith("optim") for f in files)
    assert ExpertsResolver.load(to, rules).num_params() == out["params"]
    # ship measured them (6-step experts: far below the target), and the game does not offer them
    measured = read_manifest(to).measured
    assert set(measured["exact"]) == {"iid", "edge", "wide"} and out["offered_in_play"] is False
    with pytest.raises(ValueError, match=r"below the accuracy target .*not offered in play"):
        load_experts_resolver(to, rules)
    manifest = json.loads((to / MANIFEST).read_text())
    manifest["measured"]["exact"] = dict.fromkeys(("iid", "edge", "wide"), 1.0)  # as if they met it
    (to / MANIFEST).write_text(json.dumps(manifest))
    assert load_experts_resolver(to, rules).num_params() == out["params"]
    manifest.pop("measured")  # never measured: not offered either
    (to / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="never measured"):
        load_experts_resolver(to, rules)
    (experts_dir / "ignite" / "model.safetensors").rename(tmp_path / "w")  # a broken source ships nothing
    try:
        assert brain_main(["ship", str(experts_dir), "--to", str(tmp_path / "other")]) == 2
        assert not (tmp_path / "other" / MANIFEST).exists()
    finally:
        (tmp_path / "w").rename(experts_dir / "ignite" / "model.safetensors")


@pytest.mark.slow
def test_split_compare_partitions_the_same_turns_three_ways(experts_dir, tmp_path):
    """scripts/split_compare.py: each split's routes partition the held-out turns; the action split's burn change
    stales the ignite route alone, the phase split's stales both routes (every phase has ignite turns)."""
    script = load_script("split_compare")
    out = tmp_path / "splits.json"
    assert script.main(["--model", str(experts_dir / "strikes"), "--n", "40", "--dep-n", "150", "--threads", "1",
                        "--out", str(out)]) == 0
    d = json.loads(out.read_text())
    assert set(d["splits"]) == {"action", "phase", "crowd"}
    for split in d["splits"].values():
        for suite in ("wide", "iid"):
            assert sum(r[suite]["share"] for r in split["routes"].values()) == pytest.approx(1.0)
    action, phase = d["splits"]["action"], d["splits"]["phase"]
    assert action["burn_magnitude_stale_share"]["iid"] == action["routes"]["ignite"]["iid"]["share"] < 0.5
    assert all("burn_magnitude" in r["constants"] for r in phase["routes"].values())
    assert phase["burn_magnitude_stale_share"]["iid"] == pytest.approx(1.0)


def test_shipped_model_files_are_package_data():
    """Every file the shipped model and experts load from is matched by pyproject's package-data globs."""
    import fnmatch
    from pathlib import Path

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the tomli dependency
        import tomli as tomllib

    globs = tomllib.loads(Path("pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["brain"]
    for d in (Path("brain/models/default"), Path("brain/models/experts")):
        for path in d.rglob("*") if d.exists() else ():
            if path.suffix in (".json", ".safetensors", ".onnx"):
                rel = path.relative_to("brain").as_posix()
                assert any(fnmatch.fnmatch(rel, g) and rel.count("/") == g.count("/") for g in globs), rel


def test_by_route_pools_an_eval_by_action_into_the_routes():
    """scripts/by_route.py: each action counted once, in its route, weighted by its cases."""
    script = load_script("by_route")
    by_action = {a: {"n": 10 * (i + 1), "exact": 1.0 if a in ROUTES["self"] else 0.5} for i, a in enumerate(ACTIONS)}
    rows = script.by_route({"n": sum(c["n"] for c in by_action.values()), "exact": 0.7, "by_action": by_action})
    assert sum(rows[r]["n"] for r in ROUTES) == rows["all"]["n"]  # the routes split the actions
    assert rows["self"]["exact"] == 1.0 and rows["strikes"]["exact"] == rows["ignite"]["exact"] == 0.5
    assert script.by_route({"n": 0, "exact": None, "by_action": {}})["ignite"] == {"n": 0, "exact": None}


def test_shape_latency_times_each_shape_behind_an_oracle_that_takes_every_draft():
    """scripts/shape_latency.py: an untrained shape behind the oracle answers every turn right in one call (the
    script stops otherwise), and a composition takes each turn's time from its route's shape."""
    from game.measure import percentile

    script = load_script("shape_latency")
    rows, routes = script.measure([(1, 32)], 6, "iid", 7)
    assert set(rows) == {"shipped", "shipped+oracle", "no model", "1x32"}
    assert all(len(r["times"]) == 6 and r["p95"] >= r["p50"] > 0 for r in rows.values())
    assert rows["no model"]["p50"] < rows["1x32"]["p50"]  # the floor: the same path without the model call
    assert rows["1x32"]["params"] < rows["shipped"]["params"] == rows["shipped+oracle"]["params"]
    both = script.compose(rows, routes, "strikes=1x32,self=shipped,ignite=1x32")
    picked = [rows["1x32" if r != "self" else "shipped"]["times"][i] for i, r in enumerate(routes)]
    assert both["n"] == 6 and both["p50"] == percentile(picked, 0.5)
    assert both["params"] == 2 * rows["1x32"]["params"] + rows["shipped"]["params"]
    with pytest.raises(SystemExit, match="needs a measured shape"):
        script.compose(rows, routes, "strikes=1x32,self=1x32")
