"""Saves: JSON with a schema version, written atomically, the previous one kept as .bak.

Never pickle. A save that cannot be read (corrupt JSON, a missing field, a
future schema, a state that breaks the combat invariants) raises SaveError
with a clear message; `quarantine` renames it aside, untouched, so the player
can start a new game and the file can still be inspected.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from game.atomic import write_atomic
from game.combat.state import CHANNELS, SLOTS, Combatant, CombatState, Status
from game.combat.validate import check_state
from game.content import Content
from game.dungeon import Level, Room
from game.entities import FloorItem, Monster, Player
from game.messages import MessageLog
from game.session import Floor, GameSession

SAVE_VERSION = 2  # 2: the player's progression and worn armour, how long each monster has fled
OLDEST_READABLE = 1  # a version-1 save loads with no progression yet
SAVE_NAME = "save.json"


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


def save_game(s: GameSession, save_dir: Path) -> Path:
    path = save_path(save_dir)
    write_atomic(path, json.dumps(session_to_dict(s), separators=(",", ":")), backup=path.with_name(path.name + ".bak"))
    return path


def _progress(p: Player) -> dict[str, Any]:
    """What save version 2 added for the player: experience, level, worn armour, lasting bonuses."""
    return {"xp": p.xp, "level": p.level, "worn": p.worn, "power_bonus": p.power_bonus, "armor_bonus": p.armor_bonus}


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
    statuses = d["statuses"]
    cds = d["cooldowns"]
    if len(statuses) != len(CHANNELS) or len(cds) != len(SLOTS):
        raise SaveError(f"{where}: expected {len(CHANNELS)} statuses and {len(SLOTS)} cooldowns")
    body = Combatant(int(d["hp"]), int(d["max_hp"]), int(d["power"]), int(d["armor"]),
                     tuple(int(c) for c in cds),
                     tuple(None if x is None else Status(int(x[0]), int(x[1])) for x in statuses))
    problems = check_state(CombatState(0, body, body))
    if problems:
        raise SaveError(f"{where}: " + "; ".join(str(p).replace("A.", "").replace("B.", "") for p in problems[:3]))
    return body


def _rng_from(data: list):
    import random

    r = random.Random()
    r.setstate((int(data[0]), tuple(int(x) for x in data[1]), data[2]))
    return r


def session_from_dict(d: dict, content: Content) -> GameSession:
    if not isinstance(d, dict):
        raise SaveError("expected a JSON object at the top level")
    version = d.get("save_version")
    if not isinstance(version, int):
        raise SaveError("missing save_version")
    if version > SAVE_VERSION:
        raise SaveError(f"save_version {version} is newer than this game understands ({SAVE_VERSION})")
    if version < OLDEST_READABLE:
        raise SaveError(f"save_version {version} is older than this game reads ({OLDEST_READABLE})")
    if d.get("ruleset") != content.rules.ruleset_id:
        raise SaveError(f"saved under ruleset {d.get('ruleset')}, the content now has {content.rules.ruleset_id}")
    try:
        s = GameSession(content, int(d["seed"]), str(d["run_id"]))
        monsters = {m.name for m in content.monsters}
        items = {i.name for i in content.items}
        for key, f in d["floors"].items():
            w, h = int(f["width"]), int(f["height"])
            tiles = [list(row) for row in f["tiles"]]
            seen = [[c == "1" for c in row] for row in f["seen"]]
            if len(tiles) != h or any(len(r) != w for r in tiles) or len(seen) != h or any(len(r) != w for r in seen):
                raise SaveError(f"floors.{key}: tiles or seen do not match {w}x{h}")
            lvl = Level(w, h, tiles, [Room(*map(int, r)) for r in f["rooms"]], tuple(f["up"]),
                        tuple(f["down"]) if f["down"] else None, seen)
            ms = []
            for i, m in enumerate(f["monsters"]):
                if m["kind"] not in monsters:
                    raise SaveError(f"floors.{key}.monsters[{i}]: unknown monster {m['kind']!r}")
                body = _body_from(m["body"], f"floors.{key}.monsters[{i}]")
                ms.append(Monster(m["kind"], int(m["x"]), int(m["y"]), body,
                                  int(m["fight_turn"]), bool(m["in_fight"]), bool(m["awake"]),
                                  _count(m.get("fled", 0), f"floors.{key}.monsters[{i}].fled")))
            its = []
            for i, it in enumerate(f["items"]):
                if it["kind"] not in items:
                    raise SaveError(f"floors.{key}.items[{i}]: unknown item {it['kind']!r}")
                its.append(FloorItem(it["kind"], int(it["x"]), int(it["y"])))
            s.floors[int(key)] = Floor(lvl, ms, its)
        s.depth, s.max_depth, s.turns = int(d["depth"]), int(d["max_depth"]), int(d["turns"])
        if s.depth not in s.floors:
            raise SaveError(f"depth {s.depth} has no saved floor")
        p = d["player"]
        s.player = Player(int(p["x"]), int(p["y"]), _body_from(p["body"], "player.body"),
                          [str(a) for a in p["known"]], [str(i) for i in p["inventory"]])
        if any(i not in items for i in s.player.inventory):
            raise SaveError("player.inventory: unknown item")
        _progress_from(p, s)
        if not s.level.walkable(s.player.x, s.player.y):
            raise SaveError("player: standing inside a wall")
        s.combat_rng, s.ai_rng = _rng_from(d["rng"]["combat"]), _rng_from(d["rng"]["ai"])
        st = d["stats"]
        s.stats.combat_turns, s.stats.divergences, s.stats.kills = (
            int(st["combat_turns"]), int(st["divergences"]), int(st["kills"]))
        s.stats.fallbacks.update({str(k): int(v) for k, v in st["fallbacks"].items()})
        s.messages = MessageLog.from_json(d["messages"])
        s.active = d["active"] if d.get("active") in ("rules", "model") else "rules"
    except SaveError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise SaveError(f"missing or malformed field ({type(exc).__name__}: {exc})") from None
    s.update_fov()
    return s


def load_game(save_dir: Path, content: Content) -> GameSession:
    """The saved session; SaveError (with the file name) when it cannot be used."""
    path = save_path(save_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SaveError(f"{path}: no saved game") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SaveError(f"{path}: not a readable JSON save ({exc})") from None
    try:
        return session_from_dict(data, content)
    except SaveError as exc:
        raise SaveError(f"{path}: {exc}") from None


def has_save(save_dir: Path) -> bool:
    return save_path(save_dir).is_file()


def quarantine(save_dir: Path) -> Path | None:
    """Move an unusable save aside (renamed, never deleted or rewritten); the new name, or None."""
    path = save_path(save_dir)
    if not path.exists():
        return None
    aside = path.with_name(f"save.broken-{time.strftime('%Y%m%d-%H%M%S')}.json")
    n = 1
    while aside.exists():
        aside = path.with_name(f"save.broken-{time.strftime('%Y%m%d-%H%M%S')}-{n}.json")
        n += 1
    os.replace(path, aside)
    return aside


def delete_save(save_dir: Path) -> None:
    """Permadeath: the save and its backup go."""
    for p in (save_path(save_dir), save_path(save_dir).with_name(SAVE_NAME + ".bak")):
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
