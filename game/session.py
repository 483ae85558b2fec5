"""A game in progress: the state of a run and what every action shares.

Pure Python, no UI: the TUI draws it and builds actions (game/actions.py, which hold their own rules); the
headless arena drives it with a scripted player. `perform(action)` is the one entry point: an action that is
impossible says why in the log and spends no turn; after every spent turn the clocks run (game/clock.py:
hunger, wandering monsters) and the monsters act (game/ai.py). What the session keeps for the actions: the
queries (who is where), one combat turn between the player and a monster through the resolvers (`fight`),
and the end of a turn. Levels come from game/procgen.py, experience from game/progression.py, deaths from
game/death.py, who resolves from game/resolvers.py.

Randomness comes from separate seeded streams so one seed reproduces a run: each level from its own generator
(seed, depth), combat rolls from the combat stream, monster decisions from the AI stream, wanderers from
(seed, depth, turn).
"""

from __future__ import annotations

import random
from collections import deque

from game import ai, clock, death, fov
from game.actions import Action, Impossible
from game.combat.format import FORMAT_VERSION
from game.combat.judge import Resolver, RulesResolver
from game.combat.state import Combatant, CombatState
from game.combat_turn import TurnReport, playlog_record, resolve_turn
from game.content import Content
from game.content.loader import ItemSpec, MonsterSpec
from game.dungeon import STAIRS_DOWN, STAIRS_UP, Level
from game.entities import Floor, FloorItem, Monster, Player, out_of_combat_tick, tick_cause
from game.messages import MessageLog
from game.narrate import describe, the
from game.pack import INVENTORY_LIMIT
from game.playlog import PlayLogWriter
from game.procgen import build_floor
from game.resolvers import Resolvers
from game.settings import Settings
from game.stats import Stats

__all__ = ["DIRECTIONS", "INVENTORY_LIMIT", "Floor", "GameSession", "Stats", "out_of_combat_tick"]

DIRECTIONS = {
    "n": (0, -1), "s": (0, 1), "w": (-1, 0), "e": (1, 0),
    "nw": (-1, -1), "ne": (1, -1), "sw": (-1, 1), "se": (1, 1),
}


class GameSession:
    def __init__(self, content: Content, seed: int, run_id: str | None = None,
                 playlog: PlayLogWriter | None = None) -> None:
        self.content = content
        self.rules = content.rules
        self.seed = seed
        self.run_id = run_id or f"run-{seed}"
        self.playlog = playlog
        self.rules_resolver = RulesResolver(self.rules)
        self.resolvers = Resolvers()  # the TUI gives every session it shows its own one
        self.settings = Settings()
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
        self.player = Player(0, 0, Combatant(p.hp, p.hp, p.power, p.armor), list(p.actions), food=p.hunger.start)
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
        boss = next((m.name for m in content.monsters if m.boss), "its master")
        s.messages.add(f"You enter the dungeon (seed {seed}). The {boss} waits {content.dungeon.depths} depths "
                       "down.", "info")
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
        """Living monsters in view, nearest first."""
        p = self.player
        seen = [m for m in self.floor.monsters if m.alive and (m.x, m.y) in self.visible]
        return sorted(seen, key=lambda m: (max(abs(m.x - p.x), abs(m.y - p.y)), m.body.hp))

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

    # ------------------------------------------------------------ who resolves (game/resolvers.py owns it)
    @property
    def model(self) -> Resolver | None:
        """The learned resolver that answers this session's turns (None: the rules alone)."""
        return self.resolvers.answering

    @model.setter
    def model(self, resolver: Resolver | None) -> None:
        self.resolvers.use(resolver, kind=self.resolvers.learned)

    @property
    def active(self) -> str:
        return self.resolvers.active

    @active.setter
    def active(self, name: str) -> None:
        self.resolvers.set_active(name)

    def set_active(self, name: str) -> None:
        self.resolvers.set_active(name)

    @property
    def model_status(self) -> str:
        return self.resolvers.status

    def toggle_resolver(self) -> str:
        """The next resolver of the cycle rules -> model -> experts, skipping those that could not load (and why)."""
        name, said = self.resolvers.cycle()
        for line in said:
            self.messages.add(line, "warn" if line.startswith("Skipped") else "info")
        return name

    # ------------------------------------------------------------ turns
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
        """Perform one action (raising Impossible) and, for a single step, end the turn."""
        action.perform(self)
        if action.spends_turn and not self.over:
            self.end_turn()

    def quiet_turn(self, tick: bool = True) -> None:
        """A turn the player spends outside a fight: statuses act and run down (entities.out_of_combat_tick)."""
        if not tick:
            return
        before = self.player.body
        self.player.body = out_of_combat_tick(before)
        if self.player.body.hp == 0:
            death.die(self, tick_cause(before))

    def end_turn(self) -> None:
        """A player turn has passed: the clocks run, then every monster acts."""
        self.turns += 1
        self.update_fov()
        clock.tick(self)
        if not self.over:
            ai.monsters_act(self)
        death.bury(self)
        if not self.over and self.turns % self.content.dungeon.autosave_every == 0:
            self.autosave_due = True

    def resolve(self, state: CombatState, action: str, who: str = "") -> TurnReport:
        roll = self.combat_rng.randint(1, self.rules.roll_max)
        r = self.resolvers
        report = resolve_turn(state, action, roll, self.rules_resolver, r.answering, r.active, self.time_limit_s)
        report.who = who
        self.stats.record(report, r.learned if report.model is not None else None)
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
            death.bury(self)
        if p.body.hp == 0 and not self.won:
            death.die(self, death.fight_cause(m, report, monster_acted=monster_acts))
