"""Saves: JSON with a schema version, written atomically, the previous one kept as .bak.

Never pickle. Loading checks the whole structure (every type, range, list length, position on the map,
the random states) before building anything, so a damaged or hostile file only ever gives a SaveError
naming the file and the field. `load_newest` offers the newest file that loads among save.json, its
backup and temp files a kill left behind; unusable ones are renamed aside (`quarantine_file`), untouched.
A backup is only replaced by a save that loads: `save_game` checks the file it is about to demote.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from game.atomic import write_atomic
from game.combat.state import ACTIONS, CHANNELS, MAX_DIGIT, MAX_TURN, MAX_VALUE, SLOTS, Combatant, CombatState, Status
from game.combat.validate import check_state
from game.content import Content
from game.dungeon import WALKABLE, WALL, Level, Room
from game.entities import FloorItem, Monster, Player
from game.messages import MessageLog
from game.resolve import RESOLVERS
from game.session import Floor, GameSession

SAVE_VERSION = 2  # 2: the player's progression and worn armour, how long each monster has fled
OLDEST_READABLE = 1  # a version-1 save loads with no progression yet
SAVE_NAME = "save.json"
BACKUP_NAME = SAVE_NAME + ".bak"
KEPT_DIR = "kept"  # runs set aside when a new game started over them
MAX_SAVE_BYTES = 16 * 1024 * 1024  # a full six-depth save is ~100 kB; larger is not a save
MAX_MAP = (200, 100)  # the content loader's bounds on the dungeon size
MAX_SEED = 2**63
MAX_COUNT = 10**12  # turns, kills and other counters
TILES = frozenset({WALL, *WALKABLE})


class SaveError(ValueError):
    pass


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
        "seed": s.seed, "run_id": s.run_id, "depth": s.depth, "max_depth": s.max_depth, "turns": s.turns,
        "active": s.active,
        "player": {"x": p.x, "y": p.y, "body": _body(p.body), "known": list(p.known), "inventory": list(p.inventory),
                   **_progress(p)},
        "floors": floors,
        "rng": {"combat": _rng(s.combat_rng), "ai": _rng(s.ai_rng)},
        "stats": {"combat_turns": s.stats.combat_turns, "divergences": s.stats.divergences,
                  "fallbacks": dict(s.stats.fallbacks), "kills": s.stats.kills},
        "messages": s.messages.to_json(),
    }


class SaveWriteError(OSError):
    """A save could not be written: the message names the file and the reason."""


# Files written or loaded by this process, by identity: only these (or a file that loads) may become the backup.
_OURS: dict[str, tuple[int, int, int, int]] = {}


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _remember(path: Path) -> None:
    with contextlib.suppress(OSError):
        _OURS[str(path)] = _identity(path.lstat())


def _is_ours(path: Path) -> bool:
    try:
        return _OURS.get(str(path)) == _identity(path.lstat())
    except OSError:
        return False


def save_game(s: GameSession, save_dir: Path) -> Path:
    """Write save.json atomically. The file it replaces becomes save.json.bak only if it is a save this
    game wrote or one that loads; anything else is quarantined, so a good backup is never overwritten
    by garbage. SaveWriteError (file and reason) when the directory refuses the write."""
    path = save_path(save_dir)
    backup: Path | None = None
    try:
        st = path.lstat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise SaveWriteError(f"{path}: {exc.strerror or exc}") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise SaveWriteError(f"{path}: is a directory, not a save file")
        if stat.S_ISREG(st.st_mode) and (_is_ours(path) or _loads(path, s.content)):
            backup = path.with_name(BACKUP_NAME)
        else:
            try:
                quarantine_file(path)
            except OSError as exc:
                raise SaveWriteError(f"{path}: cannot move the unusable old save aside ({exc.strerror or exc})") \
                    from None
    try:
        write_atomic(path, json.dumps(session_to_dict(s), separators=(",", ":")), backup=backup)
    except OSError as exc:
        raise SaveWriteError(f"{path}: {exc.strerror or exc}") from None
    _remember(path)
    return path


def _progress(p: Player) -> dict[str, Any]:
    """What save version 2 added for the player: experience, level, worn armour, lasting bonuses."""
    return {"xp": p.xp, "level": p.level, "worn": p.worn, "power_bonus": p.power_bonus, "armor_bonus": p.armor_bonus}


def _loads(path: Path, content: Content) -> bool:
    try:
        load_file(path, content)
    except SaveError:
        return False
    return True


# ------------------------------------------------------------------ validate
# Every field is checked for type and range before anything is built from it, so a hostile or damaged
# file can only ever produce a SaveError naming the field, never another exception.

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


def _check_body(d: Any, where: str) -> None:
    d = _obj(d, where, ("hp", "max_hp", "power", "armor", "cooldowns", "statuses"))
    for k in ("hp", "max_hp", "power", "armor"):
        _int(d[k], f"{where}.{k}", 0, MAX_VALUE)
    for i, c in enumerate(_list(d["cooldowns"], f"{where}.cooldowns", len(SLOTS), len(SLOTS))):
        _int(c, f"{where}.cooldowns[{i}]", 0, MAX_DIGIT)
    for i, st in enumerate(_list(d["statuses"], f"{where}.statuses", len(CHANNELS), len(CHANNELS))):
        if st is not None:
            magnitude, turns = _list(st, f"{where}.statuses[{i}]", 2, 2)
            _int(magnitude, f"{where}.statuses[{i}][0]", 0, MAX_VALUE)
            _int(turns, f"{where}.statuses[{i}][1]", 0, MAX_DIGIT)


def _check_rng(v: Any, where: str) -> None:
    version, state, gauss = _list(v, where, 3, 3)
    _int(version, f"{where}[0]", 3, 3)
    state = _list(state, f"{where}[1]", 625, 625)
    for i, x in enumerate(state[:-1]):
        _int(x, f"{where}[1][{i}]", 0, 2**32 - 1)
    _int(state[-1], f"{where}[1][624]", 0, 624)
    if gauss is not None and (not isinstance(gauss, float) or not math.isfinite(gauss)):
        raise _Bad(f"{where}[2]: expected null or a finite number, got {_short(gauss)}")


def _check_floor(f: Any, where: str, monsters: set[str], items: set[str]) -> None:
    f = _obj(f, where, ("width", "height", "tiles", "seen", "rooms", "up", "down", "monsters", "items"))
    w, h = _int(f["width"], f"{where}.width", 1, MAX_MAP[0]), _int(f["height"], f"{where}.height", 1, MAX_MAP[1])
    for name, alphabet in (("tiles", TILES), ("seen", frozenset("01"))):
        for y, row in enumerate(_list(f[name], f"{where}.{name}", h, h)):
            if len(_str(row, f"{where}.{name}[{y}]", w, alphabet)) != w:
                raise _Bad(f"{where}.{name}[{y}]: expected {w} characters, got {len(row)}")
    for i, r in enumerate(_list(f["rooms"], f"{where}.rooms", 0, 1000)):
        x, y, rw, rh = _list(r, f"{where}.rooms[{i}]", 4, 4)
        _int(x, f"{where}.rooms[{i}][0]", 0, w - 1)
        _int(y, f"{where}.rooms[{i}][1]", 0, h - 1)
        _int(rw, f"{where}.rooms[{i}][2]", 1, w - x)
        _int(rh, f"{where}.rooms[{i}][3]", 1, h - y)
    _pos(f["up"], f"{where}.up", w, h)
    if f["down"] is not None:
        _pos(f["down"], f"{where}.down", w, h)
    for i, m in enumerate(_list(f["monsters"], f"{where}.monsters", 0, 1000)):
        at = f"{where}.monsters[{i}]"
        m = _obj(m, at, ("kind", "x", "y", "body", "fight_turn", "in_fight", "awake"))
        _name(m["kind"], f"{at}.kind", monsters, "monster")
        _int(m["x"], f"{at}.x", 0, w - 1)
        _int(m["y"], f"{at}.y", 0, h - 1)
        _int(m["fight_turn"], f"{at}.fight_turn", 0, MAX_TURN)
        _bool(m["in_fight"], f"{at}.in_fight")
        _bool(m["awake"], f"{at}.awake")
        _check_body(m["body"], f"{at}.body")
    for i, it in enumerate(_list(f["items"], f"{where}.items", 0, 1000)):
        at = f"{where}.items[{i}]"
        it = _obj(it, at, ("kind", "x", "y"))
        _name(it["kind"], f"{at}.kind", items, "item")
        _int(it["x"], f"{at}.x", 0, w - 1)
        _int(it["y"], f"{at}.y", 0, h - 1)


def check_save(d: Any, content: Content) -> None:
    """Raise SaveError naming the first field whose type, range or length is wrong; build nothing."""
    try:
        _check_save(d, content)
    except _Bad as exc:
        raise SaveError(str(exc)) from None


def _check_save(d: Any, content: Content) -> None:
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
                     "rng", "stats", "messages"))
    if isinstance(d["saved_at"], bool) or not isinstance(d["saved_at"], (int, float)) \
            or not 0 <= d["saved_at"] <= 1e11:
        raise _Bad(f"saved_at: expected a time in seconds, got {_short(d['saved_at'])}")
    _int(d["seed"], "seed", -MAX_SEED, MAX_SEED)
    _str(d["run_id"], "run_id", 200)
    depths = content.dungeon.depths
    depth = _int(d["depth"], "depth", 1, depths)
    _int(d["max_depth"], "max_depth", depth, depths)
    _int(d["turns"], "turns", 0, MAX_COUNT)
    _name(d["active"], "active", RESOLVERS, "resolver")
    floors = _obj(d["floors"], "floors", (str(depth),))
    if len(floors) > depths:
        raise _Bad(f"floors: expected at most {depths} floors, got {len(floors)}")
    monsters = {m.name for m in content.monsters}
    items = {i.name for i in content.items}
    for key, f in floors.items():
        if key not in {str(n) for n in range(1, depths + 1)}:
            raise _Bad(f"floors: expected depths 1..{depths} as keys, got {_short(key)}")
        _check_floor(f, f"floors.{key}", monsters, items)
    p = _obj(d["player"], "player", ("x", "y", "body", "known", "inventory"))
    here = floors[str(depth)]
    x = _int(p["x"], "player.x", 0, here["width"] - 1)
    y = _int(p["y"], "player.y", 0, here["height"] - 1)
    if here["tiles"][y][x] not in WALKABLE:
        raise _Bad(f"player: standing inside a wall at {x},{y}")
    _check_body(p["body"], "player.body")
    for i, a in enumerate(_list(p["known"], "player.known", 0, len(ACTIONS))):
        _name(a, f"player.known[{i}]", ACTIONS, "action")
    for i, it in enumerate(_list(p["inventory"], "player.inventory", 0, 100)):
        _name(it, f"player.inventory[{i}]", items, "item")
    rng = _obj(d["rng"], "rng", ("combat", "ai"))
    _check_rng(rng["combat"], "rng.combat")
    _check_rng(rng["ai"], "rng.ai")
    st = _obj(d["stats"], "stats", ("combat_turns", "divergences", "fallbacks", "kills"))
    for k in ("combat_turns", "divergences", "kills"):
        _int(st[k], f"stats.{k}", 0, MAX_COUNT)
    fallbacks = _obj(st["fallbacks"], "stats.fallbacks", ())
    if len(fallbacks) > 100:
        raise _Bad(f"stats.fallbacks: expected at most 100 reasons, got {len(fallbacks)}")
    for k, v in fallbacks.items():
        _str(k, "stats.fallbacks (a reason)", 1000)
        _int(v, f"stats.fallbacks.{k}", 0, MAX_COUNT)
    for i, m in enumerate(_list(d["messages"], "messages", 0, 1000)):
        text, tag, style, count = _list(m, f"messages[{i}]", 4, 4)
        _str(text, f"messages[{i}][0]", 10_000)
        _str(tag, f"messages[{i}][1]", 40)
        _str(style, f"messages[{i}][2]", 40)
        _int(count, f"messages[{i}][3]", 1, MAX_COUNT)


# ------------------------------------------------------------------ decode

def _count(v: Any, where: str, lo: int = 0, hi: int = 1_000_000) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise SaveError(f"{where}: expected an integer in {lo}..{hi}, got {v!r}")
    return v


def _progress_from(p: dict, s: GameSession) -> None:
    """Read what _progress wrote (absent in a version-1 save: a fresh level-1 player), then recompute power and
    armour from it so that they stay inside the content's caps."""
    player, prog = s.player, s.content.player.progression
    player.xp = _count(p.get("xp", 0), "player.xp")
    player.level = _count(p.get("level", 1), "player.level", 1, len(prog.xp_levels) + 1)
    worn = p.get("worn")
    if worn is not None and (not isinstance(worn, str) or worn not in {i.name for i in s.content.items}
                             or s.item_spec(worn).effect != "armour"):
        raise SaveError(f"player.worn: expected null or an armour from items.toml, got {worn!r}")
    player.worn = worn
    player.power_bonus = _count(p.get("power_bonus", 0), "player.power_bonus", -100, 100)
    player.armor_bonus = _count(p.get("armor_bonus", 0), "player.armor_bonus", -100, 100)
    s.recompute_body()



