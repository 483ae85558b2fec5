"""Training data: the stream's split, its mix, its boundary turns (the gen shards: test_brain_shards.py)."""

from __future__ import annotations

import random

import pytest

from brain.data import LONG, Mix, draw, label, sequence_tokens, split_of, stream
from game.combat.sampler import NARROW
from game.combat.state import CHANNELS, SLOTS, Combatant, CombatState, Status


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


def _case(actor_hp: int, action: str, regen: int = 0, shield: int = 0, roll: int = 3):
    none, cds = (None,) * len(CHANNELS), (0,) * len(SLOTS)
    a = Combatant(actor_hp, 40, 10, 0, cds, none)
    if regen:
        a = a.with_status("regen", Status(regen, 3))
    b = Combatant(30, 30, 5, 0, cds, none)
    if shield:
        b = b.with_status("shield", Status(shield, 3))
    return CombatState(5, a, b), action, roll


def test_on_boundary_finds_the_capped_heal_and_the_shield_the_size_of_the_hit(rules):
    hit = label(_case(40, "attack"), rules).answer.split()[0]  # "hitNN": the hit before any shield
    size = int(hit.removeprefix("hit"))
    cases = {
        "regen stops at max hp": (_case(35, "guard", regen=9), True),
        "regen fills exactly to max hp": (_case(31, "guard", regen=9), True),
        "regen one short of max hp": (_case(30, "guard", regen=9), False),
        "wait at full hp": (_case(40, "wait"), True),
        "wait one below max hp": (_case(39, "wait"), True),  # recovers 1, to max
        "wait well below max hp": (_case(20, "wait"), False),
        "shield one above the hit": (_case(40, "attack", shield=size + 1), True),
        "shield the size of the hit": (_case(40, "attack", shield=size), True),
        "shield two below the hit": (_case(40, "attack", shield=size - 2), False),
    }
    got = {name: label(case, rules).boundary for name, (case, _) in cases.items()}
    assert got == {name: want for name, (_, want) in cases.items()}


def test_the_boundary_share_raises_the_boundary_turns_to_at_least_it(rules):
    rng = random.Random(3)
    base = sum(draw(rng, rules, Mix()).boundary for _ in range(2000)) / 2000
    tilted = sum(draw(rng, rules, Mix(boundary=0.3)).boundary for _ in range(2000)) / 2000
    assert 0.03 < base < 0.3 <= tilted - 0.02  # 0.3 redrawn + the base rate's share of the rest


def test_the_long_share_raises_the_long_turns_to_at_least_it(rules):
    rng = random.Random(4)
    base = sum(sequence_tokens(draw(rng, rules, Mix())) >= LONG for _ in range(1000)) / 1000
    tilted = [draw(rng, rules, Mix(boundary=0.2, long=0.3)) for _ in range(1000)]
    assert base < 0.1
    assert sum(sequence_tokens(ex) >= LONG for ex in tilted) / 1000 >= 0.3 - 0.03
    assert sum(ex.boundary for ex in tilted) / 1000 >= 0.2 - 0.03  # the two shares split the draws


def test_the_narrow_share_draws_that_many_turns_inside_the_narrow_envelope(rules):
    def inside(ex) -> bool:  # within the narrow sampler's bounds on max hp and power
        state, _, _ = ex.case
        return all(c.max_hp <= NARROW.max_hp and c.power <= NARROW.power for c in (state.actor, state.target))

    rng = random.Random(5)
    base = sum(inside(draw(rng, rules, Mix())) for _ in range(1000)) / 1000
    tilted = sum(inside(draw(rng, rules, Mix(long=0.2, narrow=0.4))) for _ in range(1000)) / 1000
    assert base < 0.2
    assert tilted >= 0.4 - 0.03


def test_a_mix_share_outside_0_to_1_is_refused():
    with pytest.raises(ValueError, match=r"Mix\.boundary"):
        Mix(boundary=1.5)
    with pytest.raises(ValueError, match=r"sum <= 1"):
        Mix(boundary=0.6, long=0.5)
    with pytest.raises(ValueError, match=r"outside the narrow sampler"):
        Mix(sampler="narrow", long=0.1)
    with pytest.raises(ValueError, match=r"sum <= 1"):
        Mix(long=0.5, narrow=0.6)
    with pytest.raises(ValueError, match=r"not the narrow"):
        Mix(sampler="narrow", narrow=0.1)
