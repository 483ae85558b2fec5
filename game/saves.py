"""Saves: JSON with a schema version, written atomically, the previous one kept as .bak.

Never pickle. Loading reads a save in ONE pass that checks every field (type, range, list length, position on
the map, the random states, and every body against the legal combat state, game.combat.envelope) while it
builds the session, so a damaged or hostile file only ever gives a SaveError naming the file and the field.
`load_newest` offers the newest file that loads among save.json, its backup and temp files a kill left
behind, newest by the save sequence number each save carries (`save_seq`, never the clock); unusable files
are renamed aside (`quarantine_file`), untouched. A backup is only replaced by a save that loads, and a save
never replaces another run's save before that run is kept in <save_dir>/kept/ (`save_game`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import stat
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from game.atomic import write_atomic
from game.combat.envelope import combatant_problem
from game.combat.state import ACTIONS, CHANNELS, MAX_DIGIT, MAX_TURN, MAX_VALUE, SLOTS, Combatant, Status
from game.content import Content
from game.dungeon import WALKABLE, WALL, Level, Room
from game.entities import FloorItem, Monster, Player
from game.messages import LIMIT as MESSAGES_LIMIT
from game.messages import MAX_TAG, MessageLog
from game.pack import INVENTORY_LIMIT, LETTERS, stacks
from game.paths import run_file, run_id_problem
from game.progression import recompute_body
from game.resolve import RESOLVERS
from game.session import Floor, GameSession
from game.settings import Settings
from game.stats import Tally

# 4: hunger, stable pack letters, boons chosen at level-ups, settings, combat statistics per resolver;
# 3: save_seq, the save's place in its directory's order; 2: progression, how long monsters fled
SAVE_VERSION = 4
OLDEST_READABLE = 1  # a version-1 save loads with no progression yet; versions 1 and 2 order by turns, then time
SAVE_NAME = "save.json"
BACKUP_NAME = SAVE_NAME + ".bak"
KEPT_DIR = "kept"  # runs set aside before another run's save replaced them
MAX_SAVE_BYTES = 16 * 1024 * 1024  # a full six-depth save is ~100 kB; larger is not a save
MAX_MAP = (200, 100)  # the content loader's bounds on the dungeon size
SEED_MIN, SEED_MAX = -(2**63), 2**63  # the one seed range: --seed, the title's seed field and a save's seed
SEED_RANGE = "a whole number between -2**63 and 2**63"
MAX_SEED = SEED_MAX
MAX_COUNT = 10**12  # turns, kills and other counters
MAX_MESSAGE_CHARS = 10_000  # a longer message text is not one the game wrote (it keeps MAX_TEXT of each)
TILES = frozenset({WALL, *WALKABLE})


class SaveError(ValueError):
    pass


def seed_problem(seed: object) -> str | None:
    """Why `seed` cannot seed a run (one a save can hold), or None."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not SEED_MIN <= seed <= SEED_MAX:
        return f"expected {SEED_RANGE}, got {_short(seed)}"
    return None


def save_path(save_dir: Path) -> Path:
    return Path(save_dir) / SAVE_NAME


# ------------------------------------------------------------------ encode

def _body(c: Combatant) -> dict[str, Any]:
    return {"hp": c.hp, "max_hp": c.max_hp, "power": c.power, "armor": c.armor,
            "cooldowns": list(c.cooldowns),
            "statuses": [None if s is None else [s.magnitude, s.turns] for s in c.statuses]}


def _rng(r) -> list:
    version, state, gauss = r.getstate()
    return [version, list(state), gauss]


# The save sequence number of each session: the one it was loaded with, then the one of its last save.
_SEQ: weakref.WeakKeyDictionary[GameSession, int] = weakref.WeakKeyDictionary()


def save_seq(s: GameSession) -> int:
    return _SEQ.get(s, 0)


