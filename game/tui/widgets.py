"""Small widgets that draw a GameSession; none of them changes it."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from game import clock, pack
from game.combat.format import encode_output
from game.combat.ruleset import Ruleset
from game.combat.state import CHANNELS, SLOTS, Combatant
from game.combat.validate import flatten
from game.combat_turn import TurnReport
from game.dungeon import FLOOR, STAIRS_DOWN, STAIRS_UP, WALL
from game.items import STATUS_WORDS, describe, words
from game.session import GameSession

TAG_STYLES = {"[model]": "green", "[rules]": "dodger_blue2", "[diverged]": "bold yellow", "[fallback]": "bold red"}
MSG_STYLES = {"hit": "white", "hurt": "#ff9070", "info": "#a0a0a0", "item": "#80c0ff", "warn": "#c0a060",
              "kill": "bold #ffd060", "death": "bold red"}
SPECIAL_KEY = {"heal": "e", "guard": "s", "brace": "x", "cleanse": "c", "poison_strike": "p", "ignite": "t"}
MONSTERS_SHOWN = 4  # monsters in view listed in the side panel (the rest: `;` looks at them)

# visible floor (grey 248) and remembered floor (grey 237) must be easy to tell apart: see test_tui_screens
_LIT = {WALL: Style(color="#b0a080", bgcolor="#3a3020"), FLOOR: Style(color="#a8a8a8"),
        STAIRS_DOWN: Style(color="bright_white", bold=True), STAIRS_UP: Style(color="bright_white", bold=True)}
_DIM = {WALL: Style(color="#505050", bgcolor="#1c1c1c"), FLOOR: Style(color="#3a3a3a"),
        STAIRS_DOWN: Style(color="#707070"), STAIRS_UP: Style(color="#707070")}
_BLANK = Style()
_CURSOR = Style(reverse=True, bgcolor="#ffd060")
_DIM_ITEM = Style(color="#606070")
_GLYPH_CHAR = {WALL: "#", FLOOR: "·", STAIRS_DOWN: ">", STAIRS_UP: "<"}


class MapView(Widget):
    """The dungeon, drawn line by line (Line API) with a camera that follows the player."""

    can_focus = True

    def __init__(self, session: GameSession, **kwargs) -> None:
        super().__init__(**kwargs)
        self.session = session
        self._styles: dict[str, Style] = {}
        self.cursor: tuple[int, int] | None = None  # the look cursor (map cell), drawn reversed

    def _style(self, color: str, bold: bool = True) -> Style:
        key = f"{color}{bold}"
        if key not in self._styles:
            try:
                self._styles[key] = Style(color=color, bold=bold)
            except Exception:  # a bad color in content must not crash the map
                self._styles[key] = Style(bold=bold)
        return self._styles[key]

    def camera(self) -> tuple[int, int]:
        """Map cell at the widget's top-left: follows the player, or centres a map smaller than the view."""
        s, (w, h) = self.session, self.size
        lvl = s.level
        cx = min(max(0, s.player.x - w // 2), lvl.width - w) if lvl.width > w else -((w - lvl.width) // 2)
        cy = min(max(0, s.player.y - h // 2), lvl.height - h) if lvl.height > h else -((h - lvl.height) // 2)
        return cx, cy

    def render_line(self, y: int) -> Strip:
        s = self.session
        lvl = s.level
        width = self.size.width
        cx, cy = self.camera()
        my = y + cy
        if not 0 <= my < lvl.height:
            return Strip.blank(width)
        actors: dict[int, tuple[str, Style]] = {}
        for it in s.floor.items:
            if it.y == my and lvl.seen[my][it.x]:  # items stay put: remembered ones are drawn dim
                spec = s.item_spec(it.kind)
                lit = (it.x, my) in s.visible
                actors[it.x] = (spec.glyph, self._style(spec.color) if lit else _DIM_ITEM)
        for m in s.floor.monsters:
            if m.alive and m.y == my and (m.x, my) in s.visible:
                spec = s.spec(m)
                actors[m.x] = (spec.glyph, self._style(spec.color))
        if s.player.y == my:
            actors[s.player.x] = (s.content.player.glyph, self._style("bright_white"))
        cursor_x = self.cursor[0] if self.cursor is not None and self.cursor[1] == my else None
        segments: list[Segment] = []
        run_text, run_style = [], None
        for sx in range(width):
            mx = sx + cx
            if not 0 <= mx < lvl.width:
                ch, st = " ", _BLANK
            elif mx in actors:
                ch, st = actors[mx]
            elif (mx, my) in s.visible:
                tile = lvl.tiles[my][mx]
                ch, st = _GLYPH_CHAR.get(tile, tile), _LIT.get(tile, _BLANK)
            elif lvl.seen[my][mx]:
                tile = lvl.tiles[my][mx]
                ch, st = _GLYPH_CHAR.get(tile, tile), _DIM.get(tile, _BLANK)
            else:
                ch, st = " ", _BLANK
            if mx == cursor_x:
                st = st + _CURSOR
            if st is not run_style and run_text:
                segments.append(Segment("".join(run_text), run_style))
                run_text = []
            run_style = st
            run_text.append(ch)
        if run_text:
            segments.append(Segment("".join(run_text), run_style))
        return Strip(segments, width)


def status_line(s: GameSession, busy: bool) -> Text:
    b = s.player.body
    t = Text()
    t.append(f"D{s.depth} ", "bold")
    hp_style = "bold green" if b.hp > b.max_hp / 2 else "bold yellow" if b.hp > b.max_hp / 4 else "bold red"
    t.append(f"HP {b.hp}/{b.max_hp} ", hp_style)
    t.append(f"T{s.turns} ", "#909090")
    hunger = clock.hunger_word(s)
    if hunger:
        t.append(f"{hunger} ", "bold red" if hunger == "Starving" else "bold yellow")
    if s.player.unspent:
        t.append("Level up! (T) ", "bold #ffd060")
    t.append("resolver: ")
    t.append(s.active, "bold green" if s.active != "rules" else "bold dodger_blue2")
    stale = s.resolvers.stale and s.resolvers.model is not None
    t.append(f"  {s.resolvers.learned}: {s.model_status}", "bold #ff8040" if stale else
             "#c0c0c0" if s.model is not None else "#808080")
    if busy:
        t.append("  …thinking", "bold yellow")
    return t


def _bar(c: Combatant, width: int = 10) -> Text:
    filled = round(width * c.hp / c.max_hp) if c.max_hp else 0
    style = "green" if c.hp > c.max_hp / 2 else "yellow" if c.hp > c.max_hp / 4 else "red"
    return Text("█" * filled, style) + Text("░" * (width - filled), "#404040")


def _statuses(c: Combatant, short: bool = False) -> Text:
    """Statuses as `poison2:3` (magnitude:turns); `short`: two-letter names, for the monsters in view."""
    t = Text()
    for ch in CHANNELS:
        st = c.status(ch)
        if st is not None:
            mag = "" if ch == "stun" else f"{st.magnitude}"
            name = ch[:2] if short else ch
            t.append(f"{name}{mag}:{st.turns} ", "magenta" if ch in ("poison", "burn", "fragile", "stun")
                     else "cyan")
    return t


def side_panel(s: GameSession) -> Text:
    p = s.player
    t = Text()
    t.append(f"{s.content.player.name}\n", "bold")
    t.append(f"HP {p.body.hp:>2}/{p.body.max_hp} ")
    t.append_text(_bar(p.body))
    t.append(f"\npw {p.body.power}  ar {p.body.armor}  lv {p.level}\n")
    t.append_text(_statuses(p.body))
    t.append("\n")
    for slot in SLOTS:
        if slot in p.known:
            cd = p.body.cooldown(slot)
            # 2 + 14 + 5 columns: the widest name, poison strike, keeps a space before its state
            t.append(f"{SPECIAL_KEY[slot]} {words(slot):<14}", "bold" if cd == 0 else "#707070")
            t.append("ready\n" if cd == 0 else f"cd {cd}\n", "green" if cd == 0 else "#a08040")
    seen = s.visible_monsters()
    foe = s.foe()
    if foe is not None:  # the one being fought first, with its cooldowns
        seen = [foe] + [m for m in seen if m is not foe]
    for m in seen[:MONSTERS_SHOWN]:
        spec = s.spec(m)
        t.append(f"\n{spec.glyph} ", "bold " + spec.color)
        t.append(f"{m.kind[:18]}", "bold" if m is foe else "")
        t.append(f"\n  {m.body.hp:>2}/{m.body.max_hp} ")
        t.append_text(_bar(m.body, 8))
        if m.body.active():
            t.append("\n  ")
            t.append_text(_statuses(m.body, short=True))
        if m is foe:
            cds = [f"{words(sl)} {m.body.cooldown(sl)}" for sl in SLOTS if m.body.cooldown(sl)]
            if cds:
                t.append("\n  cd: " + ", ".join(cds), "#a08040")
    if len(seen) > MONSTERS_SHOWN:
        t.append(f"\n+{len(seen) - MONSTERS_SHOWN} more in view (; looks)", "#a0a0a0")
    if not seen and p.inventory:
        kinds = pack.kinds(p)
        t.append(f"\npack: {kinds} kind{'s' if kinds > 1 else ''} (i)", "#80c0ff")
    return t


def message_text(s: GameSession, limit: int = 200) -> Text:
    t = Text()
    items = s.messages.items[-limit:]
    for i, m in enumerate(items):
        if m.tag:
            t.append(m.tag + " ", TAG_STYLES.get(m.tag, ""))
        t.append(m.text, MSG_STYLES.get(m.style, ""))
        if m.count > 1:
            t.append(f" (x{m.count})", "bold #c0c0c0")
        if i < len(items) - 1:
            t.append("\n")
    return t


def debug_text(s: GameSession, pick: int | None = None) -> Text:
    """A combat turn in full, side by side, plus running counters: the latest turn, or (`pick`) one of the run's
    divergences and fallbacks (s.stats.notable, oldest first), which `(` and `)` step through."""
    t = Text()
    st = s.stats
    lat = st.latency()
    fb = ", ".join(f"{k} {v}" for k, v in list(st.fallbacks.items()))  # list(): one atomic copy
    t.append("turns ", "bold")
    t.append(f"{st.combat_turns}  divergences {st.divergences}  fallbacks {sum(st.fallbacks.values())}")
    t.append(f" ({fb})" if fb else "")
    t.append(f"\nmodel latency mean {lat[0]:.1f} ms  p95 {lat[1]:.1f} ms\n" if lat else "\nmodel latency: -\n")
    t.append_text(tallies_text(s))
    if not s.recent and pick is None:
        t.append("\nNo combat turn yet.", "#808080")
        return t
    notable = list(st.notable)
    if pick is not None and notable:
        pick = min(max(pick, 0), len(notable) - 1)
        r = notable[pick]
        t.append(f"divergence or fallback {pick + 1} of {len(notable)}", "bold yellow")
        t.append("  ( older  ) newer\n", "#a0a0a0")
    else:
        # the recent turns come first: below the field table they were out of sight at 100x32
        t.append("recent:\n", "bold")
        for rr in list(s.recent)[-5:]:
            t.append(f"t{rr.state.turn:02d} {rr.who[:22]:<22} {rr.action:<13}", "#a0a0a0")
            t.append(f" {rr.tag}\n", TAG_STYLES.get(rr.tag, ""))
        if notable:
            t.append(f"( steps back through the run's {len(notable)} divergences and fallbacks\n", "#a0a0a0")
        r = s.recent[-1]
    t.append_text(_turn_text(r))
    return t


def tallies_text(s: GameSession) -> Text:
    """One line per resolver that played or answered: turns applied, answered, diverged, fell back."""
    t = Text()
    for name, tally in sorted(s.stats.by_resolver.items()):
        t.append(f"{name}: ", "bold")
        t.append(f"{tally.turns} applied")
        if tally.answered:
            t.append(f", {tally.answered} answered, {tally.divergences} diverged")
        if tally.fallbacks:
            t.append(f", {tally.fallbacks} fell back")
        t.append("\n")
    return t


def _turn_text(r: TurnReport) -> Text:
    t = Text()
    t.append(f"\nturn {r.state.turn:02d} {r.who} {r.action} r{r.roll} ", "bold")
    t.append(r.tag, TAG_STYLES.get(r.tag, ""))
    t.append(f"  applied: {r.applied.resolver}")
    if r.model is not None:
        t.append(f"  {r.model.latency_ms:.1f} ms")
        if r.model.stale:
            t.append("  stale model", "bold #ff8040")
        if r.model.decode:  # calls and tokens taken from the draft (brain/draft.py)
            t.append(f"\ndecode {r.model.decode}", "#a0a0a0")
    if r.fallback:
        t.append(f"\nfallback: {r.fallback}", "bold red")
    elif r.model is not None and r.model.error:
        t.append(f"\nmodel error: {r.model.error}", "red")
    t.append("\ninput  ", "bold")
    t.append(r.input, "#c0c0c0")
    t.append("\nmodel  ", "bold")
    t.append(r.model.raw if r.model is not None else "(not loaded)", "#c0c0c0")
    t.append("\nrules  ", "bold")
    t.append(r.rules.raw, "#c0c0c0")
    rules_flat = flatten(r.rules.next_state)
    model_flat = flatten(r.model.next_state) if r.model is not None and r.model.next_state is not None else {}
    involved = r.involved()
    width = max(len(name) for name in rules_flat)  # A.fragile.magnitude is the widest: 19
    t.append(f"\n\n{'field':<{width}}  model  rules  rules that fired\n", "bold underline")
    for name, rv in rules_flat.items():
        mv = model_flat.get(name) if model_flat else None
        differs = bool(model_flat) and mv != rv
        if not differs and (rv is None or (".cd." in name and rv == 0)):
            continue  # keep the table to what is set or disputed
        line = f"{name:<{width}} {_fmt(mv) if model_flat else '-':>6}  {_fmt(rv):>5}  "
        t.append(line, "bold black on yellow" if differs else "")
        t.append(" ".join(involved.get(name, [])) + "\n", "yellow" if differs else "#707070")
    t.append("\nevents ", "bold")
    t.append(" ".join(e.rule for e in (r.rules.events or ())) or "-")
    t.append("\nnext   ", "bold")
    t.append(encode_output(r.applied.next_state), "#c0c0c0")
    return t


def _fmt(v: int | None) -> str:
    return "-" if v is None else str(v)


def special_help(r: Ruleset) -> dict[str, str]:
    """What each special action does, with its numbers from content/rules.toml."""
    return {
        "heal": f"+{r.heal_amount} hp, then regen {r.heal_regen}/turn for {r.heal_regen_turns} turns",
        "guard": f"a shield of {r.guard_shield} (at most {r.shield_cap}) for {r.guard_turns} turns",
        "brace": f"thorns: a striker loses {r.thorns_magnitude} hp, for {r.thorns_turns} turns",
        "cleanse": "removes your poison, burning and fragility",
        "poison_strike": f"strike for the roll; poison {r.poison_magnitude}/turn, {r.poison_turns} turns",
        "ignite": f"burn {r.burn_magnitude}/turn for {r.burn_turns} turns; fragile +{r.ignite_fragile} "
                  f"for {r.ignite_fragile_turns}",
    }


def special_when(r: Ruleset) -> dict[str, str]:
    """When each special action beats a bump (an attack is power + roll, less the foe's armour)."""
    mend = r.heal_amount + r.heal_regen * r.heal_regen_turns
    burn = r.burn_magnitude * r.burn_turns
    return {
        "heal": f"if the foe hits for under {mend} (poison sours it)",
        "guard": f"if it hits hard and your blows barely pierce (soaks {r.guard_shield})",
        "brace": f"if your blows barely pierce: {r.thorns_magnitude} thorns ignore armour",
        "cleanse": "before a long fight, or if fire or poison outlasts it",
        "poison_strike": f"against armour near your power: {r.poison_magnitude * r.poison_turns} poison ignores it",
        "ignite": f"vs armour, healers: {burn} burn, no regen, +{r.ignite_fragile} a blow, crits stun",
    }


def _status_words(c: Combatant) -> str:
    parts = []
    for ch in CHANNELS:
        st = c.status(ch)
        if st is not None:
            mag = "" if ch == "stun" else f" {st.magnitude}"
            parts.append(f"{STATUS_WORDS[ch]}{mag} ({st.turns} turns)")
    return ", ".join(parts) or "none"


def describe_cell(s: GameSession, x: int, y: int) -> Text:
    """What the look cursor shows: a monster (hp, statuses, what its specials do), items, or the ground."""
    lvl = s.level
    t = Text()
    if not lvl.in_bounds(x, y) or not lvl.seen[y][x]:
        t.append("You have not seen this place.", "#808080")
        return t
    if (x, y) == (s.player.x, s.player.y):
        b = s.player.body
        t.append(f"You: HP {b.hp}/{b.max_hp}, power {b.power}, armour {b.armor}, level {s.player.level}. "
                 f"Statuses: {_status_words(b)}.\n")
    m = s.monster_at(x, y)
    if m is not None and (x, y) in s.visible:
        spec = s.spec(m)
        b = m.body
        t.append(f"{spec.glyph} {m.kind}", "bold " + spec.color)
        mood = "asleep" if not m.awake else "fighting you" if m.in_fight else "awake"
        t.append(f" ({mood}): HP {b.hp}/{b.max_hp}, power {b.power}, armour {b.armor}. "
                 f"Statuses: {_status_words(b)}.\n")
        helps = special_help(s.rules)
        specials = [a for a, w in spec.actions.items() if w > 0 and a in helps]
        for a in specials:
            t.append(f"  {words(a)}: ", "bold")
            t.append(helps[a] + ".\n")
        if spec.flee_below > 0:
            t.append(f"  It flees below {round(100 * spec.flee_below)}% hp.\n", "#a0a0a0")
    for it in s.items_at(x, y):
        spec = s.item_spec(it.kind)
        t.append(f"{spec.glyph} {it.kind}", "bold " + spec.color)
        t.append(f": {describe(spec)}\n")
    tile = lvl.tile(x, y)
    ground = {WALL: "a wall", FLOOR: "floor", STAIRS_DOWN: "stairs down (>)",
              STAIRS_UP: "stairs up (<)" if s.depth > 1 else "the way out of the dungeon (<), sealed behind you: "
                                                            "the way on is down (>)"}
    seen = "" if (x, y) in s.visible else " (remembered)"
    t.append(f"{ground.get(tile, tile)}{seen}", "#a0a0a0")
    return t


def inventory_text(s: GameSession, title: str, notice: str = "") -> Text:
    t = Text(f"{title}\n", "bold")
    t.append(f"{notice}\n" if notice else "\n", "#ff8080")
    p = s.player
    for letter, name, count in pack.stacks(p):
        spec = s.item_spec(name)
        t.append(f"{letter}) ", "bold yellow")
        t.append(spec.glyph + " ", spec.color)
        t.append(f"{name}{f' x{count}' if count > 1 else ''}: ", "bold")
        t.append(f"{describe(spec)}\n", "#a0a0a0")
    if not p.inventory:
        t.append("Your pack is empty.\n", "#808080")
    if p.worn:
        t.append(f"\nworn: {p.worn} (+{s.item_spec(p.worn).value} armour)", "#c0c0c0")
    return t
