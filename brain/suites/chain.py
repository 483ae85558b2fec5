"""chain: the model's own answer fed back, turn after turn, against the rules chain."""

from __future__ import annotations

import random
from dataclasses import replace

from brain.suites.records import Record
from brain.suites.registry import Run, Suite, register
from game.combat.judge import Resolver
from game.combat.rules import resolve
from game.combat.ruleset import Ruleset
from game.combat.sampler import sample_iid
from game.combat.state import CombatState

CHAIN_SCRIPT = ("attack", "guard", "attack", "poison_strike", "attack", "brace", "ignite", "attack",
                "heal", "attack", "cleanse", "wait")


def chain(resolver: Resolver, start: CombatState, turns: int, seed: int, rules: Ruleset) -> list[Record]:
    """Feed the resolver's own answers back for up to `turns` turns (a fight ends earlier when a side falls);
    each record compares it with the rules
    applied to the same (model-produced) state, and `tag` says whether the chain had already left the
    rules chain. The rules chain is followed separately for the divergence turn."""
    rng = random.Random(f"chain:{seed}")
    records = []
    model_state, rules_state = start, start
    for t in range(turns):
        if any(c.hp == 0 for st in (model_state, rules_state) for c in (st.actor, st.target)):
            break  # the fight is over: no turn is played against a downed side (docs/rules.md)
        action, roll = CHAIN_SCRIPT[t % len(CHAIN_SCRIPT)], rng.randint(1, rules.roll_max)
        res = resolver.resolve_batch([(model_state, action, roll)])[0]
        truth = resolve(rules_state, action, roll, rules)
        on_track = model_state == rules_state
        records.append(Record((model_state, action, roll), truth.next_state, truth.events, res,
                              f"step{t}:{'on' if on_track else 'off'}"))
        # a failed answer falls back to the rules, as in the game
        nxt = res.next_state if res.ok and res.next_state else resolve(model_state, action, roll, rules).next_state
        model_state, rules_state = nxt.swapped(), truth.next_state.swapped()
    return records


def chain_starts(n: int, seed: int, rules: Ruleset) -> list[CombatState]:
    """Fresh fights like the game's: full hp, no statuses, cooldowns ready, turn 0."""
    rng = random.Random(f"chain-start:{seed}")
    out = []
    for _ in range(n):
        state, _, _ = sample_iid(rng, rules)
        a, b = (replace(c, hp=c.max_hp, cooldowns=(0,) * 6, statuses=(None,) * 7) for c in (state.actor, state.target))
        out.append(CombatState(0, replace(a, max_hp=max(a.max_hp, 20), hp=max(a.max_hp, 20)),
                               replace(b, max_hp=max(b.max_hp, 20), hp=max(b.max_hp, 20))))
    return out



def run(r: Run) -> dict:
    chain_records = r.records["chain"] = []
    first_off = []
    for i, start in enumerate(chain_starts(r.chains, r.seed, r.rules)):
        steps = chain(r.cached, start, r.chain_turns, r.seed + i, r.rules)
        chain_records.extend(steps)
        first_off.append(next((t for t, rec in enumerate(steps) if not rec.exact), None))
    on_track = [not rec.tag.endswith(":off") and rec.exact for rec in chain_records]
    return {
        "runs": r.chains, "turns": r.chain_turns,
        "on_track_share": sum(on_track) / max(len(on_track), 1),
        "runs_never_diverged": sum(f is None for f in first_off),
        "mean_turns": len(chain_records) / max(r.chains, 1),
        # over the runs that diverged at all (None when none did)
        "mean_first_divergence_turn": (sum(f for f in first_off if f is not None)
                                       / max(1, sum(f is not None for f in first_off))
                                       if any(f is not None for f in first_off) else None),
    }


register(Suite("chain", "the model's own answers fed back for up to 50 turns of a fight", run=run))
