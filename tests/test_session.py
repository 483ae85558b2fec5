"""The pure-Python game: determinism, the combat pipeline, fallbacks, divergences, play logs."""

from __future__ import annotations

import sys

from fakes import CrashingModel, GarbageModel, OffByOneModel, PerfectModel, SlowModel, clear_monsters, spawn_adjacent

from game.actions import Ascend, Descend, Move, Special, Use
from game.autoplay import play
from game.combat.format import parse_input
from game.combat.judge import RulesResolver
from game.combat.state import CombatState
from game.combat_turn import resolve_turn
from game.playlog import PlayLogWriter, read_playlog
from game.procgen import build_floor
from game.session import GameSession, out_of_combat_tick


def fingerprint(s: GameSession) -> tuple:
    return (s.turns, s.depth, s.player.body, s.player.x, s.player.y, s.stats.combat_turns,
            tuple(m.render() for m in s.messages.items))


def test_same_seed_same_run(content):
    a = play(GameSession.new(content, 11), 300, seed=1)
    b = play(GameSession.new(content, 11), 300, seed=1)
    assert fingerprint(a) == fingerprint(b)
    assert a.stats.combat_turns > 0
    c = play(GameSession.new(content, 12), 300, seed=1)
    assert fingerprint(c) != fingerprint(a)


def test_map_does_not_depend_on_combat(content):
    """Levels come from their own stream: a different combat history leaves depth 2 unchanged."""
    a, b = GameSession.new(content, 5), GameSession.new(content, 5)
    b.combat_rng.random()
    assert build_floor(content, a.seed, 2).level.tiles == build_floor(content, b.seed, 2).level.tiles


def test_movement_and_walls(content):
    s = GameSession.new(content, 3)
    clear_monsters(s)
    moved = [d for d in ((1, 0), (-1, 0), (0, 1), (0, -1)) if s.perform(Move(*d))]
    assert moved and s.turns == len(moved)
    # walking into a wall spends no turn and moves nothing
    lvl = s.level
    cell = next((cx, cy) for cx, cy in lvl.floor_cells() if not lvl.walkable(cx + 1, cy))
    s.player.x, s.player.y = cell
    before = s.turns
    assert not s.perform(Move(1, 0))
    assert (s.player.x, s.player.y) == cell and s.turns == before


def test_bump_fight_to_the_death_goes_through_the_resolver(content):
    s = GameSession.new(content, 3)
    clear_monsters(s)
    m, (dx, dy) = spawn_adjacent(s, "rat")
    for _ in range(60):
        if not m.alive or s.over:
            break
        s.perform(Move(dx, dy))
    assert not m.alive and s.stats.kills == 1
    assert s.stats.combat_turns >= 2  # the rat answered at least once
    assert any("dies" in msg.text for msg in s.messages.items)
    # every applied state is what the rules say (rules mode)
    for r in s.recent:
        assert r.applied is r.rules and r.tag == "[rules]"


def test_turn_counter_is_per_fight_and_statuses_persist(content):
    s = GameSession.new(content, 4)
    clear_monsters(s)
    m, _d = spawn_adjacent(s, "bog troll")
    s.perform(Special("guard"))
    first = s.recent[0]
    assert first.state.turn == 0 and first.action == "guard" and first.state.actor.hp == s.content.player.hp
    assert m.fight_turn >= 1
    turns = [r.state.turn for r in s.recent]
    assert turns == list(range(len(turns)))  # player then troll, one counter
    assert s.player.body.has("shield") or any(e.rule == "shield_absorbs" for r in s.recent
                                              for e in r.applied.events)
    assert s.player.body.cooldown("guard") > 0


def test_out_of_combat_tick_acts_like_the_end_of_a_turn(content):
    """Statuses tick off the fight turns too: poison and burn hurt, regen heals (not while poisoned), and every
    duration and cooldown runs down."""
    s = GameSession.new(content, 4)
    body = s.player.body.with_cooldown("heal", 2)
    from dataclasses import replace

    from game.combat.state import Status

    body = body.with_status("poison", Status(2, 1)).with_status("shield", Status(5, 2))
    after = out_of_combat_tick(body)
    assert after.hp == body.hp - 2 and after.cooldown("heal") == 1
    assert not after.has("poison") and after.status("shield").turns == 1
    hurt = replace(body, hp=10).with_status("poison", None).with_status("regen", Status(3, 2)) \
        .with_status("burn", Status(1, 1))
    assert out_of_combat_tick(hurt).hp == 10 - 1 + 3


def state_of(s):
    return CombatState(0, s.player.body, s.player.body)


def test_pipeline_garbage_model_falls_back(content):
    rules = RulesResolver(content.rules)
    st = CombatState(3, GameSession.new(content, 1).player.body, GameSession.new(content, 1).player.body)
    r = resolve_turn(st, "attack", 4, rules, GarbageModel(), "model")
    assert r.fallback and r.fallback.startswith("malformed answer") and r.applied is r.rules
    assert r.diverged and r.tag == "[fallback]"
    r2 = resolve_turn(st, "attack", 4, rules, GarbageModel(), "rules")
    assert r2.fallback is None and r2.diverged and r2.tag == "[diverged]"