def session_to_dict(s: GameSession) -> dict[str, Any]:
    floors = {}
    for depth, f in s.floors.items():
        lvl = f.level
        floors[str(depth)] = {
            "width": lvl.width, "height": lvl.height,
            "tiles": ["".join(row) for row in lvl.tiles],
            "seen": ["".join("1" if v else "0" for v in row) for row in lvl.seen],
            "rooms": [[r.x, r.y, r.w, r.h] for r in lvl.rooms],
            "up": list(lvl.up), "down": list(lvl.down) if lvl.down else None,
            "monsters": [{"kind": m.kind, "x": m.x, "y": m.y, "body": _body(m.body), "fight_turn": m.fight_turn,
                          "in_fight": m.in_fight, "awake": m.awake, "fled": m.fled} for m in f.monsters],
            "items": [{"kind": i.kind, "x": i.x, "y": i.y} for i in f.items],
        }
    p = s.player
    return {
        "save_version": SAVE_VERSION, "ruleset": s.rules.ruleset_id, "saved_at": time.time(),
        "save_seq": save_seq(s),
        "seed": s.seed, "run_id": s.run_id, "depth": s.depth, "max_depth": s.max_depth, "turns": s.turns,
        "active": s.active,
        "player": {"x": p.x, "y": p.y, "body": _body(p.body), "known": list(p.known), "inventory": list(p.inventory),
                   **_progress(p)},
        "floors": floors,
        "rng": {"combat": _rng(s.combat_rng), "ai": _rng(s.ai_rng)},
        "stats": {"combat_turns": s.stats.combat_turns, "divergences": s.stats.divergences,
                  "fallbacks": dict(s.stats.fallbacks), "kills": s.stats.kills,
                  "by_resolver": {k: v.to_json() for k, v in s.stats.by_resolver.items()}},
        "settings": s.settings.to_json(),
        "messages": s.messages.to_json(),
    }


class SaveWriteError(OSError):
    """A save could not be written: the message names the file and the reason."""


# Files written or loaded by this process, by identity, with the run and the sequence number they hold: only
# these (or a file that loads) may become the backup, and only these are known to hold no other run.
_OURS: dict[str, tuple[tuple[int, int, int, int], str, int]] = {}


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _remember(path: Path, run_id: str, seq: int) -> None:
    with contextlib.suppress(OSError):
        _OURS[str(path)] = (_identity(path.lstat()), run_id, seq)


def _ours(path: Path, run_id: str) -> int | None:
    """The sequence number of `path` when this process wrote or loaded it, unchanged, for run `run_id`."""
    known = _OURS.get(str(path))
    try:
        if known is not None and known[0] == _identity(path.lstat()) and known[1] == run_id:
            return known[2]
    except OSError:
        pass
    return None