def _body_from(d: dict, where: str) -> Combatant:
    body = Combatant(d["hp"], d["max_hp"], d["power"], d["armor"], tuple(d["cooldowns"]),
                     tuple(None if x is None else Status(x[0], x[1]) for x in d["statuses"]))
    problems = check_state(CombatState(0, body, body))
    if problems:
        raise SaveError(f"{where}: " + "; ".join(str(p).replace("A.", "").replace("B.", "") for p in problems[:3]))
    return body


def _rng_from(data: list) -> random.Random:
    r = random.Random()
    r.setstate((data[0], tuple(data[1]), data[2]))
    return r


def session_from_dict(d: Any, content: Content) -> GameSession:
    """The session a save describes; SaveError naming the field when any part of it is wrong."""
    check_save(d, content)
    s = GameSession(content, d["seed"], d["run_id"])
    for key, f in d["floors"].items():
        lvl = Level(f["width"], f["height"], [list(row) for row in f["tiles"]], [Room(*r) for r in f["rooms"]],
                    tuple(f["up"]), tuple(f["down"]) if f["down"] else None,
                    [[c == "1" for c in row] for row in f["seen"]])
        ms = [Monster(m["kind"], m["x"], m["y"], _body_from(m["body"], f"floors.{key}.monsters[{i}].body"),
                      m["fight_turn"], m["in_fight"], m["awake"],
                      _count(m.get("fled", 0), f"floors.{key}.monsters[{i}].fled"))
              for i, m in enumerate(f["monsters"])]
        s.floors[int(key)] = Floor(lvl, ms, [FloorItem(it["kind"], it["x"], it["y"]) for it in f["items"]])
    s.depth, s.max_depth, s.turns = d["depth"], d["max_depth"], d["turns"]
    p = d["player"]
    s.player = Player(p["x"], p["y"], _body_from(p["body"], "player.body"), list(p["known"]), list(p["inventory"]))
    _progress_from(p, s)  # version 2: experience, level, worn armour, lasting bonuses (absent in version 1)
    s.combat_rng, s.ai_rng = _rng_from(d["rng"]["combat"]), _rng_from(d["rng"]["ai"])
    st = d["stats"]
    s.stats.combat_turns, s.stats.divergences, s.stats.kills = st["combat_turns"], st["divergences"], st["kills"]
    s.stats.fallbacks.update(st["fallbacks"])
    s.messages = MessageLog.from_json(d["messages"])
    s.active = d["active"]
    s.update_fov()
    return s


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number a save can hold")


