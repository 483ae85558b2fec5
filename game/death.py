"""Deaths: a monster slain (the kill, its experience, the boss's fall that wins the run) and the player's own
(the cause in words, from the turn that did it or from what killed outside a fight)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from game import progression
from game.combat_turn import TurnReport
from game.entities import Monster
from game.narrate import a_an

if TYPE_CHECKING:
    from game.session import GameSession


def slain(s: GameSession, m: Monster) -> None:
    """A monster reached 0 hp (a combat turn, a knife, a blast, its poison): the player is credited."""
    s.stats.kills += 1
    spec = s.spec(m)
    s.messages.add(f"The {m.kind} dies.", "kill")
    progression.gain_xp(s, spec.hp)
    if spec.boss:
        s.won = True
        s.cause = f"slew the {m.kind}"
        s.messages.add(f"You have slain the {m.kind}! The dungeon is yours.", "kill")


def bury(s: GameSession) -> None:
    """Take the monsters that have just died off the floor and credit the player with each (once: a dead one
    leaves the floor here, whatever killed it: a combat turn, a knife, a blast, poison outside a fight)."""
    dead = [m for m in s.floor.monsters if not m.alive]
    if dead:
        s.floor.monsters = [m for m in s.floor.monsters if m.alive]
        for m in dead:
            slain(s, m)


def fight_cause(m: Monster, report: TurnReport, monster_acted: bool) -> str:
    """The cause of a death in a combat turn, from the rules that fired."""
    rules = [e.rule for e in report.applied.events or ()]
    if monster_acted and "damage_dealt" in rules:
        return f"killed by {a_an(m.kind)}"
    for rule, words in (("poison_tick", "succumbed to poison"), ("burn_tick", "burned to death"),
                        ("thorns_reflect", "impaled on the thorns of"), ("fatigue", "collapsed from exhaustion")):
        if rule in rules:
            return f"{words} {a_an(m.kind)}" if rule == "thorns_reflect" else f"{words} fighting {a_an(m.kind)}"
    return f"killed by {a_an(m.kind)}"


def die(s: GameSession, cause: str) -> None:
    s.cause = cause
    s.dead = True
    s.messages.add(f"You die: {cause}.", "death")
