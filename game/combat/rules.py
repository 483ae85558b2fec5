"""The rules engine: the ground truth every model answer is judged against.

`resolve(state, action, roll, rules)` is a pure function. Order of effects
(docs/rules.md lists every rule with its event name):

1. gate: a turn against a downed target is no turn (ValueError); a downed
   actor does nothing; a stunned actor loses the action; a special action on
   cooldown is blocked.
2. the action, with the damage pipeline for strikes:
   hit -> critical -> fragile -> armor -> shield -> hp, then shatter and thorns.
3. end of the actor's turn: poison, burn, regen, fatigue ticks (only while it
   still stands), then `actor_slain` if it reached 0 hp this turn, by ticks or thorns.
4. expiry of the actor's statuses, then the actor's cooldowns tick down.
5. the turn counter advances (saturating at 99).

Every rule that fires appends an Event carrying the amount it moved and, where
a running value exists, the value after it: the model writes these as a
scratchpad before the final state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from game.combat.ruleset import Ruleset
from game.combat.state import ACTIONS, MAX_TURN, SLOTS, Combatant, CombatState, Status


@dataclass(frozen=True, slots=True)
class Event:
    rule: str
    arg: str | None = None  # a status channel or an action slot
    amount: int | None = None
    result: int | None = None


# rule -> (argument kind, has amount, has result). The format module renders
# events from this table, so the scratchpad grammar follows the rules.
EVENT_SHAPES: dict[str, tuple[str | None, bool, bool]] = {
    "actor_down": (None, False, False),
    "stunned_action_lost": (None, False, False),
    "cooldown_blocks": ("slot", False, False),
    "attack_misses": (None, False, False),
    "hit": (None, True, False),
    "critical_hit": (None, True, True),
    "fragile_amplifies": (None, True, True),
    "armor_reduces": (None, True, True),
    "shield_absorbs": (None, True, True),
    "shield_breaks": (None, False, False),
    "shield_left": (None, True, True),
    "damage_dealt": (None, True, True),
    "target_slain": (None, False, False),
    "shatter_stuns": (None, False, False),
    "thorns_reflect": (None, True, True),
    "poison_sours_heal": (None, True, True),
    "heal_restores": (None, True, True),
    "regen_gained": (None, False, False),
    "shield_gained": (None, True, True),
    "cleanse_removes": ("channel", False, False),
    "poison_applied": (None, False, False),
    "burn_applied": (None, False, False),
    "fragile_applied": (None, False, False),
    "ignite_strips_regen": (None, False, False),
    "thorns_gained": (None, False, False),
    "wait_recovers": (None, True, True),
    "poison_tick": (None, True, True),
    "burn_tick": (None, True, True),
    "poison_blocks_regen": (None, False, False),
    "headroom": (None, True, True),
    "regen_tick": (None, True, True),
    "fatigue": (None, True, True),
    "actor_slain": (None, False, False),
    "status_expires": ("channel", False, False),
    "cooldown_ready": ("slot", False, False),
}
RULES: tuple[str, ...] = tuple(EVENT_SHAPES)


@dataclass(frozen=True, slots=True)
class Outcome:
    next_state: CombatState
    events: tuple[Event, ...]


class _Turn:
    """Mutable scratch space for one resolution; frozen again at the end."""

    def __init__(self, state: CombatState, rules: Ruleset) -> None:
        self.turn = state.turn
        self.actor = state.actor
        self.target = state.target
        self.rules = rules
        self.events: list[Event] = []

    def fire(self, rule: str, arg: str | None = None, amount: int | None = None,
             result: int | None = None) -> None:
        self.events.append(Event(rule, arg, amount, result))

    # -- gate -------------------------------------------------------------
    def act(self, action: str, roll: int) -> None:
        if action in SLOTS and self.actor.cooldown(action) > 0:
            self.fire("cooldown_blocks", action)
            return
        getattr(self, f"do_{action}")(roll)
        if action in SLOTS:
            self.actor = self.actor.with_cooldown(action, self.rules.cooldown_of(action))

    # -- actions ----------------------------------------------------------
    def do_attack(self, roll: int) -> None:
        self.strike(self.actor.power + roll, roll)

    def do_poison_strike(self, roll: int) -> None:
        if self.strike(roll, roll):
            self.target = refresh(self.target, "poison", self.rules.poison_magnitude,
                                  self.rules.poison_turns)
            self.fire("poison_applied")

    def do_ignite(self, roll: int) -> None:
        r = self.rules
        self.target = refresh(self.target, "burn", r.burn_magnitude, r.burn_turns)
        self.fire("burn_applied")
        self.target = refresh(self.target, "fragile", r.ignite_fragile, r.ignite_fragile_turns)
        self.fire("fragile_applied")
        if self.target.has("regen"):
            self.target = self.target.with_status("regen", None)
            self.fire("ignite_strips_regen")

    def do_heal(self, roll: int) -> None:
        amount = self.rules.heal_amount
        poison = self.actor.status("poison")
        if poison is not None:
            soured = min(poison.magnitude, amount)
            amount -= soured
            self.fire("poison_sours_heal", amount=soured, result=amount)
        gained = min(amount, self.actor.max_hp - self.actor.hp)
        self.actor = replace(self.actor, hp=self.actor.hp + gained)
        self.fire("heal_restores", amount=gained, result=self.actor.hp)
        self.actor = refresh(self.actor, "regen", self.rules.heal_regen, self.rules.heal_regen_turns)
        self.fire("regen_gained")

    def do_guard(self, roll: int) -> None:
        r = self.rules
        shield = self.actor.status("shield")
        old = shield.magnitude if shield else 0
        new = max(old, min(r.shield_cap, old + r.guard_shield))  # a shield above the cap is kept, not cut
        turns = max(shield.turns if shield else 0, r.guard_turns)
        self.actor = self.actor.with_status("shield", Status(new, turns))
        self.fire("shield_gained", amount=new - old, result=new)

    def do_cleanse(self, roll: int) -> None:
        for channel in ("poison", "burn", "fragile"):
            if self.actor.has(channel):
                self.actor = self.actor.with_status(channel, None)
                self.fire("cleanse_removes", channel)

    def do_brace(self, roll: int) -> None:
        r = self.rules
        self.actor = refresh(self.actor, "thorns", r.thorns_magnitude, r.thorns_turns)
        self.fire("thorns_gained")

    def do_wait(self, roll: int) -> None:
        if self.actor.has("poison"):
            return
        if self.rules.wait_recover > 0:
            # Written even at full hp (as wait_recovers00): an event that appears or
            # vanishes with the hp gap was the last thing the model got wrong.
            gained = min(self.rules.wait_recover, self.actor.max_hp - self.actor.hp)
            self.actor = replace(self.actor, hp=self.actor.hp + gained)
            self.fire("wait_recovers", amount=gained, result=self.actor.hp)

    # -- damage pipeline ----------------------------------------------------
    def strike(self, base: int, roll: int) -> bool:
        """Resolve one hit on the target; False when it misses."""
        r = self.rules
        if roll <= r.miss_roll:
            self.fire("attack_misses")
            return False
        dmg = base
        self.fire("hit", amount=dmg)
        crit = roll >= r.crit_roll
        if crit:
            dmg += r.crit_bonus
            self.fire("critical_hit", amount=r.crit_bonus, result=dmg)
        fragile = self.target.status("fragile")
        if fragile is not None:
            dmg += fragile.magnitude
            self.fire("fragile_amplifies", amount=fragile.magnitude, result=dmg)
        if self.target.armor > 0 and dmg > 0:
            cut = min(self.target.armor, dmg)
            dmg -= cut
            self.fire("armor_reduces", amount=cut, result=dmg)
        shield = self.target.status("shield")
        if shield is not None and dmg > 0:
            absorbed = min(shield.magnitude, dmg)
            dmg -= absorbed
            self.fire("shield_absorbs", amount=absorbed, result=dmg)
            if absorbed == shield.magnitude:
                self.target = self.target.with_status("shield", None)
                self.fire("shield_breaks")
            else:
                self.target = self.target.with_status(
                    "shield", Status(shield.magnitude - absorbed, shield.turns))
                # format 2: the remainder written beside a copy of the shield it is taken from
                self.fire("shield_left", amount=shield.magnitude, result=shield.magnitude - absorbed)
        if dmg > 0:
            was = self.target.hp
            lost = min(dmg, was)
            self.target = replace(self.target, hp=was - lost)
            self.fire("damage_dealt", amount=lost, result=self.target.hp)
            if was > 0 and self.target.hp == 0:
                self.fire("target_slain")
        if crit and fragile is not None:
            stun = self.target.status("stun")
            turns = max(stun.turns if stun else 0, r.shatter_stun_turns)
            self.target = self.target.with_status("stun", Status(0, turns))
            self.fire("shatter_stuns")
        thorns = self.target.status("thorns")
        if thorns is not None and self.actor.hp > 0:
            lost = min(thorns.magnitude, self.actor.hp)
            self.actor = replace(self.actor, hp=self.actor.hp - lost)
            self.fire("thorns_reflect", amount=lost, result=self.actor.hp)
        return True

    # -- end of turn -------------------------------------------------------
    def lose_hp(self, rule: str, amount: int) -> None:
        lost = min(amount, self.actor.hp)
        self.actor = replace(self.actor, hp=self.actor.hp - lost)
        self.fire(rule, amount=lost, result=self.actor.hp)

    def end_of_turn(self) -> None:
        a = self.actor
        alive = a.hp > 0
        if alive:
            if (poison := a.status("poison")) is not None:
                self.lose_hp("poison_tick", poison.magnitude)
            if (burn := self.actor.status("burn")) is not None and self.actor.hp > 0:
                self.lose_hp("burn_tick", burn.magnitude)
            if (regen := self.actor.status("regen")) is not None and self.actor.hp > 0:
                if self.actor.has("poison"):
                    self.fire("poison_blocks_regen")
                else:
                    # format 2: the cap's headroom written as its own step (max hp, then max hp - hp)
                    self.fire("headroom", amount=self.actor.max_hp, result=self.actor.max_hp - self.actor.hp)
                    gained = min(regen.magnitude, self.actor.max_hp - self.actor.hp)
                    self.actor = replace(self.actor, hp=self.actor.hp + gained)
                    self.fire("regen_tick", amount=gained, result=self.actor.hp)
            if self.turn >= self.rules.fatigue_turn and self.actor.hp > 0:
                self.lose_hp("fatigue", self.rules.fatigue_damage)
        if self.actor.hp == 0:  # whatever killed it: a tick, or the target's thorns during the action
            self.fire("actor_slain")
        for channel, status in self.actor.active():
            if status.turns <= 1:
                self.actor = self.actor.with_status(channel, None)
                self.fire("status_expires", channel)
            else:
                self.actor = self.actor.with_status(channel, replace(status, turns=status.turns - 1))
        for slot in SLOTS:
            left = self.actor.cooldown(slot)
            if left > 0:
                self.actor = self.actor.with_cooldown(slot, left - 1)
                if left == 1:
                    self.fire("cooldown_ready", slot)

    def freeze(self) -> Outcome:
        state = CombatState(min(self.turn + 1, MAX_TURN), self.actor, self.target)
        return Outcome(state, tuple(self.events))


def refresh(who: Combatant, channel: str, magnitude: int, turns: int) -> Combatant:
    """Apply a status; an existing one keeps the stronger magnitude and the longer duration."""
    old = who.status(channel)
    if old is not None:
        magnitude, turns = max(old.magnitude, magnitude), max(old.turns, turns)
    return who.with_status(channel, Status(magnitude, turns))


def resolve(state: CombatState, action: str, roll: int, rules: Ruleset) -> Outcome:
    """The next state and the rules that fired, for `action` taken by the actor with `roll`."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    if not 1 <= roll <= rules.roll_max:
        raise ValueError(f"roll {roll} outside 1..{rules.roll_max}")
    if state.target.hp == 0:
        raise ValueError("the target is down (B.hp 0): the fight is over, there is no turn to resolve")
    t = _Turn(state, rules)
    if state.actor.hp == 0:
        t.fire("actor_down")
        return t.freeze()
    if t.actor.has("stun"):
        t.fire("stunned_action_lost")
    else:
        t.act(action, roll)
    t.end_of_turn()
    return t.freeze()