def test_pipeline_timeout_and_crash(content):
    rules = RulesResolver(content.rules)
    body = GameSession.new(content, 1).player.body
    st = CombatState(0, body, body)
    r = resolve_turn(st, "attack", 4, rules, SlowModel(0.5), "model", time_limit_s=0.05)
    assert r.fallback.startswith("timeout") and r.applied is r.rules
    r = resolve_turn(st, "heal", 4, rules, CrashingModel(), "model")
    assert r.fallback.startswith("model error") and "CUDA on fire" in r.fallback


def test_pipeline_model_applied_and_divergence_fields(content):
    rules = RulesResolver(content.rules)
    body = GameSession.new(content, 1).player.body
    st = CombatState(0, body, body)
    good = resolve_turn(st, "attack", 4, rules, PerfectModel(content.rules), "model")
    assert good.applied.resolver == "fake-perfect" and not good.diverged and good.tag == "[model]"
    bad = resolve_turn(st, "attack", 4, rules, OffByOneModel(content.rules), "model")
    assert bad.fallback is None and bad.applied.resolver == "fake-off-by-one"
    assert [d.field for d in bad.diffs] == ["B.hp"] and bad.tag == "[diverged]"
    assert "damage_dealt" in bad.involved()["B.hp"]
    none = resolve_turn(st, "attack", 4, rules, None, "model")
    assert none.fallback == "model not loaded" and none.applied is none.rules


def test_play_log_lines(content, tmp_path):
    path = tmp_path / "playlogs" / "run.jsonl"
    s = GameSession.new(content, 9, "run", PlayLogWriter(path))
    s.model = OffByOneModel(content.rules)
    s.set_active("model")
    clear_monsters(s)
    _m, d = spawn_adjacent(s, "orc")
    for _ in range(4):
        s.perform(Move(*d))
    s.playlog.close()
    bad = []
    records = list(read_playlog(path, bad))
    assert not bad and len(records) == s.stats.combat_turns
    rec = records[0]
    assert rec["ruleset"] == content.rules.ruleset_id and rec["seed"] == 9 and rec["active"] == "model"
    _state, action, roll = parse_input(rec["input"])
    assert action == "attack" and 1 <= roll <= content.rules.roll_max
    assert rec["model_answer"] and rec["rules_answer"] and rec["applied_answer"] == rec["model_answer"]
    assert rec["turn"] == 0 and isinstance(rec["latency_ms"], float)


def test_model_mode_with_crashing_model_keeps_playing(content):
    s = GameSession.new(content, 21)
    s.model, s.active = CrashingModel(), "model"
    play(s, 400, seed=2)
    assert s.stats.combat_turns > 0
    assert s.stats.fallbacks["model error"] == s.stats.combat_turns


def test_items(content):
    s = GameSession.new(content, 2)
    clear_monsters(s)
    s.player.inventory = ["healing draught", "scroll of venom", "hourglass shard", "antidote"]
    from dataclasses import replace

    from game.combat.state import Status
    s.player.body = replace(s.player.body, hp=10).with_status("poison", Status(2, 3)).with_cooldown("heal", 3)
    # every stack keeps its letter (a b c d) while the others are used up
    assert s.perform(Use(0)) and s.player.body.hp == 10 + s.item_spec("healing draught").value
    assert s.perform(Use(1)) and "poison_strike" in s.player.known
    assert s.perform(Use(2)) and s.player.body.cooldown("heal") == 0
    assert s.perform(Use(3)) and not s.player.body.has("poison")
    assert not s.perform(Use(0)) and "no such item (a)" in s.messages.items[-1].text


def test_stairs(content):
    s = GameSession.new(content, 6)
    clear_monsters(s)
    assert not s.perform(Descend())
    s.player.x, s.player.y = s.level.down
    assert s.perform(Descend()) and s.depth == 2 and (s.player.x, s.player.y) == s.level.up
    clear_monsters(s)
    assert s.perform(Ascend()) and s.depth == 1 and (s.player.x, s.player.y) == s.level.down


def test_game_core_imports_no_ui_or_torch():
    import subprocess

    code = ("import sys, game.session, game.saves, game.autoplay, game.playlog;"
            "bad=[m for m in ('textual','torch') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_wait_at_full_hp_says_nothing_of_a_breath(rules):
    """Format 2 writes `wait_recovers00` at max hp; the message log tells only the hp a wait gave back."""
    from game.narrate import describe

    for hp, said in ((30, False), (20, True)):
        state, action, roll = parse_input(f"t03 A hp{hp}/30 pw05 ar01 cd000000 B hp18/24 pw04 ar00 cd000000 do wait r4")
        report = resolve_turn(state, action, roll, RulesResolver(rules), None, "rules")
        assert "wait_recovers" in report.applied.raw
        assert ("a breath" in describe(report, "you", "the rat")) is said
