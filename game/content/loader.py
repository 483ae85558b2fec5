"""Load and validate content/*.toml. A bad file names the file, the key path and what was expected."""

from __future__ import annotations

import os
import re
import stat
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from game.combat.ruleset import Ruleset
from game.combat.sampler import Ranges
from game.combat.state import ACTIONS, CHANNELS, MAX_VALUE, SLOTS
from game.paths import project_root

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

FILES = ("rules.toml", "player.toml", "monsters.toml", "items.toml", "dungeon.toml")
MAX_CONTENT_BYTES = 1024 * 1024  # the content files are a few kB each
MAX_NAME = 40  # characters of a name (or any other string a table holds) shown in the side panel and the log
MAX_ABOUT = 300  # characters of an item's flavour line
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL, C1: what a terminal may take as a command
EFFECTS = ("restore_hp", "cure", "teach", "refresh", "armour", "throw", "blast", "berserk")


class ContentError(ValueError):
    def __init__(self, file: Path | str, key: str, expected: str, got: Any = None) -> None:
        self.file, self.key, self.expected = str(file), key, expected
        tail = "" if got is None else f", got {got!r}"
        super().__init__(f"{file}: {key}: expected {expected}{tail}")


@dataclass(frozen=True)
class MonsterSpec:
    name: str
    glyph: str
    color: str
    hp: int
    power: int
    armor: int
    depths: tuple[int, int]
    flee_below: float
    actions: dict[str, float]
    boss: bool = False


@dataclass(frozen=True)
class Progression:
    """Experience levels, and the caps that keep every reachable power and armour inside the model's ranges."""

    xp_levels: tuple[int, ...]  # experience needed for level 2, 3, ...
    power_per_level: int
    max_power: int
    max_armor: int


@dataclass(frozen=True)
class PlayerSpec:
    name: str
    glyph: str
    color: str
    hp: int
    power: int
    armor: int
    actions: tuple[str, ...]
    progression: Progression


@dataclass(frozen=True)
class ItemSpec:
    name: str
    glyph: str
    color: str
    effect: str
    value: Any
    depths: tuple[int, int]
    weight: float
    reach: int = 0  # throw: how far; blast: the radius
    cost: int = 0  # berserk: the armour it takes
    about: str = ""  # a line of flavour after the generated description


@dataclass(frozen=True)
class DungeonSpec:
    width: int
    height: int
    depths: int
    rooms_min: int
    rooms_max: int
    room_size_min: int
    room_size_max: int
    monsters_per_depth: tuple[int, int]
    items_per_depth: tuple[int, int]
    fov_radius: int
    autosave_every: int
    flee_steps: int  # steps a hurt monster runs before it is spent (game/ai.py)
    monster_regen_every: int  # a spent monster out of sight recovers 1 hp every this many turns


@dataclass(frozen=True)
class Content:
    rules: Ruleset
    player: PlayerSpec
    monsters: tuple[MonsterSpec, ...]
    items: tuple[ItemSpec, ...]
    dungeon: DungeonSpec
    directory: Path