def save_game(s: GameSession, save_dir: Path, kept: list[Path] | None = None) -> Path:
    """Write save.json atomically; SaveWriteError (file and reason) when the directory refuses the write.

    What it replaces is checked first, unless it is this run's save written or loaded by this process:
    - a save of ANOTHER run anywhere among the candidates (save.json, the backup, temp files) is kept in
      <save_dir>/kept/ before anything of it can be overwritten (the copies made are appended to `kept`);
      when it cannot be kept, nothing is written;
    - save.json becomes save.json.bak only if it loads; anything else is quarantined, so a good backup is
      never overwritten by garbage;
    - the new save's sequence number is above every loadable candidate's, so Continue offers it."""
    path = save_path(save_dir)
    try:
        st = path.lstat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise SaveWriteError(f"{path}: {exc.strerror or exc}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise SaveWriteError(f"{path}: is a directory, not a save file")
    backup: Path | None = None
    ours = _ours(path, s.run_id) if st is not None else None
    if ours is not None:
        backup, seq = path.with_name(BACKUP_NAME), max(save_seq(s), ours) + 1
    else:
        found, _ = _survey(save_dir, s.content)
        seq = max([save_seq(s), *(f.seq for f in found)]) + 1
        for other in _newest_per_run(f for f in found if f.session.run_id != s.run_id):
            try:
                copy, written = _keep(other, save_dir, s.content)
            except OSError as exc:
                raise SaveWriteError(f"{other.path}: holds run {other.session.run_id}, which could not be kept "
                                     f"({exc.filename or ''}: {exc.strerror or exc}); not saved over it") from None
            if written and kept is not None:
                kept.append(copy)
        if st is not None:
            if stat.S_ISREG(st.st_mode) and any(f.path == path for f in found):
                backup = path.with_name(BACKUP_NAME)
            else:
                try:
                    quarantine_file(path)
                except OSError as exc:
                    raise SaveWriteError(f"{path}: cannot move the unusable old save aside "
                                         f"({exc.strerror or exc})") from None
    _SEQ[s] = seq
    try:
        write_atomic(path, json.dumps(session_to_dict(s), separators=(",", ":")), backup=backup)
    except OSError as exc:
        raise SaveWriteError(f"{path}: {exc.strerror or exc}") from None
    _remember(path, s.run_id, seq)
    return path


def _progress(p: Player) -> dict[str, Any]:
    """What save version 2 added for the player (experience, level, worn armour, lasting bonuses), and version 4
    (pack letters, boons chosen and still to choose, food)."""
    return {"xp": p.xp, "level": p.level, "worn": p.worn, "power_bonus": p.power_bonus, "armor_bonus": p.armor_bonus,
            "letters": {name: letter for letter, name, _ in stacks(p)}, "training": dict(p.training),
            "unspent": p.unspent, "food": p.food}


# ------------------------------------------------------------------ read: one pass, checking while building
# Every field is checked for type and range as it is read, and the session is built from the checked values
# only, so a hostile or damaged file can only ever produce a SaveError naming the field, never another
# exception, and never a state the rules cannot resolve.

class _Bad(Exception):
    pass


def _short(v: Any) -> str:
    text = repr(v) if not isinstance(v, (dict, list)) else type(v).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _int(v: Any, where: str, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise _Bad(f"{where}: expected an integer in {lo}..{hi}, got {_short(v)}")
    return v


def _str(v: Any, where: str, max_len: int, alphabet: frozenset[str] | None = None) -> str:
    if not isinstance(v, str) or len(v) > max_len or (alphabet is not None and not set(v) <= alphabet):
        what = f"a string of at most {max_len} characters" + (f" from {''.join(sorted(alphabet))!r}"
                                                              if alphabet else "")
        raise _Bad(f"{where}: expected {what}, got {_short(v)}")
    return v


def _list(v: Any, where: str, lo: int, hi: int) -> list:
    if not isinstance(v, list) or not lo <= len(v) <= hi:
        size = f"{lo}" if lo == hi else f"{lo}..{hi}"
        raise _Bad(f"{where}: expected a list of {size} entries, got {_short(v)}"
                   + (f" of {len(v)}" if isinstance(v, list) else ""))
    return v


def _obj(v: Any, where: str, keys: tuple[str, ...]) -> dict:
    if not isinstance(v, dict):
        raise _Bad(f"{where}: expected an object, got {_short(v)}")
    for k in keys:
        if k not in v:
            raise _Bad(f"{where}: missing field {k!r}")
    return v


def _name(v: Any, where: str, allowed: set[str] | tuple[str, ...], what: str) -> str:
    if not isinstance(v, str) or v not in allowed:
        raise _Bad(f"{where}: unknown {what} {_short(v)}")
    return v


def _bool(v: Any, where: str) -> bool:
    if not isinstance(v, bool):
        raise _Bad(f"{where}: expected true or false, got {_short(v)}")
    return v


def _pos(v: Any, where: str, w: int, h: int) -> tuple[int, int]:
    x, y = _list(v, where, 2, 2)
    return _int(x, f"{where}[0]", 0, w - 1), _int(y, f"{where}[1]", 0, h - 1)


def _body_from(d: Any, where: str, content: Content, living: bool = False) -> Combatant:
    """A body inside the legal combat state (game.combat.envelope.combatant_problem): one the rules resolve in
    every turn the game may play with it. `living`: the player's, which must have hp left."""
    d = _obj(d, where, ("hp", "max_hp", "power", "armor", "cooldowns", "statuses"))
    hp, max_hp, power, armor = (_int(d[k], f"{where}.{k}", 0, MAX_VALUE) for k in ("hp", "max_hp", "power", "armor"))
    cooldowns = tuple(_int(c, f"{where}.cooldowns[{i}]", 0, MAX_DIGIT)
                      for i, c in enumerate(_list(d["cooldowns"], f"{where}.cooldowns", len(SLOTS), len(SLOTS))))
    statuses: list[Status | None] = []
    for i, st in enumerate(_list(d["statuses"], f"{where}.statuses", len(CHANNELS), len(CHANNELS))):
        if st is None:
            statuses.append(None)
            continue
        magnitude, turns = _list(st, f"{where}.statuses[{i}]", 2, 2)
        statuses.append(Status(_int(magnitude, f"{where}.statuses[{i}][0]", 0, MAX_VALUE),
                               _int(turns, f"{where}.statuses[{i}][1]", 0, MAX_DIGIT)))
    body = Combatant(hp, max_hp, power, armor, cooldowns, tuple(statuses))
    problem = combatant_problem(body, content.rules)
    if problem is not None:
        raise _Bad(f"{where}: {problem}")
    if living and hp == 0:
        raise _Bad(f"{where}.hp: expected a living player (at least 1 hp), got 0")
    return body


def _rng_from(v: Any, where: str) -> random.Random:
    version, state, gauss = _list(v, where, 3, 3)
    _int(version, f"{where}[0]", 3, 3)
    state = _list(state, f"{where}[1]", 625, 625)
    for i, x in enumerate(state[:-1]):
        _int(x, f"{where}[1][{i}]", 0, 2**32 - 1)
    _int(state[-1], f"{where}[1][624]", 0, 624)
    if gauss is not None and (not isinstance(gauss, float) or not math.isfinite(gauss)):
        raise _Bad(f"{where}[2]: expected null or a finite number, got {_short(gauss)}")
    r = random.Random()
    r.setstate((version, tuple(state), gauss))
    return r


def _floor_from(f: Any, where: str, content: Content, monsters: set[str], items: set[str]) -> Floor:
    f = _obj(f, where, ("width", "height", "tiles", "seen", "rooms", "up", "down", "monsters", "items"))
    w, h = _int(f["width"], f"{where}.width", 1, MAX_MAP[0]), _int(f["height"], f"{where}.height", 1, MAX_MAP[1])
    rows = {}
    for name, alphabet in (("tiles", TILES), ("seen", frozenset("01"))):
        rows[name] = _list(f[name], f"{where}.{name}", h, h)
        for y, row in enumerate(rows[name]):
            if len(_str(row, f"{where}.{name}[{y}]", w, alphabet)) != w:
                raise _Bad(f"{where}.{name}[{y}]: expected {w} characters, got {len(row)}")
    rooms = []
    for i, r in enumerate(_list(f["rooms"], f"{where}.rooms", 0, 1000)):
        x, y, rw, rh = _list(r, f"{where}.rooms[{i}]", 4, 4)
        x, y = _int(x, f"{where}.rooms[{i}][0]", 0, w - 1), _int(y, f"{where}.rooms[{i}][1]", 0, h - 1)
        rooms.append(Room(x, y, _int(rw, f"{where}.rooms[{i}][2]", 1, w - x),
                          _int(rh, f"{where}.rooms[{i}][3]", 1, h - y)))
    up = _pos(f["up"], f"{where}.up", w, h)
    down = _pos(f["down"], f"{where}.down", w, h) if f["down"] is not None else None
    level = Level(w, h, [list(row) for row in rows["tiles"]], rooms, up, down,
                  [[c == "1" for c in row] for row in rows["seen"]])
    ms = []
    for i, m in enumerate(_list(f["monsters"], f"{where}.monsters", 0, 1000)):
        at = f"{where}.monsters[{i}]"
        m = _obj(m, at, ("kind", "x", "y", "body", "fight_turn", "in_fight", "awake"))
        monster = Monster(_name(m["kind"], f"{at}.kind", monsters, "monster"), _int(m["x"], f"{at}.x", 0, w - 1),
                          _int(m["y"], f"{at}.y", 0, h - 1), _body_from(m["body"], f"{at}.body", content),
                          _int(m["fight_turn"], f"{at}.fight_turn", 0, MAX_TURN),
                          _bool(m["in_fight"], f"{at}.in_fight"), _bool(m["awake"], f"{at}.awake"),
                          _int(m.get("fled", 0), f"{at}.fled", 0, 1_000_000))
        if monster.alive:  # a dead one is never fought again; the game drops it after the turn that killed it
            ms.append(monster)
    its = []
    for i, it in enumerate(_list(f["items"], f"{where}.items", 0, 1000)):
        at = f"{where}.items[{i}]"
        it = _obj(it, at, ("kind", "x", "y"))
        its.append(FloorItem(_name(it["kind"], f"{at}.kind", items, "item"), _int(it["x"], f"{at}.x", 0, w - 1),
                             _int(it["y"], f"{at}.y", 0, h - 1)))
    return Floor(level, ms, its)


def _player_from(p: Any, s: GameSession, version: int = SAVE_VERSION) -> Player:
    """The player: position on the current depth, body, actions, pack, and what version 2 added (experience,
    level, worn armour, lasting bonuses; absent in version 1: a fresh level-1 player)."""
    content, prog = s.content, s.content.player.progression
    items = {i.name for i in content.items}
    p = _obj(p, "player", ("x", "y", "body", "known", "inventory"))
    here = s.floors[s.depth].level
    x, y = _int(p["x"], "player.x", 0, here.width - 1), _int(p["y"], "player.y", 0, here.height - 1)
    if here.tiles[y][x] not in WALKABLE:
        raise _Bad(f"player: standing inside a wall at {x},{y}")
    known = [_name(a, f"player.known[{i}]", ACTIONS, "action")
             for i, a in enumerate(_list(p["known"], "player.known", 0, len(ACTIONS)))]
    inventory = [_name(it, f"player.inventory[{i}]", items, "item")
                 for i, it in enumerate(_list(p["inventory"], "player.inventory", 0, 100))]
    player = Player(x, y, _body_from(p["body"], "player.body", content, living=True), known, inventory)
    player.xp = _int(p.get("xp", 0), "player.xp", 0, 1_000_000)
    player.level = _int(p.get("level", 1), "player.level", 1, len(prog.xp_levels) + 1)
    worn = p.get("worn")
    if worn is not None and (not isinstance(worn, str) or worn not in items or s.item_spec(worn).effect != "armour"):
        raise _Bad(f"player.worn: expected null or an armour from items.toml, got {_short(worn)}")
    player.worn = worn
    player.power_bonus = _int(p.get("power_bonus", 0), "player.power_bonus", -100, 100)
    player.armor_bonus = _int(p.get("armor_bonus", 0), "player.armor_bonus", -100, 100)
    if len(set(inventory)) > INVENTORY_LIMIT:
        raise _Bad(f"player.inventory: expected at most {INVENTORY_LIMIT} kinds of item, got {len(set(inventory))}")
    _v4_player(p, player, s, version)
    return player


def _v4_player(p: dict, player: Player, s: GameSession, version: int) -> None:
    """What version 4 added: pack letters, boons, food. An older save gets its level-ups as boons to choose, a
    fresh stomach and letters in pack order."""
    prog, hunger = s.content.player.progression, s.content.player.hunger
    if version < 4:
        player.unspent, player.food = player.level - 1, hunger.start
        return
    for key in ("letters", "training", "unspent", "food"):
        if key not in p:
            raise _Bad(f"player: missing field {key!r}")
    letters = _obj(p["letters"], "player.letters", ())
    used: set[str] = set()
    for name, letter in letters.items():
        if name not in player.inventory:
            raise _Bad(f"player.letters: {_short(name)} is not in the pack")
        if not isinstance(letter, str) or letter not in LETTERS or letter in used:
            raise _Bad(f"player.letters.{name[:40]}: expected a letter from {LETTERS!r} used once, got "
                       f"{_short(letter)}")
        used.add(letter)
    player.letters = dict(letters)
    training = _obj(p["training"], "player.training", ())
    for name, times in training.items():
        if name not in prog.boons:
            raise _Bad(f"player.training: expected boons from player.toml ({', '.join(prog.boons)}), got "
                       f"{_short(name)}")
        player.training[name] = _int(times, f"player.training.{name}", 0, len(prog.xp_levels))
    player.unspent = _int(p["unspent"], "player.unspent", 0, len(prog.xp_levels))
    if sum(player.training.values()) + player.unspent > player.level - 1:
        raise _Bad(f"player.unspent: boons chosen and to choose exceed the level-ups of level {player.level}")
    player.food = _int(p["food"], "player.food", 0, hunger.full)


def _settings_from(v: Any) -> Settings:
    d = _obj(v, "settings", ("auto_pickup",))
    return Settings(auto_pickup=_bool(d["auto_pickup"], "settings.auto_pickup"))


def _tallies_from(v: Any, s: GameSession) -> None:
    for name, tally in _obj(v, "stats.by_resolver", ()).items():
        where = f"stats.by_resolver.{str(name)[:40]}"
        if name not in RESOLVERS:
            raise _Bad(f"stats.by_resolver: expected resolvers from {', '.join(RESOLVERS)}, got {_short(name)}")
        d = _obj(tally, where, ("turns", "answered", "divergences", "fallbacks"))
        s.stats.by_resolver[name] = Tally(*(_int(d[k], f"{where}.{k}", 0, MAX_COUNT)
                                            for k in ("turns", "answered", "divergences", "fallbacks")))


def _messages_from(v: Any) -> MessageLog:
    entries = _list(v, "messages", 0, MESSAGES_LIMIT)
    for i, m in enumerate(entries):
        text, tag, style, count = _list(m, f"messages[{i}]", 4, 4)
        _str(text, f"messages[{i}][0]", MAX_MESSAGE_CHARS)
        _str(tag, f"messages[{i}][1]", MAX_TAG)
        _str(style, f"messages[{i}][2]", MAX_TAG)
        _int(count, f"messages[{i}][3]", 1, MAX_COUNT)
    return MessageLog.from_json(entries)  # the last messages.SAVED, each cut to messages.MAX_TEXT


@dataclass(frozen=True)
class _Order:
    """Where a save stands among the others of its directory: its sequence number (version 3), else its
    turns and then its time (older versions). Never the clock first: a clock stepped back cannot reorder saves."""

    sequenced: bool
    seq: int
    turns: int
    saved_at: float


def _session_from(d: Any, content: Content) -> tuple[GameSession, _Order]:
    if not isinstance(d, dict):
        raise _Bad("expected a JSON object at the top level")
    version = d.get("save_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise _Bad("missing save_version")
    if version > SAVE_VERSION:
        raise _Bad(f"save_version {_short(version)} is newer than this game understands ({SAVE_VERSION})")
    if version < OLDEST_READABLE:
        raise _Bad(f"save_version {version} is older than this game reads ({OLDEST_READABLE})")
    if not isinstance(d.get("ruleset"), str) or d["ruleset"] != content.rules.ruleset_id:
        raise _Bad(f"saved under ruleset {_short(d.get('ruleset'))}, the content now has {content.rules.ruleset_id}")
    _obj(d, "save", ("saved_at", "seed", "run_id", "depth", "max_depth", "turns", "active", "player", "floors",
                     "rng", "stats", "messages", *(("save_seq",) if version >= 3 else ()),
                     *(("settings",) if version >= 4 else ())))
    saved_at = d["saved_at"]
    if isinstance(saved_at, bool) or not isinstance(saved_at, (int, float)) or not 0 <= saved_at <= 1e11:
        raise _Bad(f"saved_at: expected a time in seconds, got {_short(saved_at)}")
    seq = _int(d["save_seq"], "save_seq", 0, MAX_COUNT) if version >= 3 else 0
    if (problem := seed_problem(d["seed"])) is not None:
        raise _Bad(f"seed: {problem}")
    if (problem := run_id_problem(d["run_id"])) is not None:  # it names the play log, the morgue, kept copies
        raise _Bad(f"run_id: {problem}")
    s = GameSession(content, d["seed"], d["run_id"])
    depths = content.dungeon.depths
    s.depth = _int(d["depth"], "depth", 1, depths)
    s.max_depth = _int(d["max_depth"], "max_depth", s.depth, depths)
    s.turns = _int(d["turns"], "turns", 0, MAX_COUNT)
    s.active = _name(d["active"], "active", RESOLVERS, "resolver")
    floors = _obj(d["floors"], "floors", (str(s.depth),))
    if len(floors) > depths:
        raise _Bad(f"floors: expected at most {depths} floors, got {len(floors)}")
    monsters = {m.name for m in content.monsters}
    items = {i.name for i in content.items}
    keys = {str(n) for n in range(1, depths + 1)}
    for key, f in floors.items():
        if key not in keys:
            raise _Bad(f"floors: expected depths 1..{depths} as keys, got {_short(key)}")
        s.floors[int(key)] = _floor_from(f, f"floors.{key}", content, monsters, items)
    s.player = _player_from(d["player"], s, version)
    recompute_body(s)  # max hp, power and armour from the progression, inside the content's caps
    rng = _obj(d["rng"], "rng", ("combat", "ai"))
    s.combat_rng, s.ai_rng = _rng_from(rng["combat"], "rng.combat"), _rng_from(rng["ai"], "rng.ai")
    st = _obj(d["stats"], "stats", ("combat_turns", "divergences", "fallbacks", "kills"))
    s.stats.combat_turns, s.stats.divergences, s.stats.kills = (_int(st[k], f"stats.{k}", 0, MAX_COUNT)
                                                                for k in ("combat_turns", "divergences", "kills"))
    fallbacks = _obj(st["fallbacks"], "stats.fallbacks", ())
    if len(fallbacks) > 100:
        raise _Bad(f"stats.fallbacks: expected at most 100 reasons, got {len(fallbacks)}")
    for k, v in fallbacks.items():
        s.stats.fallbacks[_str(k, "stats.fallbacks (a reason)", 1000)] = _int(v, f"stats.fallbacks.{k[:40]}", 0,
                                                                               MAX_COUNT)
    if version >= 4:
        if "by_resolver" not in st:
            raise _Bad("stats: missing field 'by_resolver'")
        _tallies_from(st["by_resolver"], s)
        s.settings = _settings_from(d["settings"])
    s.messages = _messages_from(d["messages"])
    s.update_fov()
    _SEQ[s] = seq
    return s, _Order(version >= 3, seq, s.turns, float(saved_at))


def session_from_dict(d: Any, content: Content) -> GameSession:
    """The session a save describes; SaveError naming the field when any part of it is wrong."""
    return _decode(d, content)[0]


def _decode(d: Any, content: Content) -> tuple[GameSession, _Order]:
    try:
        return _session_from(d, content)
    except _Bad as exc:
        raise SaveError(str(exc)) from None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number a save can hold")


def _kind(mode: int) -> str:
    for test, what in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return what
    return "not a regular file"


def read_save_bytes(path: Path) -> bytes:
    """The bytes of one save file; SaveError (file and reason) for anything that is not a regular file of at
    most MAX_SAVE_BYTES. Symlinks are never followed; a directory, a pipe or a device is named, never read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise SaveError(f"{path}: no saved game") from None
    except OSError as exc:
        why = "a symbolic link, not a save file" if path.is_symlink() else (exc.strerror or str(exc))
        raise SaveError(f"{path}: cannot be read ({why})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SaveError(f"{path}: {_kind(st.st_mode)}, not a save file")
        if st.st_size > MAX_SAVE_BYTES:
            raise SaveError(f"{path}: {st.st_size} bytes, larger than any save ({MAX_SAVE_BYTES})")
        chunks, size = [], 0
        while size <= MAX_SAVE_BYTES and (chunk := os.read(fd, 1 << 20)):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise SaveError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if size > MAX_SAVE_BYTES:
        raise SaveError(f"{path}: larger than any save ({MAX_SAVE_BYTES} bytes)")
    return b"".join(chunks)


def parse_save_json(blob: bytes, path: Path) -> Any:
    """The decoded JSON of a save's bytes; SaveError (file and reason) when it is not JSON a save can hold."""
    try:
        return json.loads(blob.decode("utf-8"), parse_constant=_reject_constant)
    except RecursionError:
        raise SaveError(f"{path}: not a readable JSON save (nested too deeply)") from None
    except (UnicodeDecodeError, ValueError, OverflowError) as exc:  # JSONDecodeError is a ValueError
        raise SaveError(f"{path}: not a readable JSON save ({str(exc)[:200]})") from None


def read_save_json(path: Path) -> Any:
    """The decoded JSON of one save file (read_save_bytes, then parse_save_json)."""
    return parse_save_json(read_save_bytes(path), path)


@dataclass
class _Found:
    """A save file that loads: its session, its bytes as read, and its place in the order."""

    path: Path
    session: GameSession
    blob: bytes
    order: _Order
    rank: int = 0  # among equals, the earlier candidate wins (save.json before its backup)

    @property
    def seq(self) -> int:
        return self.order.seq

    def key(self) -> tuple:
        o = self.order
        return o.sequenced, o.seq, o.turns, o.saved_at, -self.rank


def _open(path: Path, content: Content, rank: int = 0) -> _Found:
    blob = read_save_bytes(path)
    try:
        session, order = _decode(parse_save_json(blob, path), content)
    except SaveError as exc:
        raise SaveError(exc if str(exc).startswith(f"{path}: ") else f"{path}: {exc}") from None
    _remember(path, session.run_id, order.seq)
    return _Found(path, session, blob, order, rank)


def load_file(path: Path, content: Content) -> GameSession:
    """The session saved in one file; SaveError naming the file and the problem."""
    return _open(Path(path), content).session


def candidates(save_dir: Path) -> list[Path]:
    """Every file that may hold the latest save: save.json, its backup, and temp files a kill left
    (save.json.tmp from older versions, .save.json.*.tmp from game.atomic)."""
    save_dir = Path(save_dir)
    names = [save_path(save_dir), save_dir / BACKUP_NAME, save_dir / (SAVE_NAME + ".tmp")]
    try:
        names += sorted(save_dir.glob(f".{SAVE_NAME}.*.tmp"))
    except OSError:
        pass
    return [p for p in names if os.path.lexists(p)]


def has_save(save_dir: Path) -> bool:
    return bool(candidates(save_dir))


@dataclass
class Loaded:
    session: GameSession
    path: Path  # the file it came from
    broken: list[tuple[Path, str]] = field(default_factory=list)  # candidates that did not load, and why


def _survey(save_dir: Path, content: Content) -> tuple[list[_Found], list[tuple[Path, str]]]:
    """Every candidate that loads, and every other one with the reason."""
    good: list[_Found] = []
    broken: list[tuple[Path, str]] = []
    for rank, path in enumerate(candidates(save_dir)):
        try:
            good.append(_open(path, content, rank))
        except SaveError as exc:
            broken.append((path, str(exc)))
    return good, broken


def _newest_per_run(found) -> list[_Found]:
    best: dict[str, _Found] = {}
    for f in found:
        run = f.session.run_id
        if run not in best or f.key() > best[run].key():
            best[run] = f
    return sorted(best.values(), key=_Found.key, reverse=True)


def load_newest(save_dir: Path, content: Content) -> Loaded:
    """The newest save that loads among the candidates (highest save_seq; saves before version 3 by turns,
    then saved_at); SaveError listing every reason when none does."""
    good, broken = _survey(save_dir, content)
    if not good:
        if not broken:
            raise SaveError(f"{save_path(save_dir)}: no saved game")
        raise SaveError("; ".join(reason for _, reason in broken))
    newest = max(good, key=_Found.key)
    return Loaded(newest.session, newest.path, broken)


def load_game(save_dir: Path, content: Content) -> GameSession:
    """The newest saved session that loads; SaveError (with the file names) when none can be used."""
    return load_newest(save_dir, content).session


def quarantine_file(path: Path) -> Path:
    """Rename an unusable save file aside (never deleted or rewritten; a symlink is moved, not followed)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"save.broken-{stamp}.json")
    n = 1
    while os.path.lexists(aside):
        aside = path.with_name(f"save.broken-{stamp}-{n}.json")
        n += 1
    os.replace(path, aside)
    return aside


def quarantine(save_dir: Path) -> Path | None:
    """Move an unusable save.json aside; the new name, or None when there is none."""
    path = save_path(save_dir)
    return quarantine_file(path) if os.path.lexists(path) else None


def _keep(found: _Found, save_dir: Path, content: Content) -> tuple[Path, bool]:
    """Copy a loadable save to <save_dir>/kept/<run>.json: the copy, and whether it was written now.

    A kept file is never overwritten by anything but a newer save of the same run: when <run>.json holds
    something else (another run, a newer state, a file that does not load), the copy gets <run>-<n>.json."""
    kept_dir = Path(save_dir) / KEPT_DIR
    run = found.session.run_id
    n = 0
    while True:
        dest = run_file(kept_dir, run, f"-{n}.json" if n else ".json")
        if not os.path.lexists(dest):
            break
        try:
            there = _open(dest, content)
        except SaveError:
            n += 1
            continue
        if there.blob == found.blob:
            return dest, False
        if there.session.run_id == run and there.key()[:-1] <= found.key()[:-1]:
            break  # an older state of the same run: this copy replaces it, as a save replaces its predecessor
        n += 1
    write_atomic(dest, found.blob)
    return dest, True


def keep_runs(save_dir: Path, content: Content, but: str | None = None) -> list[Path]:
    """Before a new game (or another run's save) replaces them: copy the newest save of every run found among
    the candidates, except run `but`, to <save_dir>/kept/ (see _keep). The copies, newest first (unchanged
    ones included); OSError when one cannot be written."""
    found, _ = _survey(save_dir, content)
    return [_keep(f, save_dir, content)[0] for f in _newest_per_run(f for f in found if f.session.run_id != but)]


def keep_run(save_dir: Path, content: Content) -> Path | None:
    """keep_runs for a new game: the copy of the newest run (None when no save loads)."""
    kept = keep_runs(save_dir, content)
    return kept[0] if kept else None


def delete_save(save_dir: Path, content: Content | None = None, run_id: str | None = None) -> None:
    """Permadeath: the save, its backup and any temp file a kill left go (Continue would offer those).

    With `run_id` (and `content`), only the files that load as that run go: another run's save left among
    the candidates, and files that do not load (Continue sets those aside), stay. Only regular files and
    symlinks are removed: a directory where a save should be is left alone."""
    for p in candidates(save_dir):
        try:
            st = p.lstat()
        except OSError:
            continue
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            continue
        if run_id is not None and content is not None:
            try:
                if _open(p, content).session.run_id != run_id:
                    continue
            except SaveError:
                continue
        p.unlink(missing_ok=True)


def morgue_text(s: GameSession) -> str:
    lat = s.stats.latency()
    lines = [
        f"rpg-tui morgue  {time.strftime('%Y-%m-%d %H:%M:%S')}",
        f"{s.content.player.name}: {'VICTORY, ' if s.won else ''}{s.cause or 'still alive'}",
        f"seed {s.seed}  depth {s.depth} (deepest {s.max_depth})  turns {s.turns}  kills {s.stats.kills}",
        f"hp {s.player.body.hp}/{s.player.body.max_hp}  power {s.player.body.power}  armour {s.player.body.armor}  "
        f"level {s.player.level}  food {s.player.food}  known: {', '.join(s.player.known)}",
        f"boons: {', '.join(f'{k} x{v}' for k, v in s.player.training.items()) or '(none)'}",
        f"inventory: {', '.join(s.player.inventory) or '(empty)'}",
        "",
        f"resolver at the end: {s.active}  {s.resolvers.learned}: {s.model_status}",
        *(f"  {name}: {tally.turns} turns applied, {tally.answered} answered, {tally.divergences} diverged, "
          f"{tally.fallbacks} fell back" for name, tally in sorted(s.stats.by_resolver.items())),
        f"combat turns {s.stats.combat_turns}  divergences {s.stats.divergences}  "
        f"fallbacks {sum(s.stats.fallbacks.values())} {dict(s.stats.fallbacks) or ''}".rstrip(),
        f"model latency mean {lat[0]:.1f} ms, p95 {lat[1]:.1f} ms" if lat else "model latency: no model answers",
        "",
        "last messages:",
        *(f"  {m.render()}" for m in s.messages.items[-15:]),
        "",
        f"depth {s.depth} as seen:",
        *_seen_map(s),
    ]
    return "\n".join(lines) + "\n"


def _seen_map(s: GameSession) -> list[str]:
    lvl = s.level
    rows = [[lvl.tiles[y][x] if lvl.seen[y][x] else " " for x in range(lvl.width)] for y in range(lvl.height)]
    for m in s.floor.monsters:
        if m.alive and (m.x, m.y) in s.visible:
            rows[m.y][m.x] = s.spec(m).glyph
    rows[s.player.y][s.player.x] = s.content.player.glyph
    return ["  " + "".join(r).rstrip() for r in rows if "".join(r).strip()]


def write_morgue(s: GameSession, save_dir: Path) -> Path:
    path = run_file(Path(save_dir) / "morgue", s.run_id, f"-{time.strftime('%Y%m%d-%H%M%S')}.txt")
    write_atomic(path, morgue_text(s))
    return path
