"""A game in progress: levels, the player, monsters, items, combat through the resolvers.

Pure Python, no UI: the TUI draws it and sends commands; the headless arena
drives it with a scripted player. Every command returns whether a player turn
was spent; monsters act after every spent turn.

Randomness comes from separate seeded streams so one seed reproduces a run:
each level from its own generator (seed, depth), combat rolls from the combat
stream, monster decisions from the AI stream.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from dataclasses import dataclass, field, replace

from game import fov
from game.combat.format import FORMAT_VERSION
from game.combat.state import SLOTS, Combatant, CombatState
from game.combat_turn import TurnReport, playlog_record, resolve_turn
from game.content import Content
from game.content.loader import MonsterSpec
from game.dungeon import STAIRS_DOWN, STAIRS_UP, Level, generate
from game.entities import FloorItem, Monster, Player
from game.measure import percentile
from game.messages import MessageLog
from game.narrate import a_an, describe, the
from game.playlog import PlayLogWriter
from game.resolve import Resolver, RulesResolver

DIRECTIONS = {
    "n": (0, -1), "s": (0, 1), "w": (-1, 0), "e": (1, 0),
    "nw": (-1, -1), "ne": (1, -1), "sw": (-1, 1), "se": (1, 1),
}
INVENTORY_LIMIT = 10


@dataclass
class Floor:
    """One depth: its map and what is on it (kept when the player leaves, for the way back)."""

    level: Level
    monsters: list[Monster]
    items: list[FloorItem]


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
        return sum(self.latencies) / len(self.latencies), percentile(self.latencies, 0.95)


def out_of_combat_tick(body: Combatant) -> Combatant:
    """A turn spent outside a fight: statuses and cooldowns run down, nothing else happens
    (poison, burn and regen only act on combat turns, through the resolver)."""
    statuses = tuple(None if s is None or s.turns <= 1 else replace(s, turns=s.turns - 1) for s in body.statuses)
    cooldowns = tuple(max(0, c - 1) for c in body.cooldowns)
    return replace(body, statuses=statuses, cooldowns=cooldowns)


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

    # ------------------------------------------------------------ setup
    @classmethod
    def new(cls, content: Content, seed: int, run_id: str | None = None,
            playlog: PlayLogWriter | None = None) -> GameSession:
        s = cls(content, seed, run_id, playlog)
        s.floors[1] = s._build_floor(1)
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

    def _build_floor(self, depth: int) -> Floor:
        d = self.content.dungeon
        rng = random.Random(f"{self.seed}/map/{depth}")
        last = depth == d.depths
        level = generate(rng, d.width, d.height, d.rooms_min, d.rooms_max,
                         d.room_size_min, d.room_size_max, last)
        spawn_rooms = level.rooms[1:] or level.rooms
        taken = {level.up} | ({level.down} if level.down else set())

        def free_cell(rooms: list) -> tuple[int, int] | None:
            for _ in range(60):
                room = rng.choice(rooms)
                cell = rng.choice(room.cells())
                if cell not in taken and level.walkable(*cell):
                    taken.add(cell)
                    return cell
            return None

        monsters: list[Monster] = []
        pool = [m for m in self.content.monsters if m.depths[0] <= depth <= m.depths[1] and not m.boss]
        bosses = [m for m in self.content.monsters if m.boss and m.depths[0] <= depth <= m.depths[1]]
        lo, hi = d.monsters_per_depth
        for _ in range(rng.randint(lo, hi) if pool else 0):
            spec = rng.choice(pool)
            cell = free_cell(spawn_rooms)
            if cell:
                monsters.append(Monster(spec.name, *cell, Combatant(spec.hp, spec.hp, spec.power, spec.armor)))
        for spec in bosses:
            cell = free_cell([level.rooms[-1]])
            if cell:
                monsters.append(Monster(spec.name, *cell, Combatant(spec.hp, spec.hp, spec.power, spec.armor)))
        items: list[FloorItem] = []
        item_pool = [i for i in self.content.items if i.depths[0] <= depth <= i.depths[1] and i.weight > 0]
        lo, hi = d.items_per_depth
        for _ in range(rng.randint(lo, hi) if item_pool else 0):
            spec = rng.choices(item_pool, weights=[i.weight for i in item_pool])[0]
            cell = free_cell(level.rooms)
            if cell:
                items.append(FloorItem(spec.name, *cell))
        return Floor(level, monsters, items)

    # ------------------------------------------------------------ queries
    def monster_at(self, x: int, y: int) -> Monster | None:
        return next((m for m in self.floor.monsters if m.alive and m.x == x and m.y == y), None)

    def items_at(self, x: int, y: int) -> list[FloorItem]:
        return [i for i in self.floor.items if i.x == x and i.y == y]

    def adjacent_monsters(self) -> list[Monster]:
        px, py = self.player.x, self.player.y
        return [m for m in self.floor.monsters if m.alive and max(abs(m.x - px), abs(m.y - py)) == 1]

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

    def item_spec(self, name: str):
        return next(i for i in self.content.items if i.name == name)

    # ------------------------------------------------------------ resolver control
    def set_active(self, name: str) -> None:
        if name not in ("rules", "model"):
            raise ValueError(f"resolver must be rules or model, got {name!r}")
        self.active = name

    def toggle_resolver(self) -> str:
        self.set_active("model" if self.active == "rules" else "rules")
        note = "" if self.model is not None or self.active == "rules" else "; until a model is loaded the rules answer"
        self.messages.add(f"Combat resolver: {self.active}{note}.", "info")
        return self.active

    # ------------------------------------------------------------ commands
    def command(self, name: str, *args) -> bool:
        """Dispatch a command by name (TUI keys and the arena's scripted player)."""
        if self.over:
            return False
        handler = getattr(self, f"cmd_{name}", None)
        if handler is None:
            raise ValueError(f"unknown command {name!r}")
        spent = handler(*args)
        if spent:
            self._after_player_turn()
        return spent

    def cmd_move(self, dx: int, dy: int) -> bool:
        p = self.player
        nx, ny = p.x + dx, p.y + dy
        target = self.monster_at(nx, ny)
        if target is not None:
            return self._player_fights(target, "attack")
        if not self.level.walkable(nx, ny):
            return False
        if p.body.has("stun") and self.adjacent_monsters():
            return self._player_fights(self.foe(), "wait")  # the resolver spends the stunned turn
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
        return True

    def cmd_wait(self) -> bool:
        foe = self.foe()
        if foe is not None:
            return self._player_fights(foe, "wait")
        body = self.player.body
        if not body.has("poison") and body.hp < body.max_hp:
            self.player.body = replace(body, hp=min(body.max_hp, body.hp + self.rules.wait_recover))
        self._quiet_turn()
        self.messages.add("You rest.", "info")
        return True

    def cmd_special(self, action: str) -> bool:
        p = self.player
        if action not in p.known:
            self.messages.add(f"You do not know {action} (scrolls teach it).", "warn")
            return False
        if action in SLOTS and p.body.cooldown(action) > 0:
            self.messages.add(f"{action} is not ready ({p.body.cooldown(action)} turns).", "warn")
            return False
        foe = self.foe()
        if foe is None:
            self.messages.add(f"No foe in reach for {action}.", "warn")
            return False
        return self._player_fights(foe, action)

    def cmd_pickup(self) -> bool:
        here = self.items_at(self.player.x, self.player.y)
        if not here:
            self.messages.add("Nothing here to pick up.", "warn")
            return False
        if len(self.player.inventory) >= INVENTORY_LIMIT:
            self.messages.add(f"Your pack is full ({INVENTORY_LIMIT} items).", "warn")
            return False
        item = here[0]
        self.floor.items.remove(item)
        self.player.inventory.append(item.kind)
        self.messages.add(f"You pick up the {item.kind}.", "item")
        self._quiet_turn()
        return True

    def cmd_use(self, index: int) -> bool:
        inv = self.player.inventory
        if not 0 <= index < len(inv):
            return False
        spec = self.item_spec(inv[index])
        p = self.player
        if spec.effect == "restore_hp":
            gained = min(spec.value, p.body.max_hp - p.body.hp)
            p.body = replace(p.body, hp=p.body.hp + gained)
            self.messages.add(f"You drink the {spec.name} (+{gained} hp).", "item")
        elif spec.effect == "cure":
            cured = [ch for ch in spec.value if p.body.has(ch)]
            for ch in cured:
                p.body = p.body.with_status(ch, None)
            self.messages.add(f"The {spec.name} cures {', '.join(cured) or 'nothing'}.", "item")
        elif spec.effect == "teach":
            if spec.value in p.known:
                p.body = p.body.with_cooldown(spec.value, 0)
                self.messages.add(f"You already know {spec.value}; it is ready again.", "item")
            else:
                p.known.append(spec.value)
                self.messages.add(f"You learn {spec.value}!", "item")
        elif spec.effect == "refresh":
            p.body = replace(p.body, cooldowns=(0,) * len(SLOTS))
            self.messages.add("Time bends: every special action is ready.", "item")
        del inv[index]
        self._quiet_turn(tick=False)
        return True

    def cmd_descend(self) -> bool:
        if self.level.tile(self.player.x, self.player.y) != STAIRS_DOWN:
            self.messages.add("There are no stairs down here.", "warn")
            return False
        self._change_depth(self.depth + 1)
        return True

    def cmd_ascend(self) -> bool:
        if self.level.tile(self.player.x, self.player.y) != STAIRS_UP:
            self.messages.add("There are no stairs up here.", "warn")
            return False
        if self.depth == 1:
            self.messages.add("The way out is sealed behind you.", "warn")
            return False
        self._change_depth(self.depth - 1)
        return True

    def _change_depth(self, depth: int) -> None:
        going_down = depth > self.depth
        for m in self.floor.monsters:  # fights end when the player leaves the level
            m.in_fight, m.fight_turn = False, 0
        self.depth = depth
        if depth not in self.floors:
            self.floors[depth] = self._build_floor(depth)
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
        if not self.over and any(m.awake or (m.x, m.y) in self.visible for m in self.floor.monsters):
            dist = self._distance_map()
            for m in list(self.floor.monsters):
                if self.over:
                    break
                if m.alive:
                    self._monster_turn(m, dist)
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

    def _player_fights(self, m: Monster, action: str) -> bool:
        p = self.player
        report = self.resolve(CombatState(m.fight_turn, p.body, m.body), action, f"you -> {m.kind}")
        nxt = report.applied.next_state
        p.body, m.body, m.fight_turn = nxt.actor, nxt.target, nxt.turn
        m.in_fight = m.awake = True
        self.messages.add(describe(report, "You", the(m.kind)), "hit", report.tag)
        if not m.alive:
            self._kill(m)
        if p.body.hp == 0:
            self._die(m, report, monster_acted=False)
        return True

    def _kill(self, m: Monster) -> None:
        self.stats.kills += 1
        spec = self.spec(m)
        self.messages.add(f"The {m.kind} dies.", "kill")
        if spec.boss:
            self.won = True
            self.cause = f"slew the {m.kind}"
            self.messages.add(f"You have slain the {m.kind}! The dungeon is yours.", "kill")

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

    def _distance_map(self) -> dict[tuple[int, int], int]:
        """Steps from the player over walkable cells (monsters path along it)."""
        lvl, start = self.level, (self.player.x, self.player.y)
        walkable, steps = lvl.walkable, tuple(DIRECTIONS.values())
        dist = {start: 0}
        frontier = [start]
        d = 0
        while frontier:
            d += 1
            nxt = []
            for x, y in frontier:
                for dx, dy in steps:
                    c = (x + dx, y + dy)
                    if c not in dist and walkable(x + dx, y + dy):
                        dist[c] = d
                        nxt.append(c)
            frontier = nxt
        return dist

    def _monster_turn(self, m: Monster, dist: dict[tuple[int, int], int]) -> None:
        spec = self.spec(m)
        p = self.player
        if (m.x, m.y) in self.visible and not m.awake:
            m.awake = True
            self.messages.add(f"{a_an(m.kind).capitalize()} notices you.", "warn")
        if not m.awake:
            return
        adjacent = max(abs(m.x - p.x), abs(m.y - p.y)) == 1
        hurt = spec.flee_below > 0 and m.body.hp < spec.flee_below * m.body.max_hp
        if adjacent and not hurt:
            self._monster_fights(m, spec)
            return
        here = dist.get((m.x, m.y), 999)
        best, best_d = None, here
        for dx, dy in DIRECTIONS.values():
            c = (m.x + dx, m.y + dy)
            if c not in dist or c == (p.x, p.y) or self.monster_at(*c):
                continue
            d = dist[c]
            if (hurt and d > best_d) or (not hurt and d < best_d):
                best, best_d = c, d
        if best is None:
            if adjacent:  # cornered: fight back
                self._monster_fights(m, spec)
                return
        else:
            if hurt and adjacent:
                self.messages.add(f"The {m.kind} flees!", "info")
            m.x, m.y = best
        m.body = out_of_combat_tick(m.body)
        m.in_fight, m.fight_turn = False, 0

    def choose_action(self, m: Monster, spec: MonsterSpec) -> str:
        b = m.body
        usable = {}
        for action, weight in spec.actions.items():
            if weight <= 0 or (action in SLOTS and b.cooldown(action) > 0):
                continue
            if action == "heal" and b.hp > 0.6 * b.max_hp:
                continue
            if action == "cleanse" and not any(b.has(c) for c in ("poison", "burn", "fragile")):
                continue
            if action == "guard" and b.has("shield"):
                continue
            if action == "brace" and b.has("thorns"):
                continue
            if action in ("ignite", "poison_strike") and self.player.body.has(
                    "burn" if action == "ignite" else "poison"):
                continue
            usable[action] = weight
        if not usable:
            return "attack"
        return self.ai_rng.choices(list(usable), weights=list(usable.values()))[0]

    def _monster_fights(self, m: Monster, spec: MonsterSpec) -> None:
        p = self.player
        action = self.choose_action(m, spec)
        report = self.resolve(CombatState(m.fight_turn, m.body, p.body), action, f"{m.kind} -> you")
        nxt = report.applied.next_state
        m.body, p.body, m.fight_turn = nxt.actor, nxt.target, nxt.turn
        m.in_fight = True
        self.messages.add(describe(report, the(m.kind), "You"), "hurt", report.tag)
        if not m.alive:
            self._kill(m)
        if p.body.hp == 0:
            self._die(m, report, monster_acted=True)