def read_save_json(path: Path) -> Any:
    """The decoded JSON of one save file; SaveError (file and reason) for anything that is not a
    regular file of at most MAX_SAVE_BYTES holding JSON. Symlinks are never followed."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise SaveError(f"{path}: no saved game") from None
    except OSError as exc:
        why = "a symbolic link, not a save file" if path.is_symlink() else (exc.strerror or str(exc))
        raise SaveError(f"{path}: cannot be read ({why})") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise SaveError(f"{path}: not a regular file")
        if st.st_size > MAX_SAVE_BYTES:
            raise SaveError(f"{path}: {st.st_size} bytes, larger than any save ({MAX_SAVE_BYTES})")
        try:
            blob = fh.read(MAX_SAVE_BYTES + 1)
        except OSError as exc:
            raise SaveError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(blob) > MAX_SAVE_BYTES:
        raise SaveError(f"{path}: larger than any save ({MAX_SAVE_BYTES} bytes)")
    try:
        return json.loads(blob.decode("utf-8"), parse_constant=_reject_constant)
    except RecursionError:
        raise SaveError(f"{path}: not a readable JSON save (nested too deeply)") from None
    except (UnicodeDecodeError, ValueError, OverflowError) as exc:  # JSONDecodeError is a ValueError
        raise SaveError(f"{path}: not a readable JSON save ({str(exc)[:200]})") from None


def load_file(path: Path, content: Content) -> GameSession:
    """The session saved in one file; SaveError naming the file and the problem."""
    data = read_save_json(path)
    try:
        session = session_from_dict(data, content)
    except SaveError as exc:
        raise SaveError(f"{path}: {exc}") from None
    _remember(path)
    return session


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


def load_newest(save_dir: Path, content: Content) -> Loaded:
    """The newest save that loads among the candidates; SaveError listing every reason when none does."""
    good: list[tuple[float, int, Path, GameSession]] = []
    broken: list[tuple[Path, str]] = []
    found = candidates(save_dir)
    for order, path in enumerate(found):
        try:
            session = load_file(path, content)
        except SaveError as exc:
            broken.append((path, str(exc)))
            continue
        good.append((_saved_at(path), -order, path, session))
    if not good:
        if not found:
            raise SaveError(f"{save_path(save_dir)}: no saved game")
        raise SaveError("; ".join(reason for _, reason in broken))
    _, _, path, session = max(good, key=lambda g: (g[0], g[1]))
    return Loaded(session, path, broken)


def _saved_at(path: Path) -> float:
    try:
        return float(json.loads(path.read_bytes())["saved_at"])  # validated already: a number
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


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


def keep_run(save_dir: Path, content: Content) -> Path | None:
    """Before a new game replaces it: copy the newest save that loads to <save_dir>/kept/<run>.json.

    A living run is never lost by starting another one; the copy is the path returned (None when there
    was no loadable save)."""
    try:
        loaded = load_newest(save_dir, content)
    except SaveError:
        return None
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in loaded.session.run_id)[:100] or "run"
    dest = Path(save_dir) / KEPT_DIR / f"{safe}.json"
    write_atomic(dest, loaded.path.read_bytes())
    return dest


def delete_save(save_dir: Path) -> None:
    """Permadeath: the save, its backup and any temp file a kill left go (Continue would offer those)."""
    for p in candidates(save_dir):
        p.unlink(missing_ok=True)


def morgue_text(s: GameSession) -> str:
    lat = s.stats.latency()
    lines = [
        f"rpg-tui morgue  {time.strftime('%Y-%m-%d %H:%M:%S')}",
        f"{s.content.player.name}: {'VICTORY, ' if s.won else ''}{s.cause or 'still alive'}",
        f"seed {s.seed}  depth {s.depth} (deepest {s.max_depth})  turns {s.turns}  kills {s.stats.kills}",
        f"hp {s.player.body.hp}/{s.player.body.max_hp}  known: {', '.join(s.player.known)}",
        f"inventory: {', '.join(s.player.inventory) or '(empty)'}",
        "",
        f"resolver at the end: {s.active}  model: {s.model_status}",
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
    path = Path(save_dir) / "morgue" / f"{s.run_id}-{time.strftime('%Y%m%d-%H%M%S')}.txt"
    write_atomic(path, morgue_text(s))
    return path
