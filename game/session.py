"""A game in progress: the state of a run and the rules for changing it.

Pure Python, no UI: the TUI draws it and builds actions (game/actions.py); the
headless arena drives it with a scripted player. `perform(action)` is the one
entry point: an action that is impossible says why in the log and spends no
turn; monsters act (game/ai.py) after every spent turn. Levels come from
game/procgen.py, item effects from game/items.py, paths from game/pathfind.py,
many-step activities (run, explore, travel, rest) from game/activities.py.

Randomness comes from separate seeded streams so one seed reproduces a run:
each level from its own generator (seed, depth), combat rolls from the combat
stream, monster decisions from the AI stream.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from dataclasses import dataclass, field, replace

from game import ai, fov, items
from game.actions import Action, Impossible
from game.combat.format import FORMAT_VERSION
from game.combat.state import SLOTS, Combatant, CombatState
from game.combat_turn import TurnReport, playlog_record, resolve_turn
from game.content import Content
from game.content.loader import ItemSpec, MonsterSpec
from game.dungeon import STAIRS_DOWN, STAIRS_UP, Level
from game.entities import Floor, FloorItem, Monster, Player, out_of_combat_tick
from game.measure import percentile
from game.messages import MessageLog
from game.narrate import a_an, describe, the
from game.playlog import PlayLogWriter
from game.procgen import build_floor
from game.resolve import RESOLVERS, Resolver, RulesResolver

__all__ = ["DIRECTIONS", "INVENTORY_LIMIT", "Floor", "GameSession", "Stats", "out_of_combat_tick"]

DIRECTIONS = {
    "n": (0, -1), "s": (0, 1), "w": (-1, 0), "e": (1, 0),
    "nw": (-1, -1), "ne": (1, -1), "sw": (-1, 1), "se": (1, 1),
}
INVENTORY_LIMIT = 10  # stacks: one letter each in the inventory


@dataclass
class Stats:
    combat_turns: int = 0
    divergences: int = 0
    fallbacks: Counter = field(default_factory=Counter)  # short reason -> count
    latencies: deque = field(default_factory=lambda: deque(maxlen=2000))  # model ms
    kills: int = 0

    def record(self, report: TurnReport) -> None:
        self.combat_turns += 1
        self.divergences += report.diverged
        if report.fallback:
            self.fallbacks[report.fallback.split(":")[0]] += 1
        if report.model is not None:
            self.latencies.append(report.model.latency_ms)

    def latency(self) -> tuple[float, float] | None:
        """Mean and p95 of model latency in ms, or None before the first model answer."""
        if not self.latencies:
            return None
        xs = list(self.latencies)
        return sum(xs) / len(xs), percentile(xs, 0.95)


class GameSession:
    def __init__(self, content: Content, seed: int, run_id: str | None = None,
                 playlog: PlayLogWriter | None = None) -> None:
        self.content = content
        self.rules = content.rules
        self.seed = seed
        self.run_id = run_id or f"run-{seed}"
        self.playlog = playlog
        self.rules_resolver = RulesResolver(self.rules)
        self.model: Resolver | None = None
        self.model_status = "not loaded"
        self.active = "rules"
        self.time_limit_s = 2.0
        self.combat_rng = random.Random(f"{seed}/combat")
        self.ai_rng = random.Random(f"{seed}/ai")
        self.messages = MessageLog()
        self.stats = Stats()
        self.recent: deque[TurnReport] = deque(maxlen=30)
        self.turns = 0
        self.depth = 1
        self.max_depth = 1
        self.dead = False
        self.won = False
        self.cause = ""
        self.autosave_due = False
        self.floors: dict[int, Floor] = {}
        p = content.player
        body = Combatant(p.hp, p.hp, p.power, p.armor)
        self.player = Player(0, 0, body, list(p.actions))
        self.visible: set[tuple[int, int]] = set()
        self.stop_reason = ""  # why the last run / explore / travel / rest stopped
        self.explored_items: set[tuple[int, int, int]] = set()  # (depth, x, y) explore stopped at: not again

    # ------------------------------------------------------------ setup
    @classmethod
    def new(cls, content: Content, seed: int, run_id: str | None = None,
            playlog: PlayLogWriter | None = None) -> GameSession:
        s = cls(content, seed, run_id, playlog)
        s.floors[1] = build_floor(content, seed, 1)
        s.player.x, s.player.y = s.floor.level.up
        s.update_fov()
        s.messages.add(f"You enter the dungeon (seed {seed}). Find the stairs down; the wyrm waits below.", "info")
        return s

    @property
    def floor(self) -> Floor:
        return self.floors[self.depth]

    @property
    def level(self) -> Level:
        return self.floors[self.depth].level

    @property
    def over(self) -> bool:
        return self.dead or self.won

    def spec(self, m: Monster) -> MonsterSpec:
        return next(s for s in self.content.monsters if s.name == m.kind)

    def item_spec(self, name: str) -> ItemSpec:
        return next(i for i in self.content.items if i.name == name)

    # ------------------------------------------------------------ queries
    def monster_at(self, x: int, y: int) -> Monster | None:
        return next((m for m in self.floor.monsters if m.alive and m.x == x and m.y == y), None)

    def items_at(self, x: int, y: int) -> list[FloorItem]:
        return [i for i in self.floor.items if i.x == x and i.y == y]

    def adjacent_monsters(self) -> list[Monster]:
        px, py = self.player.x, self.player.y
        return [m for m in self.floor.monsters if m.alive and max(abs(m.x - px), abs(m.y - py)) == 1]

    def visible_monsters(self) -> list[Monster]:
        return [m for m in self.floor.monsters if m.alive and (m.x, m.y) in self.visible]

    def foe(self) -> Monster | None:
        """The monster a special action is aimed at: the adjacent one already fighting, else the weakest."""
        adj = self.adjacent_monsters()
        if not adj:
            return None
        return min(adj, key=lambda m: (not m.in_fight, m.body.hp))

    def update_fov(self) -> None:
        self.visible = fov.compute(self.level, self.player.x, self.player.y, self.content.dungeon.fov_radius)
        for x, y in self.visible:
            self.level.seen[y][x] = True

    def on_stairs(self, down: bool) -> bool:
        return self.level.tile(self.player.x, self.player.y) == (STAIRS_DOWN if down else STAIRS_UP)

    # ------------------------------------------------------------ resolver control
    def set_active(self, name: str) -> None:
        if name not in RESOLVERS:
            raise ValueError(f"resolver must be one of {', '.join(RESOLVERS)}, got {name!r}")
        self.active = name

    def toggle_resolver(self, unavailable: dict[str, str] | None = None) -> str:
        """The next resolver of the cycle rules -> model -> experts, skipping those that could not load (and why)."""
        unavailable = unavailable or {}
        i = RESOLVERS.index(self.active)
        for step in range(1, len(RESOLVERS)):
            name = RESOLVERS[(i + step) % len(RESOLVERS)]
            if name not in unavailable:
                break
            self.messages.add(f"Skipped {name}: {unavailable[name]}", "warn")
        else:
            name = "rules"
        self.set_active(name)
        note = "" if self.model is not None or name == "rules" else "; until it is loaded the rules answer"
        self.messages.add(f"Combat resolver: {name}{note}.", "info")
        return name

    # ------------------------------------------------------------ actions
    def perform(self, action: Action) -> bool:
        """Do what the player asked; an impossible action says why and spends no turn. True when time passed."""
        if self.over:
            return False
        turns = self.turns
        try:
            self.act(action)
        except Impossible as exc:
            self.messages.add(str(exc), "warn")
        return self.turns != turns

    def act(self, action: Action) -> None:
        """Perform one action (raising Impossible) and, for a single step, let the monsters answer."""
        action.perform(self)
        if action.spends_turn:
            self._after_player_turn()

    def move_or_attack(self, dx: int, dy: int) -> None:
        p = self.player
        nx, ny = p.x + dx, p.y + dy
        target = self.monster_at(nx, ny)
        if target is not None:
            self.fight(target, "attack", monster_acts=False)
            return
        if not self.level.walkable(nx, ny):
            raise Impossible("A wall is in the way.")
        if p.body.has("stun") and self.adjacent_monsters():
            self.fight(self.foe(), "wait", monster_acts=False)  # the resolver spends the stunned turn
            return
        p.x, p.y = nx, ny
        self._quiet_turn()
        here = self.items_at(nx, ny)
        if here:
            names = ", ".join(i.kind for i in here)
            self.messages.add(f"You see here: {names} (g to pick up).", "item")
        tile = self.level.tile(nx, ny)
        if tile == STAIRS_DOWN:
            self.messages.add("Stairs lead down (>).", "info")
        elif tile == STAIRS_UP and self.depth > 1:
            self.messages.add("Stairs lead up (<).", "info")

    def wait(self) -> None:
        foe = self.foe()
        if foe is not None:
            self.fight(foe, "wait", monster_acts=False)
            return
        body = self.player.body
        if not body.has("poison") and body.hp < body.max_hp:
            self.player.body = replace(body, hp=min(body.max_hp, body.hp + self.rules.wait_recover))
        self._quiet_turn()
        self.messages.add("You rest.", "info")

    def special(self, action: str) -> None:
        p = self.player
        name = items.words(action)
        if action not in p.known:
            raise Impossible(f"You do not know {name} (a scroll teaches it).")
        if action in SLOTS and p.body.cooldown(action) > 0:
            raise Impossible(f"{name.capitalize()} is not ready ({p.body.cooldown(action)} turns).")
        foe = self.foe()
        if foe is None:
            raise Impossible(f"No foe in reach for {name}.")
        self.fight(foe, action, monster_acts=False)

    def pick_up(self) -> None:
        here = self.items_at(self.player.x, self.player.y)
        if not here:
            raise Impossible("Nothing here to pick up.")
        inv = self.player.inventory
        item = here[0]
        if item.kind not in inv and len(items.stacks(inv)) >= INVENTORY_LIMIT:
            raise Impossible(f"Your pack is full ({INVENTORY_LIMIT} kinds of item); d drops one.")
        self.floor.items.remove(item)
        inv.append(item.kind)
        count = inv.count(item.kind)
        self.messages.add(f"You pick up the {item.kind}{f' ({count} now)' if count > 1 else ''}.", "item")
        self._quiet_turn()

    def _stack(self, index: int) -> ItemSpec:
        st = items.stacks(self.player.inventory)
        if not 0 <= index < len(st):
            raise Impossible("You have no such item.")
        return self.item_spec(st[index][0])

    def use(self, index: int) -> None:
        spec = self._stack(index)
        line = items.EFFECTS[spec.effect](self, spec)  # raises Impossible: the item stays
        self.player.inventory.remove(spec.name)
        self.messages.add(line, "item")
        for m in self.floor.monsters:  # a knife or a blast may have killed
            if not m.alive:
                self.kill(m)
        self._quiet_turn(tick=False)

    def drop(self, index: int) -> None:
        spec = self._stack(index)
        self.player.inventory.remove(spec.name)
        self.floor.items.append(FloorItem(spec.name, self.player.x, self.player.y))
        self.messages.add(f"You drop the {spec.name}.", "item")
        self._quiet_turn()

    def take_stairs(self, down: bool) -> None:
        if not self.on_stairs(down):
            raise Impossible(f"There are no stairs {'down' if down else 'up'} here.")
        if not down and self.depth == 1:
            raise Impossible("The way out is sealed behind you.")
        self._change_depth(self.depth + (1 if down else -1))

    def _change_depth(self, depth: int) -> None:
        going_down = depth > self.depth
        for m in self.floor.monsters:  # fights end when the player leaves the level
            m.in_fight, m.fight_turn = False, 0
        self.depth = depth
        if depth not in self.floors:
            self.floors[depth] = build_floor(self.content, self.seed, depth)
        self.max_depth = max(self.max_depth, depth)
        lvl = self.level
        self.player.x, self.player.y = lvl.up if going_down else (lvl.down or lvl.up)
        self._quiet_turn()
        self.messages.add(f"You {'descend' if going_down else 'climb'} to depth {depth}.", "info")

    # ------------------------------------------------------------ turns
    def _quiet_turn(self, tick: bool = True) -> None:
        if tick:
            self.player.body = out_of_combat_tick(self.player.body)

    def _after_player_turn(self) -> None:
        self.turns += 1
        self.update_fov()
        ai.monsters_act(self)
        self.floor.monsters = [m for m in self.floor.monsters if m.alive]
        every = self.content.dungeon.autosave_every
        if not self.over and self.turns % every == 0:
            self.autosave_due = True

    def resolve(self, state: CombatState, action: str, who: str = "") -> TurnReport:
        roll = self.combat_rng.randint(1, self.rules.roll_max)
        report = resolve_turn(state, action, roll, self.rules_resolver, self.model, self.active, self.time_limit_s)
        report.who = who
        self.stats.record(report)
        self.recent.append(report)
        if self.playlog is not None:
            record = playlog_record(report, self.seed, self.rules.ruleset_id, FORMAT_VERSION)
            record.update(who=who, depth=self.depth, game_turn=self.turns)
            self.playlog.write(record)
        return report

    def fight(self, m: Monster, action: str, monster_acts: bool) -> None:
        """One combat turn between the player and `m`, whoever acts, through the resolvers."""
        p = self.player
        actor, target = (m, p) if monster_acts else (p, m)
        who = f"{m.kind} -> you" if monster_acts else f"you -> {m.kind}"
        report = self.resolve(CombatState(m.fight_turn, actor.body, target.body), action, who)
        nxt = report.applied.next_state
        actor.body, target.body, m.fight_turn = nxt.actor, nxt.target, nxt.turn
        m.in_fight = m.awake = True
        if monster_acts:
            self.messages.add(describe(report, the(m.kind), "You"), "hurt", report.tag)
        else:
            self.messages.add(describe(report, "You", the(m.kind)), "hit", report.tag)
        if not m.alive:
            self.kill(m)
        if p.body.hp == 0:
            self._die(m, report, monster_acted=monster_acts)

    def kill(self, m: Monster) -> None:
        self.stats.kills += 1
        spec = self.spec(m)
        self.messages.add(f"The {m.kind} dies.", "kill")
        self._gain_xp(spec.hp)
        if spec.boss:
            self.won = True
            self.cause = f"slew the {m.kind}"
            self.messages.add(f"You have slain the {m.kind}! The dungeon is yours.", "kill")

    # ------------------------------------------------------------ progression
    def _gain_xp(self, amount: int) -> None:
        p, prog = self.player, self.content.player.progression
        p.xp += amount
        while p.level - 1 < len(prog.xp_levels) and p.xp >= prog.xp_levels[p.level - 1]:
            p.level += 1
            self.recompute_body()
            self.messages.add(f"You reach level {p.level}: power {p.body.power}, armour {p.body.armor}.", "kill")

    def recompute_body(self) -> None:
        """Power and armour from the base, the level, worn armour and lasting effects, inside the model's ranges."""
        p, spec, prog = self.player, self.content.player, self.content.player.progression
        worn = self.item_spec(p.worn).value if p.worn else 0
        power = spec.power + (p.level - 1) * prog.power_per_level + p.power_bonus
        armor = spec.armor + worn + p.armor_bonus
        p.body = replace(p.body, power=min(prog.max_power, max(1, power)), armor=min(prog.max_armor, max(0, armor)))

    def _die(self, m: Monster, report: TurnReport, monster_acted: bool) -> None:
        rules = [e.rule for e in report.applied.events or ()]
        if monster_acted and "damage_dealt" in rules:
            self.cause = f"killed by {a_an(m.kind)}"
        elif "poison_tick" in rules:
            self.cause = f"succumbed to poison fighting {a_an(m.kind)}"
        elif "burn_tick" in rules:
            self.cause = f"burned to death fighting {a_an(m.kind)}"
        elif "thorns_reflect" in rules:
            self.cause = f"impaled on the thorns of {a_an(m.kind)}"
        elif "fatigue" in rules:
            self.cause = f"collapsed from exhaustion fighting {a_an(m.kind)}"
        else:
            self.cause = f"killed by {a_an(m.kind)}"
        self.dead = True
        self.messages.add(f"You die: {self.cause}.", "death")