class _Table:
    """A TOML table with the file and key path it came from, for error messages."""

    def __init__(self, file: Path, path: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise ContentError(file, path or "(top level)", "a table", data)
        self.file, self.path, self.data = file, path, data

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def raw(self, name: str, default: Any = ...) -> Any:
        if name not in self.data:
            if default is ...:
                raise ContentError(self.file, self.key(name), "a value (missing)")
            return default
        return self.data[name]

    def int(self, name: str, lo: int, hi: int) -> int:
        v = self.raw(name)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ContentError(self.file, self.key(name), f"an integer in {lo}..{hi}", v)
        return v

    def float(self, name: str, lo: float, hi: float, default: Any = ...) -> float:
        v = self.raw(name, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
            raise ContentError(self.file, self.key(name), f"a number in {lo}..{hi}", v)
        return float(v)

    def str(self, name: str, one_char: bool = False) -> str:
        v = self.raw(name)
        if not isinstance(v, str) or not v or (one_char and len(v) != 1):
            raise ContentError(self.file, self.key(name), "a single character" if one_char else "a non-empty string", v)
        return self.text(name, v, max_len=1 if one_char else MAX_NAME)

    def text(self, name: str, v: str, max_len: int) -> str:
        """A string shown on screen: no control characters (an ESC reaches the terminal and can hide the map),
        at most `max_len` characters; a glyph also takes exactly one cell."""
        bad = _CONTROL.search(v)
        if bad:
            raise ContentError(self.file, self.key(name), f"text without control characters (found "
                               f"U+{ord(bad.group()):04X} at character {bad.start() + 1})", v)
        if len(v) > max_len:
            raise ContentError(self.file, self.key(name), f"at most {max_len} characters", v[:40] + "...")
        if max_len == 1 and _cells(v) != 1:
            raise ContentError(self.file, self.key(name), "a character one cell wide (a map cell)", v)
        return v

    def bool(self, name: str, default: bool) -> bool:
        v = self.raw(name, default)
        if not isinstance(v, bool):
            raise ContentError(self.file, self.key(name), "true or false", v)
        return v

    def pair(self, name: str, lo: int, hi: int) -> tuple[int, int]:
        v = self.raw(name)
        ok = (isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in v)
              and lo <= v[0] <= v[1] <= hi)
        if not ok:
            raise ContentError(self.file, self.key(name), f"[low, high] with {lo} <= low <= high <= {hi}", v)
        return v[0], v[1]

    def table(self, name: str) -> _Table:
        return _Table(self.file, self.key(name), self.raw(name))

    def tables(self, name: str) -> list[_Table]:
        v = self.raw(name)
        if not isinstance(v, list) or not v:
            raise ContentError(self.file, self.key(name), "a non-empty array of tables", v)
        return [_Table(self.file, f"{self.key(name)}[{i}]", x) for i, x in enumerate(v)]

    def actions(self, name: str) -> list[str]:
        v = self.raw(name)
        if not isinstance(v, list) or not v or any(a not in ACTIONS for a in v):
            raise ContentError(self.file, self.key(name), f"a list of actions from {', '.join(ACTIONS)}", v)
        return list(v)


def default_content_dir() -> Path:
    """RPG_CONTENT_DIR, else the checkout's content/ (a checkout or editable install), else the wheel's copy.

    The wheel ships content/ as game/content/data/ (pyproject.toml maps it), so an installed game reads
    the same files without a checkout.
    """
    env = os.environ.get("RPG_CONTENT_DIR")
    if env:
        return Path(env)
    root = project_root()
    if root is not None and (root / "content").is_dir():
        return root / "content"
    return Path(__file__).resolve().parent / "data"


def _read(directory: Path, name: str) -> _Table:
    """One content file: a regular file (a FIFO would block the game's start for ever, a device would never
    end) of at most MAX_CONTENT_BYTES holding TOML. ContentError names the file and what it found instead."""
    path = directory / name
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO opens at once, then fstat says so
    except FileNotFoundError:
        raise ContentError(path, "(file)", "a TOML file (not found)") from None
    except OSError as exc:  # unreadable: permissions, a dangling link, an I/O error
        raise ContentError(path, "(file)", f"a readable TOML file ({exc.strerror or exc})") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise ContentError(path, "(file)", "a TOML file (found a directory)")
        if not stat.S_ISREG(mode):
            raise ContentError(path, "(file)", f"a regular TOML file (found {_file_kind(mode)})")
        blob = b""
        while len(blob) <= MAX_CONTENT_BYTES and (chunk := os.read(fd, 1 << 16)):
            blob += chunk
    except OSError as exc:
        raise ContentError(path, "(file)", f"a readable TOML file ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(blob) > MAX_CONTENT_BYTES:
        raise ContentError(path, "(file)", f"a TOML file of at most {MAX_CONTENT_BYTES} bytes")
    try:
        data = tomllib.loads(blob.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise ContentError(path, "(syntax)", f"valid TOML ({str(exc)[:200]})") from None
    return _Table(path, "", data)


def _file_kind(mode: int) -> str:
    for test, what in ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character "
                       "device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return what
    return "something that is not a file"


def _cells(ch: str) -> int:
    """Terminal cells one character takes (Rich's measure; 1 when Rich is not there, headless tools)."""
    try:
        from rich.cells import cell_len
    except ImportError:  # pragma: no cover - rich is installed with the game
        return 1
    return cell_len(ch)


def _colour(t: _Table, name: str) -> str:
    """A colour Rich can draw (a name like "bright_white", "#rrggbb", "rgb(r,g,b)"): checked here, not at the
    first frame that shows it. Rich ships with Textual; without it (headless tools) the check is skipped."""
    v = t.str(name)
    try:
        from rich.color import Color, ColorParseError
    except ImportError:  # pragma: no cover - rich is installed with the game
        return v
    try:
        Color.parse(v)
    except ColorParseError:
        raise ContentError(t.file, t.key(name), "a colour such as \"red\", \"bright_white\" or \"#a08060\"", v) \
            from None
    return v


def _rules(doc: _Table) -> Ruleset:
    t = doc.table("rules")
    cds = t.table("cooldowns")
    values = {}
    for name in Ruleset.field_names():
        if name.startswith("cd_"):
            values[name] = cds.int(name[3:], 1, 9)
        else:
            values[name] = t.int(name, 0, 99)
    for extra in set(cds.data) - set(SLOTS):
        raise ContentError(doc.file, cds.key(extra), f"a cooldown slot from {', '.join(SLOTS)}")
    rules = Ruleset(**values)
    if not 1 <= rules.miss_roll < rules.crit_roll <= rules.roll_max <= 9:
        raise ContentError(doc.file, "rules.roll_max", "1 <= miss_roll < crit_roll <= roll_max <= 9")
    # every status and cooldown a turn can produce stays inside what the model was trained on
    ranges = Ranges()
    for name in ("guard_turns", "heal_regen_turns", "poison_turns", "burn_turns",
                 "ignite_fragile_turns", "thorns_turns", "shatter_stun_turns"):
        if not 1 <= values[name] <= ranges.duration:
            raise ContentError(doc.file, f"rules.{name}", f"a duration in 1..{ranges.duration} (the model's "
                               "training range)", values[name])
    for name in ("heal_regen", "poison_magnitude", "burn_magnitude", "thorns_magnitude", "ignite_fragile"):
        if not 1 <= values[name] <= ranges.magnitude:
            raise ContentError(doc.file, f"rules.{name}", f"a magnitude in 1..{ranges.magnitude} (the model's "
                               "training range)", values[name])
    for slot in SLOTS:
        if values[f"cd_{slot}"] > ranges.cooldown:
            raise ContentError(doc.file, f"rules.cooldowns.{slot}", f"a cooldown in 1..{ranges.cooldown} (the "
                               "model's training range)", values[f"cd_{slot}"])
    if not 1 <= rules.guard_shield <= rules.shield_cap <= ranges.shield:
        raise ContentError(doc.file, "rules.shield_cap", f"1 <= guard_shield <= shield_cap <= {ranges.shield} "
                           "(the model's training range)", rules.shield_cap)
    if rules.fatigue_turn > ranges.turn:
        raise ContentError(doc.file, "rules.fatigue_turn", f"at most {ranges.turn} (the model's training range)",
                           rules.fatigue_turn)
    # the largest strike (game.resolve.strike_headroom's sum) of any combatant the game or the sampler makes
    top = ranges.power + rules.roll_max + rules.crit_bonus + ranges.magnitude
    if top > MAX_VALUE:
        raise ContentError(doc.file, "rules.crit_bonus", f"a strike that fits two digits: power ({ranges.power}) + "
                           f"roll_max + crit_bonus + fragile ({ranges.magnitude}) <= {MAX_VALUE}", rules.crit_bonus)
    return rules


def validate_ruleset(rules: Ruleset, file: Path | str = "rules.toml") -> Ruleset:
    """The checks load_ruleset makes, on a Ruleset built in code (brain/experts.py perturbs constants)."""
    values = {k: v for k, v in asdict(rules).items() if not k.startswith("cd_")}
    values["cooldowns"] = {slot: rules.cooldown_of(slot) for slot in SLOTS}
    return _rules(_Table(Path(file), "", {"rules": values}))


def load_ruleset(directory: Path | None = None) -> Ruleset:
    return _rules(_read(directory or default_content_dir(), "rules.toml"))


def _monster(t: _Table, ranges: Ranges, depths: int) -> MonsterSpec:
    acts = t.table("actions")
    weights = {}
    for name in acts.data:
        if name not in ACTIONS:
            raise ContentError(t.file, acts.key(name), f"an action from {', '.join(ACTIONS)}")
        weights[name] = acts.float(name, 0.0, 1000.0)
    if not weights or sum(weights.values()) <= 0:
        raise ContentError(t.file, acts.path, "at least one action with a positive weight")
    return MonsterSpec(
        name=t.str("name"), glyph=t.str("glyph", one_char=True), color=_colour(t, "color"),
        hp=t.int("hp", 1, ranges.max_hp), power=t.int("power", 1, ranges.power),
        armor=t.int("armor", 0, ranges.armor), depths=t.pair("depths", 1, depths),
        flee_below=t.float("flee_below", 0.0, 1.0), actions=weights, boss=t.bool("boss", False),
    )


def _item(t: _Table, depths: int, ranges: Ranges) -> ItemSpec:
    effect = t.str("effect")
    if effect not in EFFECTS:
        raise ContentError(t.file, t.key("effect"), f"one of {', '.join(EFFECTS)}", effect)
    value: Any = None
    if effect == "restore_hp":
        value = t.int("value", 1, 99)
    elif effect == "cure":
        value = t.raw("value")
        if not isinstance(value, list) or not value or any(v not in CHANNELS for v in value):
            raise ContentError(t.file, t.key("value"), f"a list of channels from {', '.join(CHANNELS)}", value)
        value = tuple(value)
    elif effect == "teach":
        value = t.str("value")
        if value not in SLOTS:
            raise ContentError(t.file, t.key("value"), f"a special action from {', '.join(SLOTS)}", value)
    elif effect in ("armour", "berserk"):
        value = t.int("value", 1, ranges.armor if effect == "armour" else ranges.power)
    elif effect in ("throw", "blast"):
        value = t.int("value", 1, 99)
    reach = t.int("reach", 1, 20) if effect in ("throw", "blast") else 0
    cost = t.int("cost", 0, ranges.armor) if effect == "berserk" else 0
    about = t.raw("about", "")
    if not isinstance(about, str):
        raise ContentError(t.file, t.key("about"), "a string", about)
    t.text("about", about, MAX_ABOUT)
    return ItemSpec(t.str("name"), t.str("glyph", one_char=True), _colour(t, "color"), effect, value,
                    t.pair("depths", 1, depths), t.float("weight", 0.0, 1000.0), reach, cost, about)


def _progression(t: _Table, ranges: Ranges) -> Progression:
    levels = t.raw("xp_levels")
    if (not isinstance(levels, list) or any(isinstance(x, bool) or not isinstance(x, int) or x < 1 for x in levels)
            or levels != sorted(set(levels))):
        raise ContentError(t.file, t.key("xp_levels"), "a rising list of positive integers", levels)
    # the caps are what keeps play inside the training distribution: never above the model's ranges
    return Progression(tuple(levels), t.int("power_per_level", 0, ranges.power),
                       t.int("max_power", 1, ranges.power), t.int("max_armor", 0, ranges.armor))


def load_content(directory: Path | str | None = None) -> Content:
    """Load every content file; ContentError on the first problem found."""
    directory = Path(directory) if directory is not None else default_content_dir()
    ranges = Ranges()
    rules = _rules(_read(directory, "rules.toml"))

    d = _read(directory, "dungeon.toml").table("dungeon")
    dungeon = DungeonSpec(
        width=d.int("width", 20, 200), height=d.int("height", 10, 100), depths=d.int("depths", 1, 30),
        rooms_min=d.int("rooms_min", 1, 50), rooms_max=d.int("rooms_max", 1, 50),
        room_size_min=d.int("room_size_min", 3, 30), room_size_max=d.int("room_size_max", 3, 30),
        monsters_per_depth=d.pair("monsters_per_depth", 0, 50), items_per_depth=d.pair("items_per_depth", 0, 50),
        fov_radius=d.int("fov_radius", 1, 50), autosave_every=d.int("autosave_every", 1, 10_000),
        flee_steps=d.int("flee_steps", 0, 100), monster_regen_every=d.int("monster_regen_every", 1, 100),
    )
    if dungeon.rooms_min > dungeon.rooms_max:
        raise ContentError(d.file, "dungeon.rooms_min", f"at most rooms_max ({dungeon.rooms_max})", dungeon.rooms_min)
    if dungeon.room_size_min > dungeon.room_size_max:
        raise ContentError(d.file, "dungeon.room_size_min", "at most room_size_max", dungeon.room_size_min)
    # game.dungeon.generate draws a room's width from [min, min(max, width - 2)] and its height from
    # [max(3, min - 2), min(max(3, max - 3), height - 2)] (a wall on every side): both ranges must hold a value
    lo, hi = dungeon.room_size_min, dungeon.room_size_max
    if lo > min(hi, dungeon.width - 2) or max(3, lo - 2) > min(max(3, hi - 3), dungeon.height - 2):
        raise ContentError(d.file, "dungeon.room_size_min", f"room sizes that fit the {dungeon.width}x"
                           f"{dungeon.height} map with a wall around them (room_size_min <= width - 2, "
                           "room_size_min - 2 <= height - 2 and <= max(3, room_size_max - 3))", lo)

    p = _read(directory, "player.toml").table("player")
    player = PlayerSpec(p.str("name"), p.str("glyph", one_char=True), _colour(p, "color"),
                        p.int("hp", 1, ranges.max_hp), p.int("power", 1, ranges.power),
                        p.int("armor", 0, ranges.armor), tuple(p.actions("actions")),
                        _progression(p.table("progression"), ranges))
    if "attack" not in player.actions:
        raise ContentError(p.file, "player.actions", "a list that includes attack", list(player.actions))

    monsters = tuple(_monster(t, ranges, dungeon.depths) for t in _read(directory, "monsters.toml").tables("monster"))
    items = tuple(_item(t, dungeon.depths, ranges) for t in _read(directory, "items.toml").tables("item"))
    for depth in range(1, dungeon.depths + 1):
        if not any(m.depths[0] <= depth <= m.depths[1] for m in monsters):
            raise ContentError(directory / "monsters.toml", "monster", f"at least one monster for depth {depth}")
    return Content(rules, player, monsters, items, dungeon, directory)
