"""Hypothesis strategies for combat states inside the format's ranges."""

from __future__ import annotations

from hypothesis import strategies as st

from game.combat.state import ACTIONS, CHANNELS, SLOTS, Combatant, CombatState, Status


@st.composite
def combatants(draw: st.DrawFn, min_hp: int = 0) -> Combatant:
    max_hp = draw(st.integers(1, 99))
    statuses = []
    for ch in CHANNELS:
        if draw(st.booleans()):
            # fragile and power are bounded so the largest strike fits two digits (game.resolve.strike_headroom)
            mag = {"stun": 0, "fragile": draw(st.integers(1, 30))}.get(ch) if ch in ("stun", "fragile") \
                else draw(st.integers(1, 99))
            statuses.append(Status(mag, draw(st.integers(1, 9))))
        else:
            statuses.append(None)
    return Combatant(
        hp=draw(st.integers(min(min_hp, max_hp), max_hp)), max_hp=max_hp, power=draw(st.integers(0, 60)),
        armor=draw(st.integers(0, 99)), cooldowns=tuple(draw(st.one_of(st.just(0), st.integers(0, 9))) for _ in SLOTS),
        statuses=tuple(statuses),
    )


@st.composite
def cases(draw: st.DrawFn, roll_max: int = 6) -> tuple[CombatState, str, int]:
    # no turn is played against a downed target (docs/rules.md, step 0)
    state = CombatState(draw(st.integers(0, 99)), draw(combatants()), draw(combatants(min_hp=1)))
    return state, draw(st.sampled_from(ACTIONS)), draw(st.integers(1, roll_max))
